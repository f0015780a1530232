//! The embedded chain: an in-process solana-program-test bank running the real keel-venue and keel-vault (native
//! builds of the same code) with the real SPL Token and Token-2022 programs. It backs paper mode, the demo and the
//! keeper's tests, and adds the controls a simulation needs: the clock and the oracle.
use super::{Chain, ChainError, Simulation, TableChain};
use keel_client::pyth::{price_update_data, PythPrice};
use solana_program_test::{processor, ProgramTest, ProgramTestBanksClientExt, ProgramTestContext};
use solana_sdk::{
    account::Account,
    clock::Clock,
    instruction::Instruction,
    message::AddressLookupTableAccount,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    transaction::{TransactionError, VersionedTransaction},
};

pub struct Embedded {
    ctx: ProgramTestContext,
    /// Signatures already used with `ctx.last_blockhash`: an identical transaction under the same blockhash would be
    /// a duplicate, so only then does the next one wait for a fresh blockhash.
    sent: std::collections::HashSet<solana_sdk::signature::Signature>,
    /// Tables transactions are compiled with (see [`TableChain::use_lookup_tables`]): none, legacy transactions.
    tables: Vec<AddressLookupTableAccount>,
}

/// Quiets the embedded bank's logging unless `RUST_LOG` is set: solana-program-test installs a logger that prints
/// every instruction at debug level, and the bank's metrics and tarpc warn about in-process details (burned fees of
/// test payers, no tracing subscriber). Call before the bank starts and before any other thread exists.
pub fn quiet_logs() {
    if std::env::var("RUST_LOG").map_or(true, |v| v.trim().is_empty()) {
        // Edition 2021: set_var is a safe call; the caller guarantees no other thread reads the environment yet.
        std::env::set_var("RUST_LOG", "error");
    }
}

/// True when `KEEL_SBF=1`: banks load the SBF builds of both programs (scripts/sbf-test builds them into
/// target/deploy and points `SBF_OUT_DIR` there) instead of registering them natively.
pub fn sbf_mode() -> bool {
    std::env::var("KEEL_SBF").is_ok_and(|v| v == "1")
}

/// The bank with both Keel programs: registered natively, or their SBF binaries in [`sbf_mode`].
pub fn program_test() -> ProgramTest {
    let mut pt = ProgramTest::default();
    if sbf_mode() {
        // Native processors of None make program-test load <name>.so from SBF_OUT_DIR, run in the real SBF VM
        // with compute metering.
        pt.prefer_bpf(true);
        // A transaction may buy up to 1.4M compute units with a ComputeBudget instruction; the suite's
        // transactions carry none, so the bank grants the maximum, and scripts/sbf-test checks each instruction's
        // units against tests/cu-budgets.txt instead.
        pt.set_compute_max_units(u64::from(crate::execution::MAX_COMPUTE_UNITS));
        pt.add_program("keel_venue", keel_venue::ID, None);
        pt.add_program("keel_vault", keel_vault::ID, None);
    } else {
        pt.prefer_bpf(false);
        pt.add_program("keel_venue", keel_venue::ID, processor!(keel_venue::process_native));
        pt.add_program("keel_vault", keel_vault::ID, processor!(keel_vault::process_native));
    }
    pt
}

/// Attempts of a transaction whose accounts another transaction holds locked (see `send`).
const ACCOUNT_IN_USE_RETRIES: u32 = 20;

fn classify(e: TransactionError) -> ChainError {
    ChainError::from_transaction(e, 0)
}

impl Embedded {
    pub async fn start() -> Self {
        Self::from_context(program_test().start_with_context().await)
    }

    /// Wraps an already started bank (tests set one up with their fixtures, then hand it to the keeper).
    pub fn from_context(ctx: ProgramTestContext) -> Self {
        Self { ctx, sent: Default::default(), tables: Vec::new() }
    }

    pub fn into_context(self) -> ProgramTestContext {
        self.ctx
    }

    pub fn context(&mut self) -> &mut ProgramTestContext {
        &mut self.ctx
    }

    /// The payer keypair (for instructions that need it to sign as an authority, e.g. an admin).
    pub fn payer_keypair(&self) -> &Keypair {
        &self.ctx.payer
    }

    /// Sets the bank clock's unix time (slot and epoch unchanged).
    pub async fn set_time(&mut self, unix_timestamp: i64) -> Result<(), ChainError> {
        let mut clock = self.clock().await?;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
        Ok(())
    }

