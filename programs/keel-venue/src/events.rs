//! Typed events; each carries the post-state of what changed.
use crate::state::{MarketConfig, RiskCache, UnderlyingConfig};
use anchor_lang::prelude::*;

#[event]
pub struct VenueCreated {
    pub venue: Pubkey,
    pub id: u16,
    pub admin: Pubkey,
    pub guardian: Pubkey,
    pub vol_authority: Pubkey,
    pub collateral_mint: Pubkey,
    pub collateral_vault: Pubkey,
    pub lp_mint: Pubkey,
    pub token_program: Pubkey,
}

#[event]
pub struct UnderlyingAdded {
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub index: u16,
    pub config: UnderlyingConfig,
    /// Oracle price at creation (I80F48 bits).
    pub price: i128,
}

#[event]
pub struct SurfacePosted {
    pub underlying: Pubkey,
    pub surface: Pubkey,
    pub expiry: i64,
    pub params: [i128; 5],
    pub posted_ts: i64,
    pub posted_slot: u64,
}

#[event]
pub struct PauseSet {
    pub venue: Pubkey,
    pub guardian: Pubkey,
    pub paused: u32,
}

#[event]
pub struct MarketAdded {
    pub venue: Pubkey,
    pub market: Pubkey,
    pub underlying: Pubkey,
    pub index: u32,
    pub config: MarketConfig,
}

#[event]
pub struct MarketRefreshed {
    pub market: Pubkey,
    pub cache: RiskCache,
    pub refresher: Pubkey,
}

/// LP deposit or withdrawal, with the pool's post-state.
#[event]
pub struct LpFlow {
    pub venue: Pubkey,
    pub owner: Pubkey,
    /// Positive: deposit; negative: withdrawal (collateral units).
    pub amount: i128,
    pub shares: u64,
    pub pool_assets: u64,
    pub lp_shares: u64,
}
