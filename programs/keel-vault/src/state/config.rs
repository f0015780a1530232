use anchor_lang::prelude::*;
use keel_math::mandate::{Mandate, LIMITS};
use keel_venue::state::PodI128;

/// Bytes of a vault's allowed-market mask: one bit per venue market index, so indices below 256 can be allowed.
pub const ALLOWED_MARKET_BYTES: usize = 32;
/// Market indices a vault can allow: `0..ALLOWED_MARKET_INDICES`.
pub const ALLOWED_MARKET_INDICES: u32 = 256;

// These types are both instruction arguments (Borsh) and stored in place in the zero-copy `Vault`, so each is
// `repr(C)` with no padding (the Pod derive checks it): fixed-point values are `PodI128` (alignment 1) and fields
// are ordered widest first. Without padding the stored bytes are exactly the Borsh encoding.

// Own deserialisation frame: inlined into VaultConfig's, the derive's temporaries reached SBF's 4 KiB.
keel_venue::deserialize_in_own_frame! {
    /// The risk mandate, as raw I80F48 bits (see keel_math::mandate::Mandate for meanings).
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    pub struct MandateConfig {
        pub target_delta: PodI128,
        pub delta_band: PodI128,
        pub ww_risk_aversion: PodI128,
        pub ww_cost: PodI128,
        pub max_abs_gamma: PodI128,
        pub max_abs_vega: PodI128,
        pub max_var_fraction: PodI128,
        pub min_health: PodI128,
        pub max_leverage: PodI128,
        pub min_idle_fraction: PodI128,
        pub weights: [PodI128; LIMITS],
    }
}

impl MandateConfig {
    pub fn mandate(&self) -> Mandate {
        Mandate {
            target_delta: self.target_delta.fx(),
            delta_band: self.delta_band.fx(),
            ww_risk_aversion: self.ww_risk_aversion.fx(),
            ww_cost: self.ww_cost.fx(),
            max_abs_gamma: self.max_abs_gamma.fx(),
            max_abs_vega: self.max_abs_vega.fx(),
            max_var_fraction: self.max_var_fraction.fx(),
            min_health: self.min_health.fx(),
            max_leverage: self.max_leverage.fx(),
            min_idle_fraction: self.min_idle_fraction.fx(),
            weights: self.weights.map(PodI128::fx),
        }
    }
}

/// Keeper rebalancing rules and pay.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct RebalanceConfig {
    /// The oracle may have moved at most this many confidence intervals from the keeper's priced price (I80F48).
    pub latency_conf_multiple: PodI128,
    /// Risk removed (tokens) must be at least this multiple of the rebalance's cost (I80F48, >= 1).
    pub min_benefit_ratio: PodI128,
    /// Reward = min(cap, k x risk removed), at most `daily_reward_cap` per UTC day (tokens; k as I80F48).
    pub reward_per_risk: PodI128,
    pub reward_cap: u64,
    pub daily_reward_cap: u64,
    /// Min seconds between rebalances while the mandate is not breached.
    pub min_interval_secs: u32,
    /// The keeper's pricing slot may be at most this old.
    pub max_pricing_age_slots: u32,
}

/// Circuit breaker on the underlying's oracle: trips when price leaves its EMA by more than `max_ema_dev_bps` net of
/// confidence, or confidence exceeds `max_conf_bps` of price.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct BreakerConfig {
    pub max_ema_dev_bps: u16,
    pub max_conf_bps: u16,
}

// Own deserialisation frame: as an instruction argument (create_vault, queue_config) its derived deserialiser, with
// MandateConfig's inlined, neared SBF's 4 KiB frame.
keel_venue::deserialize_in_own_frame! {
    /// Deposit caps, withdrawal delay, fees, guardian pause limits, timelock.
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    pub struct VaultConfig {
        pub mandate: MandateConfig,
        pub rebalance: RebalanceConfig,
        /// Total assets cap, per-depositor cap (value of their shares after the deposit) and minimum deposit
        /// (tokens).
        pub max_total_assets: u64,
        pub max_user_assets: u64,
        pub min_deposit: u64,
        /// The venue markets the vault may trade, by index: bit `i % 8` of byte `i / 8` allows market `i` (a mask
        /// rather than a list of keys: any number of markets, 32 bytes, and a check without a search).
        pub allowed_markets: [u8; ALLOWED_MARKET_BYTES],
        pub fee_recipient: Pubkey,
        pub withdrawal_delay_secs: u32,
        pub max_pause_secs: u32,
        /// After a pause ends, the guardian must wait this long before pausing again.
        pub pause_cooldown_secs: u32,
        pub timelock_secs: u32,
        /// Management fee per year and performance fee over the high-water mark, bps.
        pub management_fee_bps: u16,
        pub performance_fee_bps: u16,
        pub breaker: BreakerConfig,
    }
}

