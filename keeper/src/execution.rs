//! Execution policy: how much compute a transaction buys, what it bids for priority, and how long it may take to
//! land. Pure functions of what the cluster reported, so they are tested here and used unchanged by the Rpc chain.
use serde::Deserialize;

/// The most compute units one transaction can request.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// Operator settings for submission (the `[execution]` table of the keeper config).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutionConfig {
    /// Extra compute units over the simulated consumption, as a fraction (0.2 = +20%): state can change between
    /// simulation and execution (another keeper's trade, a new oracle price) and a transaction that runs out of
    /// units fails after paying its fee.
    pub cu_margin: f64,
    /// A fixed addition on top of the margin, for PDA bump searches and similar small variations.
    pub cu_headroom: u32,
    /// Which percentile of the recent prioritisation fees paid on our writable accounts to bid (0-100).
    pub priority_percentile: f64,
    /// Floor and cap of the bid, micro-lamports per compute unit: the cap bounds what a fee spike can cost.
    pub min_priority_micro_lamports: u64,
    pub max_priority_micro_lamports: u64,
    /// Signed versions (fresh blockhash each) before giving up on a transaction.
    pub max_attempts: u32,
    /// How often an unconfirmed transaction is re-broadcast and its status polled, in milliseconds.
    pub poll_ms: u64,
    /// Optional endpoint that receives sendTransaction only (a private relay or bundle endpoint); reads and
    /// simulations stay on the main RPC.
    pub private_submit_url: Option<String>,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            cu_margin: 0.2,
            cu_headroom: 10_000,
            priority_percentile: 75.0,
            min_priority_micro_lamports: 0,
            max_priority_micro_lamports: 2_000_000,
            max_attempts: 3,
            poll_ms: 400,
            private_submit_url: None,
        }
    }
}

impl ExecutionConfig {
    /// Checks ranges once at start-up, naming the setting to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=5.0).contains(&self.cu_margin) {
            return Err(format!("execution.cu_margin = {} must be within 0..=5 (a fraction)", self.cu_margin));
        }
        if !(0.0..=100.0).contains(&self.priority_percentile) {
            return Err(format!("execution.priority_percentile = {} must be within 0..=100", self.priority_percentile));
        }
        if self.min_priority_micro_lamports > self.max_priority_micro_lamports {
            return Err("execution.min_priority_micro_lamports exceeds max_priority_micro_lamports".into());
        }
        if self.max_attempts == 0 || self.poll_ms == 0 {
            return Err("execution.max_attempts and execution.poll_ms must be at least 1".into());
        }
        Ok(())
    }

    /// The compute-unit limit to request for a transaction that simulated at `consumed` units: margin and headroom
    /// rounded up, never above the per-transaction maximum.
    pub fn cu_limit_ceil(&self, consumed: u64) -> u32 {
        let with_margin = (consumed as f64 * (1.0 + self.cu_margin)).ceil();
        let total = with_margin + f64::from(self.cu_headroom);
        if total.is_finite() && total < f64::from(MAX_COMPUTE_UNITS) {
            total as u32 // finite, non-negative and below the cap: the cast is exact for an integer-valued float
        } else {
            MAX_COMPUTE_UNITS
        }
    }

    /// The priority bid (micro-lamports per unit) from recent fees paid on the accounts we write: the configured
    /// percentile (nearest rank), clamped to [min, max]. No history bids the floor.
    pub fn priority_fee(&self, recent: &[u64]) -> u64 {
        let mut fees = recent.to_vec();
        fees.sort_unstable();
        let pick = match fees.len() {
            0 => 0,
            n => {
                let rank = (self.priority_percentile / 100.0 * n as f64).ceil().clamp(1.0, n as f64);
                fees[rank as usize - 1] // 1 <= rank <= n after the clamp
            }
        };
        pick.clamp(self.min_priority_micro_lamports, self.max_priority_micro_lamports)
    }
}

/// Whether `ixs` fit one transaction as the Rpc chain sends them: with its two compute-budget instructions, a fee
/// payer other than `signer` (the larger case), and the chain's lookup `tables` (none: a legacy transaction).
pub fn fits(
    ixs: &[solana_sdk::instruction::Instruction],
    signer: &solana_sdk::pubkey::Pubkey,
    tables: &[solana_sdk::message::AddressLookupTableAccount],
) -> bool {
    let payer = solana_sdk::pubkey::Pubkey::new_unique();
    budgeted_size(&payer, signer, ixs, tables).is_some_and(|s| s <= keel_client::chain::MAX_TRANSACTION_BYTES)
}

