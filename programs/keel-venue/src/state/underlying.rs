use anchor_lang::prelude::*;

/// Oracle limits applied to an underlying's Pyth feed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct OracleLimits {
    /// Maximum age of the price (seconds) for risk-increasing actions.
    pub max_age_secs: u32,
    /// Maximum confidence / price, in basis points.
    pub max_conf_bps: u16,
    /// Maximum |price - EMA| net of confidence, relative to the EMA, in basis points.
    pub max_ema_dev_bps: u16,
    /// Extra age tolerated for risk-reducing actions, liquidations and settlement (users must be able to exit).
    pub reduce_only_grace_secs: u32,
}

/// Everything an admin sets when listing an underlying (stored as is in [`Underlying::config`]).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct UnderlyingConfig {
    /// Pyth price feed id (PriceUpdateV2 `feed_id`).
    pub feed_id: [u8; 32],
    pub limits: OracleLimits,
    /// Confidence multiple k for biased marks (assets at price - k conf, liabilities at price + k conf), I80F48.
    pub conf_multiplier: i128,
    /// SPAN grid: relative spot range (e.g. 0.15) and relative vol range (e.g. 0.25), I80F48.
    pub spot_range: i128,
    pub vol_range: i128,
    /// Surfaces older than this are refused by pricing (seconds).
    pub surface_max_age_secs: u32,
    /// A market's risk cache is usable for this long after its refresh (seconds)...
    pub cache_max_age_secs: u32,
    /// ...and while spot stays within this distance of the spot it was computed at (bps).
    pub cache_max_move_bps: u16,
    /// Options settle on the first oracle price published within this many seconds after expiry.
    pub settlement_window_secs: u32,
}

/// An underlying asset. PDA: ["underlying", venue, index (u16 LE)].
#[account]
#[derive(InitSpace)]
pub struct Underlying {
    pub bump: u8,
    pub venue: Pubkey,
    pub index: u16,
    pub config: UnderlyingConfig,
}

impl Underlying {
    pub const SEED: &'static [u8] = b"underlying";
}
