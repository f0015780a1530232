use anchor_lang::prelude::*;

/// What a market trades.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum MarketKind {
    /// Linear USDC-margined perpetual on the oracle price.
    Perp,
    /// Cash-settled European call / put.
    Call,
    Put,
}

/// Contract terms and trading limits set by the admin.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MarketConfig {
    pub kind: MarketKind,
    /// Strike (I80F48 bits); 0 for perps.
    pub strike: i128,
    /// Expiry (unix seconds); 0 for perps.
    pub expiry: i64,
    pub taker_fee_bps: u16,
    pub half_spread_bps: u16,
    /// Open-interest cap per side, in base units.
    pub max_open_interest: u64,
}

/// Number of scenarios in the cached SPAN grid (7 spot points x 2 vol points).
pub const RISK_SCENARIOS: usize = 14;

/// Greeks and scenario P&L of one unit, computed by `refresh_market` (all I80F48 bits).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Default)]
pub struct RiskCache {
    pub mark: i128,
    pub delta: i128,
    pub gamma: i128,
    pub vega: i128,
    pub theta: i128,
    /// P&L of +1 unit per scenario, layout `spot_index * 2 + vol_index` (see keel_math::risk).
    pub risk_array: [i128; RISK_SCENARIOS],
    /// Inputs it was computed at: oracle spot, implied vol (0 for perps), slot and time.
    pub spot: i128,
    pub vol: i128,
    pub slot: u64,
    pub ts: i64,
    /// Whether the oracle was `Valid` at refresh (consumers that increase risk require it).
    pub oracle_valid: bool,
}

/// A market. PDA: ["market", venue, index (u32 LE)].
#[account]
#[derive(InitSpace)]
pub struct Market {
    pub bump: u8,
    pub venue: Pubkey,
    pub underlying: Pubkey,
    /// The surface the option is priced from (default for perps).
    pub surface: Pubkey,
    pub index: u32,
    pub config: MarketConfig,
    pub cache: RiskCache,
}

impl Market {
    pub const SEED: &'static [u8] = b"market";
}
