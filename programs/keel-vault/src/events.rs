//! Typed events; each carries the post-state of what changed (NAV, greeks, VaR, health, sequence, actor).
use crate::state::VaultConfig;
use anchor_lang::prelude::*;

/// Portfolio post-state shared by the events that move risk (I80F48 bits; money in tokens).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
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
