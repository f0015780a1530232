use super::PodI128;
use anchor_lang::prelude::*;

/// Oracle limits applied to an underlying's Pyth feed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct OracleLimits {
    /// Maximum age of the price (seconds) for risk-increasing actions.
    pub max_age_secs: u32,
    /// Maximum confidence / price, in basis points.
    pub max_conf_bps: u32,
    /// Maximum |price - EMA| net of confidence, relative to the EMA, in basis points.
    pub max_ema_dev_bps: u32,
    /// Extra age tolerated for risk-reducing actions, liquidations and settlement (users must be able to exit).
    pub reduce_only_grace_secs: u32,
}

/// Everything an admin sets when listing an underlying: the `add_underlying` argument, stored as is in the
/// zero-copy [`Underlying`]. `repr(C)` with no padding (the Pod derive checks it), so the stored bytes are its Borsh
/// encoding: fixed-point values as `PodI128`, and the one bps field outside `limits` a u32 so that the struct needs
/// no padding.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct UnderlyingConfig {
    /// Pyth price feed id (PriceUpdateV2 `feed_id`).
    pub feed_id: [u8; 32],
    pub limits: OracleLimits,
    /// Confidence multiple k for biased marks (assets at price - k conf, liabilities at price + k conf), I80F48.
    pub conf_multiplier: PodI128,
    /// SPAN grid: relative spot range (e.g. 0.15) and relative vol range (e.g. 0.25), I80F48.
    pub spot_range: PodI128,
    pub vol_range: PodI128,
    /// Surfaces older than this are refused by pricing (seconds).
    pub surface_max_age_secs: u32,
    /// A market's risk cache is usable for this long after its refresh (seconds)...
    pub cache_max_age_secs: u32,
    /// ...and while spot stays within this distance of the spot it was computed at (bps).
    pub cache_max_move_bps: u32,
    /// Options settle on the first oracle price published within this many seconds after expiry.
    pub settlement_window_secs: u32,
}

/// An underlying asset. PDA: ["underlying", venue, index (u16 LE)]. Zero-copy: most venue instructions and every
/// venue-touching vault instruction read it, in place instead of Borsh-decoding it (~0.7k compute units each).
/// `repr(C)`, no padding.
#[account(zero_copy)]
#[derive(Debug, PartialEq, Eq)]
pub struct Underlying {
    pub venue: Pubkey,
    pub config: UnderlyingConfig,
    pub index: u16,
    pub bump: u8,
    /// Pads the struct to its 8-byte alignment; zero.
    pub reserved: [u8; 5],
}

impl Underlying {
    pub const SEED: &'static [u8] = b"underlying";
    /// Account size: discriminator + the struct.
    pub const SPACE: usize = 8 + std::mem::size_of::<Underlying>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::patterned;

    #[test]
    fn stored_config_is_its_borsh_encoding() {
        let c: UnderlyingConfig = patterned();
        assert_eq!(borsh::to_vec(&c).unwrap(), bytemuck::bytes_of(&c));
        assert_eq!(UnderlyingConfig::try_from_slice(bytemuck::bytes_of(&c)).unwrap(), c);
        assert_eq!(std::mem::size_of::<Underlying>(), 152);
    }
}
