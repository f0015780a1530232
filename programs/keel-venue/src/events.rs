//! Typed events; each carries the post-state of what changed.
use crate::state::{MarginConfig, MarketBook, MarketConfig, RiskCache, UnderlyingConfig};
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
    pub margin: MarginConfig,
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
    /// Aggregates after funding accrual.
    pub book: MarketBook,
    pub refresher: Pubkey,
}

impl MarketRefreshed {
    /// The event's log bytes (discriminator, then its Borsh encoding), assembled from the stored parts' bytes:
    /// the cache and book are Pod whose bytes are their Borsh encoding (tested in `state::market`), so this equals
    /// `Event::data` without encoding ~40 fields one by one into a vector that outgrows its initial 256 bytes
    /// (~3k compute units of every refresh).
    pub fn data_from_parts(&self) -> Vec<u8> {
        let parts: [&[u8]; 5] = [
            Self::DISCRIMINATOR,
            self.market.as_ref(),
            bytemuck::bytes_of(&self.cache),
            bytemuck::bytes_of(&self.book),
            self.refresher.as_ref(),
        ];
        parts.concat()
    }

    /// What `emit!` does, with [`Self::data_from_parts`].
    pub fn emit_from_parts(&self) {
        anchor_lang::solana_program::log::sol_log_data(&[&self.data_from_parts()]);
    }
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

/// Collateral into or out of a margin account, with its post-state.
#[event]
pub struct MarginFlow {
    pub account: Pubkey,
    pub owner: Pubkey,
    /// Positive: deposit; negative: withdrawal (tokens).
    pub amount: i64,
    pub collateral: i64,
}

/// A fill against the pool, with the position, account and market post-state.
#[event]
pub struct Traded {
    pub account: Pubkey,
    pub owner: Pubkey,
    pub market: Pubkey,
    pub size: i64,
    /// Per-unit execution price and the limit it had to respect (quote units, I80F48 bits).
    pub price: i128,
    pub limit_price: i128,
    pub fee: u64,
    /// Realised P&L credited to the account (tokens, floored).
    pub realized: i64,
    pub position_size: i64,
    pub position_cost: i128,
    pub collateral: i64,
    pub equity: i128,
    pub initial_margin: i128,
    pub maintenance_margin: i128,
    pub book: MarketBook,
    pub pool_assets: u64,
}

#[event]
pub struct MarketSettled {
    pub market: Pubkey,
    pub settlement_price: i128,
    pub publish_time: i64,
    pub book: MarketBook,
}

#[event]
pub struct PositionSettled {
    pub account: Pubkey,
    pub market: Pubkey,
    pub size: i64,
    pub realized: i64,
    pub collateral: i64,
    /// Deficit written off against the pool if this closed the account's last position (tokens).
    pub bad_debt: u64,
    pub pool_assets: u64,
}

/// A liquidation step, with the account's health before and after.
#[event]
pub struct Liquidated {
    pub account: Pubkey,
    pub liquidator: Pubkey,
    pub market: Pubkey,
    pub closed: i64,
    pub price: i128,
    pub realized: i64,
    pub reward: u64,
    pub shortfall_before: i128,
    pub shortfall_after: i128,
    pub position_size: i64,
    pub collateral: i64,
    /// Collateral deficit written off against the pool after the last position closed (tokens).
    pub bad_debt: u64,
    pub pool_assets: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::patterned;

    #[test]
    fn market_refreshed_from_parts_is_its_anchor_encoding() {
        let e = MarketRefreshed {
            market: Pubkey::new_unique(),
            cache: patterned(),
            book: patterned(),
            refresher: Pubkey::new_unique(),
        };
        let data = e.data_from_parts();
        assert_eq!(data, anchor_lang::Event::data(&e));
        // And it decodes back to the same event, as clients read it.
        let back = MarketRefreshed::try_from_slice(&data[MarketRefreshed::DISCRIMINATOR.len()..]).unwrap();
        assert_eq!((back.market, back.cache, back.book, back.refresher), (e.market, e.cache, e.book, e.refresher));
    }
}
