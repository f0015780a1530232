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
    /// Open-interest cap per side, in lots (10^-6 units).
    pub max_open_interest: u64,
    /// Perps: funding rate at full skew (net size = OI cap), bps of spot per day; 0 for options.
    pub max_funding_bps_per_day: u16,
}

/// Number of scenarios in the cached SPAN grid (7 spot points x 2 vol points).
pub const RISK_SCENARIOS: usize = 14;

// Own deserialisation frame: inlined into Market's, the derive's temporaries exceeded SBF's 4 KiB.
crate::deserialize_in_own_frame! {
    /// Greeks and scenario P&L of one unit, computed by `refresh_market` (all I80F48 bits).
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Default)]
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
        /// Oracle confidence at refresh and the per-unit mark bias used for margin, |delta| x k x conf (quote units).
        pub conf: i128,
        pub bias: i128,
        pub vol: i128,
        pub slot: u64,
        pub ts: i64,
        /// Last second the cache may be used without a refresh (ts + the underlying's cache max age).
        pub valid_until: i64,
        /// Whether the oracle was `Valid` at refresh (consumers that increase risk require it).
        pub oracle_valid: bool,
    }
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
    pub book: MarketBook,
}

/// Aggregates over every position in the market. The pool is the counterparty of all of them, so its unrealised
/// claim on the market is `net_cost - net_qty x mark + funding` (see `pricing::pool_claim`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Default)]
pub struct MarketBook {
    /// Sum of long sizes and of |short sizes| (lots).
    pub long_oi: u64,
    pub short_oi: u64,
    /// Sum of all position sizes (lots) and cost bases (tokens, I80F48 bits).
    pub net_size: i64,
    pub net_cost: i128,
    /// Perps: cumulative funding per unit (quote units, I80F48 bits; longs pay when it rises), the sum of
    /// size x funding snapshot over positions (tokens-scaled, I80F48 bits) and when funding last accrued.
    pub funding_index: i128,
    pub net_funding_snap: i128,
    pub last_funding_ts: i64,
    /// Options after expiry, once `settle_market` fixed them: the oracle price and the payoff per unit
    /// (I80F48 bits).
    pub settled: bool,
    pub settlement_price: i128,
    pub settlement_value: i128,
}

impl Market {
    pub const SEED: &'static [u8] = b"market";
}