/// The size of `ixs` paid by `payer` and signed by `signer` with the two compute-budget instructions the Rpc chain
/// prepends (a limit and a price), compiled with `tables` (see [`keel_client::lookup::size`]).
pub fn budgeted_size(
    payer: &solana_sdk::pubkey::Pubkey,
    signer: &solana_sdk::pubkey::Pubkey,
    ixs: &[solana_sdk::instruction::Instruction],
    tables: &[solana_sdk::message::AddressLookupTableAccount],
) -> Option<usize> {
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    let mut all = vec![
        ComputeBudgetInstruction::set_compute_unit_limit(MAX_COMPUTE_UNITS),
        ComputeBudgetInstruction::set_compute_unit_price(u64::MAX),
    ];
    all.extend_from_slice(ixs);
    keel_client::lookup::size(payer, signer, &all, tables)
}

/// Refreshes one transaction carries at most. An option market's refresh is held to 100k compute units
/// (tests/cu-budgets.txt), so eight leave 600k of the 1.4M a transaction may buy for the instruction they precede; a
/// large book's refreshes all in one transaction would pass that limit even where a lookup table fits their bytes.
pub const MAX_REFRESHES_PER_TRANSACTION: usize = 8;

/// `refreshes` in order, packed into transactions of at most [`MAX_REFRESHES_PER_TRANSACTION`] that each fit one
/// packet ([`fits`]).
pub fn refresh_batches(
    refreshes: &[solana_sdk::instruction::Instruction],
    signer: &solana_sdk::pubkey::Pubkey,
    tables: &[solana_sdk::message::AddressLookupTableAccount],
) -> Vec<Vec<solana_sdk::instruction::Instruction>> {
    let mut batches: Vec<Vec<solana_sdk::instruction::Instruction>> = Vec::new();
    for ix in refreshes {
        if let Some(b) = batches.last_mut().filter(|b| b.len() < MAX_REFRESHES_PER_TRANSACTION) {
            b.push(ix.clone());
            if fits(b, signer, tables) {
                continue;
            }
            b.pop();
        }
        batches.push(vec![ix.clone()]);
    }
    batches
}

/// Whether the refreshes before the last instruction of `ixs` may ride with it in one transaction: few enough for
/// the compute a transaction may buy, and within one packet.
pub fn fits_with_refreshes(
    ixs: &[solana_sdk::instruction::Instruction],
    signer: &solana_sdk::pubkey::Pubkey,
    tables: &[solana_sdk::message::AddressLookupTableAccount],
) -> bool {
    ixs.len() <= MAX_REFRESHES_PER_TRANSACTION + 1 && fits(ixs, signer, tables)
}