impl VaultConfig {
    /// Whether the market of venue index `index` may be traded.
    pub fn allows(&self, index: u32) -> bool {
        let Some(byte) = usize::try_from(index / 8).ok().and_then(|b| self.allowed_markets.get(b)) else {
            return false;
        };
        byte & (1 << (index % 8)) != 0
    }

    /// Allows the market of venue index `index`; false (and nothing changed) for an index the mask cannot hold.
    pub fn allow(&mut self, index: u32) -> bool {
        match usize::try_from(index / 8).ok().and_then(|b| self.allowed_markets.get_mut(b)) {
            Some(byte) => {
                *byte |= 1 << (index % 8);
                true
            }
            None => false,
        }
    }

    /// The allowed market indices, ascending.
    pub fn allowed_indices(&self) -> impl Iterator<Item = u32> + '_ {
        (0..ALLOWED_MARKET_INDICES).filter(|i| self.allows(*i))
    }

    pub fn is_valid(&self) -> bool {
        let r = &self.rebalance;
        self.mandate.mandate().is_valid()
            && r.latency_conf_multiple.fx() > fixed::types::I80F48::ZERO
            && r.min_benefit_ratio.fx() >= fixed::types::I80F48::ONE
            && r.reward_per_risk.fx() >= fixed::types::I80F48::ZERO
            && r.max_pricing_age_slots > 0
            && self.breaker.max_ema_dev_bps > 0
            && self.breaker.max_conf_bps > 0
            && self.allowed_markets.iter().any(|b| *b != 0)
            && self.max_total_assets > 0
            && self.max_user_assets > 0
            && self.min_deposit > 0
            && self.management_fee_bps <= 500
            && self.performance_fee_bps <= 5000
            && self.max_pause_secs > 0
            && self.timelock_secs > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored form is the Borsh form: an instruction's `VaultConfig` argument (decoded by
    /// `deserialize_in_own_frame!`) and the bytes the zero-copy `Vault` holds are the same, field for field.
    #[test]
    fn stored_bytes_are_the_borsh_encoding() {
        let mut c: VaultConfig = bytemuck::Zeroable::zeroed();
        for (i, b) in bytemuck::bytes_of_mut(&mut c).iter_mut().enumerate() {
            *b = u8::try_from(i % 251).unwrap();
        }
        let borsh = borsh::to_vec(&c).unwrap();
        assert_eq!(borsh, bytemuck::bytes_of(&c));
        assert_eq!(VaultConfig::try_from_slice(&borsh).unwrap(), c);
    }

    #[test]
    fn the_allowed_mask_holds_any_index_below_256() {
        let mut c: VaultConfig = bytemuck::Zeroable::zeroed();
        assert_eq!(c.allowed_indices().count(), 0);
        for i in [0, 7, 8, 15, 16, 100, 255] {
            assert!(c.allow(i), "index {i} fits the mask");
        }
        assert!(!c.allow(256) && !c.allow(u32::MAX), "beyond the mask: refused");
        assert_eq!(c.allowed_indices().collect::<Vec<_>>(), vec![0, 7, 8, 15, 16, 100, 255]);
        assert!(c.allows(15) && !c.allows(14) && !c.allows(256) && !c.allows(u32::MAX));
        // Bit i % 8 of byte i / 8: the layout integrators set by hand.
        assert_eq!((c.allowed_markets[0], c.allowed_markets[1], c.allowed_markets[31]), (0x81, 0x81, 0x80));
    }
}
