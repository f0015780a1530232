//! Typed events; each carries the post-state of what changed (NAV, greeks, VaR, health, sequence, actor).
use crate::state::VaultConfig;
use anchor_lang::prelude::*;

/// Portfolio post-state shared by the events that move risk (I80F48 bits; money in tokens). `repr(C)` with no
/// padding: its bytes are its Borsh encoding.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct RiskSnapshot {
    pub nav: i128,
    pub delta: i128,
    pub gamma: i128,
    pub vega: i128,
    pub worst_loss: i128,
    pub equity: i128,
    pub maintenance: i128,
    pub breach: i128,
}

#[event]
pub struct VaultCreated {
    pub vault: Pubkey,
    pub venue: Pubkey,
    pub curator: Pubkey,
    pub strategist: Pubkey,
    pub guardian: Pubkey,
    pub margin_account: Pubkey,
    pub config: VaultConfig,
}

/// The vault's accounts exist (step 2 of creation): it can take deposits.
#[event]
pub struct VaultAccountsOpened {
    pub vault: Pubkey,
    pub share_mint: Pubkey,
    pub idle: Pubkey,
    pub escrow: Pubkey,
    pub lp_account: Pubkey,
    pub margin_account: Pubkey,
}

#[event]
pub struct Deposited {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub shares: u64,
    /// Upper NAV bound the shares were priced at (tokens, rounded up).
    pub nav: u64,
    pub total_shares: u64,
    pub idle_assets: u64,
}

#[event]
pub struct WithdrawalRequested {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    pub value_at_request: u64,
    pub claimable_ts: i64,
    pub nav: u64,
}

#[event]
pub struct WithdrawalClaimed {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    pub paid: u64,
    pub value_now: u64,
    pub total_shares: u64,
    pub idle_assets: u64,
}

#[event]
pub struct Allocated {
    pub vault: Pubkey,
    pub strategist: Pubkey,
    pub sequence: u64,
    pub moves: crate::instructions::Moves,
    pub legs: u8,
    pub idle_assets: u64,
    pub lp_shares_held: u64,
    pub risk: RiskSnapshot,
}

#[event]
pub struct Rebalanced {
    pub vault: Pubkey,
    pub keeper: Pubkey,
    pub sequence: u64,
    pub deleverage: bool,
    pub risk_removed: i128,
    pub cost: i128,
    pub reward: u64,
    pub before: RiskSnapshot,
    pub after: RiskSnapshot,
}

impl Rebalanced {
    /// The event's log bytes (discriminator, then its Borsh encoding) written part by part into a vector of their
    /// exact size: `Event::data` (tested) without Borsh's field-by-field writes into a 256-byte vector that outgrows
    /// itself, copied on SBF by software loops (~1k compute units of every rebalance).
    pub fn data_exact(&self) -> Vec<u8> {
        let parts: [&[u8]; 10] = [
            Self::DISCRIMINATOR,
            self.vault.as_ref(),
            self.keeper.as_ref(),
            &self.sequence.to_le_bytes(),
            &[u8::from(self.deleverage)],
            &self.risk_removed.to_le_bytes(),
            &self.cost.to_le_bytes(),
            &self.reward.to_le_bytes(),
            bytemuck::bytes_of(&self.before),
            bytemuck::bytes_of(&self.after),
        ];
        parts.concat()
    }

    /// What `emit!` does, with [`Self::data_exact`].
    pub fn emit_exact(&self) {
        anchor_lang::solana_program::log::sol_log_data(&[&self.data_exact()]);
    }
}

#[event]
pub struct PauseChanged {
    pub vault: Pubkey,
    pub actor: Pubkey,
    pub paused_until: i64,
}

#[event]
pub struct ConfigQueued {
    pub vault: Pubkey,
    pub curator: Pubkey,
    pub config: VaultConfig,
    pub eta: i64,
}

#[event]
pub struct ConfigApplied {
    pub vault: Pubkey,
    pub config: VaultConfig,
}

#[event]
pub struct ConfigCancelled {
    pub vault: Pubkey,
    pub actor: Pubkey,
}

#[event]
pub struct FeesAccrued {
    pub vault: Pubkey,
    pub management_shares: u64,
    pub performance_shares: u64,
    pub unminted_fee_shares: u64,
    pub total_shares: u64,
    pub high_water_mark: i128,
    pub nav: u64,
}

/// The event form of a portfolio measurement.
pub fn snapshot(p: &keel_math::mandate::PortfolioRisk, breach: fixed::types::I80F48) -> RiskSnapshot {
    RiskSnapshot {
        nav: p.nav.to_bits(),
        delta: p.delta.to_bits(),
        gamma: p.gamma.to_bits(),
        vega: p.vega.to_bits(),
        worst_loss: p.worst_loss.to_bits(),
        equity: p.equity.to_bits(),
        maintenance: p.maintenance.to_bits(),
        breach: breach.to_bits(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebalanced_written_exactly_is_its_anchor_encoding() {
        let snap = |k: i128| RiskSnapshot {
            nav: k,
            delta: -k,
            gamma: k << 40,
            vega: -(k << 60),
            worst_loss: 7,
            equity: k * 3,
            maintenance: -1,
            breach: i128::MAX / 2 - k,
        };
        for deleverage in [false, true] {
            let e = Rebalanced {
                vault: Pubkey::new_unique(),
                keeper: Pubkey::new_unique(),
                sequence: 0x0102_0304_0506_0708,
                deleverage,
                risk_removed: -(1 << 100) + 12_345,
                cost: 1 << 70,
                reward: u64::MAX - 3,
                before: snap(987_654_321),
                after: snap(-42),
            };
            let data = e.data_exact();
            assert_eq!(data, anchor_lang::Event::data(&e));
            let back = Rebalanced::try_from_slice(&data[Rebalanced::DISCRIMINATOR.len()..]).unwrap();
            assert_eq!((back.before, back.after, back.deleverage), (e.before, e.after, deleverage));
        }
    }
}