/// Sends `refreshes`, signed by `signer`, in [`refresh_batches`] one transaction after another (none when empty).
pub async fn send_refreshes<C: keel_client::chain::Chain>(
    chain: &mut C,
    refreshes: &[solana_sdk::instruction::Instruction],
    signer: &solana_sdk::signature::Keypair,
) -> Result<(), keel_client::chain::ChainError> {
    use solana_sdk::signature::Signer;
    for batch in refresh_batches(refreshes, &signer.pubkey(), chain.lookup_tables()) {
        chain.send(&batch, &[signer]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_counts_the_compute_budget_instructions_and_the_signer() {
        use solana_sdk::instruction::{AccountMeta, Instruction};
        use solana_sdk::pubkey::Pubkey;
        let ix = |accounts: usize| {
            let metas = (0..accounts).map(|_| AccountMeta::new(Pubkey::new_unique(), false)).collect();
            Instruction::new_with_bytes(Pubkey::new_unique(), &[0; 8], metas)
        };
        let signer = Pubkey::new_unique();
        // Two signatures (129 bytes with their count), header, blockhash, the budget instructions (the budget
        // program, the payer, the signer and the program are 4 keys) and 33 bytes per account: 27 fit, 28 do not.
        assert!(fits(&[ix(27)], &signer, &[]));
        assert!(!fits(&[ix(28)], &signer, &[]));
        // With the accounts in a lookup table (one byte each) 28, and 60, fit.
        let wide = ix(60);
        let table = solana_sdk::message::AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: wide.accounts.iter().map(|a| a.pubkey).collect(),
        };
        assert!(!fits(std::slice::from_ref(&wide), &signer, &[]));
        assert!(fits(&[wide], &signer, &[table]));
    }

    #[test]
    fn refreshes_are_batched_by_count_and_by_size_in_order() {
        use solana_sdk::instruction::{AccountMeta, Instruction};
        use solana_sdk::pubkey::Pubkey;
        // Five shared accounts and three of its own (a refresh_market has one of its own; three make the packet
        // bind before the count when they are listed in full).
        let shared: Vec<Pubkey> = (0..5).map(|_| Pubkey::new_unique()).collect();
        let program = Pubkey::new_unique();
        let refresh = |_| {
            let mut metas: Vec<AccountMeta> = shared.iter().map(|k| AccountMeta::new_readonly(*k, false)).collect();
            metas.extend((0..3).map(|_| AccountMeta::new(Pubkey::new_unique(), false)));
            Instruction::new_with_bytes(program, &[1; 8], metas)
        };
        let all: Vec<Instruction> = (0..20).map(refresh).collect();
        let signer = Pubkey::new_unique();
        let table = solana_sdk::message::AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: all.iter().flat_map(|ix| ix.accounts.iter().map(|a| a.pubkey)).collect(),
        };
        // With a table only the count binds: 8, 8, 4.
        let with = refresh_batches(&all, &signer, std::slice::from_ref(&table));
        assert_eq!(with.iter().map(Vec::len).collect::<Vec<_>>(), [8, 8, 4]);
        // Listed in full, ~115 bytes per instruction: the packet binds first, and each batch is as full as it fits.
        let legacy = refresh_batches(&all, &signer, &[]);
        assert!(legacy.len() > 3, "{}", legacy.len());
        for pair in legacy.windows(2) {
            assert!(fits(&pair[0], &signer, &[]));
            assert!(!fits(&[pair[0].as_slice(), &pair[1][..1]].concat(), &signer, &[]), "one more would not fit");
        }
        for batches in [with, legacy] {
            assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= MAX_REFRESHES_PER_TRANSACTION));
            assert_eq!(batches.concat(), all, "every refresh once, in order");
        }
        // Beside a main instruction: at most eight refreshes, and only if the whole fits.
        let main = refresh(0);
        let beside = |n: usize| [&all[..n], std::slice::from_ref(&main)].concat();
        assert!(fits_with_refreshes(&beside(8), &signer, std::slice::from_ref(&table)));
        assert!(!fits_with_refreshes(&beside(9), &signer, std::slice::from_ref(&table)));
        assert!(!fits_with_refreshes(&beside(20), &signer, &[]));
    }

    #[test]
    fn cu_limit_adds_margin_and_headroom_and_caps() {
        let c = ExecutionConfig::default();
        assert_eq!(c.cu_limit_ceil(100_000), 130_000);
        assert_eq!(c.cu_limit_ceil(1), 10_002, "rounded up, not down");
        assert_eq!(c.cu_limit_ceil(1_300_000), MAX_COMPUTE_UNITS);
        assert_eq!(c.cu_limit_ceil(u64::MAX), MAX_COMPUTE_UNITS);
    }

    #[test]
    fn priority_fee_is_the_percentile_clamped() {
        let c = ExecutionConfig { priority_percentile: 75.0, max_priority_micro_lamports: 500, ..Default::default() };
        assert_eq!(c.priority_fee(&[]), 0);
        assert_eq!(c.priority_fee(&[40, 10, 30, 20]), 30, "the 3rd of 4 sorted fees");
        assert_eq!(c.priority_fee(&[10_000, 1, 1, 1]), 1, "one spike above the percentile is ignored");
        assert_eq!(c.priority_fee(&[900, 900, 900]), 500, "capped");
        let floor = ExecutionConfig { min_priority_micro_lamports: 50, ..c.clone() };
        assert_eq!(floor.priority_fee(&[0, 0]), 50);
        let max = ExecutionConfig { priority_percentile: 100.0, ..c };
        assert_eq!(max.priority_fee(&[1, 2, 3]), 3);
    }

    #[test]
    fn validate_names_the_setting() {
        let bad = ExecutionConfig { priority_percentile: 120.0, ..Default::default() };
        assert!(bad.validate().unwrap_err().contains("priority_percentile"));
        let bad =
            ExecutionConfig { min_priority_micro_lamports: 9, max_priority_micro_lamports: 1, ..Default::default() };
        assert!(bad.validate().unwrap_err().contains("min_priority"));
        assert!(ExecutionConfig::default().validate().is_ok());
    }
}