    /// Advances the bank by `slots` slots.
    pub async fn warp_slots(&mut self, slots: u64) -> Result<(), ChainError> {
        let slot = self.clock().await?.slot;
        self.ctx.warp_to_slot(slot + slots.max(1)).map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    /// Writes a PriceUpdateV2 account holding `p` at `address`.
    pub fn set_price(&mut self, address: Pubkey, p: &PythPrice) {
        let data = price_update_data(p);
        let account = Account {
            lamports: 10_000_000,
            data,
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        };
        self.ctx.set_account(&address, &account.into());
    }

    /// Writes any account (embedded setup only, e.g. funding a key).
    pub fn set_account(&mut self, address: Pubkey, account: Account) {
        self.ctx.set_account(&address, &account.into());
    }

    /// Signs `ixs` under the latest blockhash. Waiting for a new blockhash on every transaction (solana-program-test
    /// polls every 200 ms for one) would make a year of hourly steps take hours; a new one is needed only when this
    /// exact transaction was already sent under the current blockhash. Compiled with the chain's lookup tables and
    /// refused, like a cluster would, when it passes one packet.
    async fn transaction(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        sending: bool,
    ) -> Result<VersionedTransaction, ChainError> {
        let unavailable = |e: std::io::Error| ChainError::Unavailable(e.to_string());
        let latest = self.ctx.banks_client.get_latest_blockhash().await.map_err(|e| unavailable(e.into()))?;
        if latest != self.ctx.last_blockhash {
            self.ctx.last_blockhash = latest;
            self.sent.clear();
        }
        // Refused like on a cluster, where the Rpc chain prepends a compute-unit limit and price: a transaction
        // that fits only here would make paper mode accept what production cannot send.
        let payer = self.ctx.payer.pubkey();
        let signer = signers.first().map_or(payer, |s| s.pubkey());
        let size = crate::execution::budgeted_size(&payer, &signer, ixs, &self.tables);
        if size.is_none_or(|s| s > keel_client::chain::MAX_TRANSACTION_BYTES) {
            let size = size.map_or("too large to compile".into(), |s| format!("{s} bytes"));
            return Err(ChainError::Transaction(format!(
                "transaction is {size} with the compute-budget instructions a cluster transaction carries; a \
                 cluster accepts at most {}: split it, or look its accounts up in an address lookup table",
                keel_client::chain::MAX_TRANSACTION_BYTES
            )));
        }
        let sign = |c: &Self, blockhash| keel_client::lookup::signed(&c.ctx.payer, signers, ixs, &c.tables, blockhash);
        let mut tx = sign(self, self.ctx.last_blockhash)?;
        // A simulation executes nothing, so only sends use up a (message, blockhash) pair.
        if sending && !self.sent.insert(tx.signatures[0]) {
            let fresh =
                self.ctx.banks_client.get_new_latest_blockhash(&self.ctx.last_blockhash).await.map_err(unavailable)?;
            self.ctx.last_blockhash = fresh;
            self.sent.clear();
            tx = sign(self, fresh)?;
            self.sent.insert(tx.signatures[0]);
        }
        Ok(tx)
    }

    /// The next slot, the clock's unix time kept (markets and the oracle are fresh by time, which the caller
    /// drives with [`Embedded::set_time`]).
    async fn next_slot_same_time(&mut self) -> Result<(), ChainError> {
        let time = self.clock().await?.unix_timestamp;
        self.warp_slots(1).await?;
        self.set_time(time).await
    }
}

impl Chain for Embedded {
    fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    fn lookup_tables(&self) -> &[AddressLookupTableAccount] {
        &self.tables
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        self.ctx.banks_client.get_account(*key).await.map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    async fn clock(&mut self) -> Result<Clock, ChainError> {
        self.ctx.banks_client.get_sysvar::<Clock>().await.map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Simulation, ChainError> {
        let tx = self.transaction(ixs, signers, false).await?;
        let sim =
            self.ctx.banks_client.simulate_transaction(tx).await.map_err(|e| ChainError::Unavailable(e.to_string()))?;
        let units_consumed = sim.simulation_details.as_ref().map_or(0, |d| d.units_consumed);
        let result = match sim.result {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(classify(e)),
            None => Err(ChainError::Unavailable("no simulation result".into())),
        };
        Ok(Simulation { result, units_consumed })
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), ChainError> {
        let tx = self.transaction(ixs, signers, true).await?;
        // Executed synchronously on the working bank: `process_transaction` would hand it to the bank's thread and
        // poll for its status with a timer that cannot sleep under a millisecond, the largest cost of a simulated
        // year of hourly steps.
        //
        // AccountInUse means the bank could not lock an account another transaction held at that moment (seen
        // once in the SBF tier, right after a fixture's `process_transaction`, which runs on the bank's own
        // thread). Nothing executed, so the same transaction is retried a few times.
        for _ in 0..ACCOUNT_IN_USE_RETRIES {
            let done = self
                .ctx
                .banks_client
                .process_transaction_with_metadata(tx.clone())
                .await
                .map_err(|e| ChainError::Unavailable(e.to_string()))?;
            match done.result {
                Err(TransactionError::AccountInUse) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                other => return other.map_err(classify),
            }
        }
        Err(ChainError::Transaction(format!("accounts stayed in use over {ACCOUNT_IN_USE_RETRIES} attempts")))
    }
}

impl TableChain for Embedded {
    fn tables_mut(&mut self) -> &mut Vec<AddressLookupTableAccount> {
        &mut self.tables
    }

    /// The current slot, then a slot on: SlotHashes holds a bank's ancestors, not its own slot.
    async fn creation_slot(&mut self) -> Result<u64, ChainError> {
        let slot = self.clock().await?.slot;
        self.next_slot_same_time().await?;
        Ok(slot)
    }

    async fn pass_slot(&mut self, slot: u64) -> Result<(), ChainError> {
        while self.clock().await?.slot <= slot {
            self.next_slot_same_time().await?;
        }
        Ok(())
    }
}
