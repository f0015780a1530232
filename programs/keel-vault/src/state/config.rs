use super::fx;
use anchor_lang::prelude::*;
use keel_math::mandate::{Mandate, LIMITS};

/// Markets a vault may trade (unused slots are `Pubkey::default()`).
pub const MAX_ALLOWED_MARKETS: usize = 8;

// Own deserialisation frame: inlined into VaultConfig's, the derive's temporaries reached SBF's 4 KiB.
keel_venue::deserialize_in_own_frame! {
    /// The risk mandate, as raw I80F48 bits (see keel_math::mandate::Mandate for meanings).
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
    pub struct MandateConfig {
        pub target_delta: i128,
        pub delta_band: i128,
        pub ww_risk_aversion: i128,
        pub ww_cost: i128,
        pub max_abs_gamma: i128,
        pub max_abs_vega: i128,
        pub max_var_fraction: i128,
        pub min_health: i128,
        pub max_leverage: i128,
        pub min_idle_fraction: i128,
        pub weights: [i128; LIMITS],
    }
}

impl MandateConfig {
    pub fn mandate(&self) -> Mandate {
        Mandate {
            target_delta: fx(self.target_delta),
            delta_band: fx(self.delta_band),
            ww_risk_aversion: fx(self.ww_risk_aversion),
            ww_cost: fx(self.ww_cost),
            max_abs_gamma: fx(self.max_abs_gamma),
            max_abs_vega: fx(self.max_abs_vega),
            max_var_fraction: fx(self.max_var_fraction),
            min_health: fx(self.min_health),
            max_leverage: fx(self.max_leverage),
            min_idle_fraction: fx(self.min_idle_fraction),
            weights: self.weights.map(fx),
        }
    }
}

/// Keeper rebalancing rules and pay.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct RebalanceConfig {
    /// Min seconds between rebalances while the mandate is not breached.
    pub min_interval_secs: u32,
    /// The oracle may have moved at most this many confidence intervals from the keeper's priced price (I80F48).
    pub latency_conf_multiple: i128,
    /// The keeper's pricing slot may be at most this old.
    pub max_pricing_age_slots: u64,
    /// Risk removed (tokens) must be at least this multiple of the rebalance's cost (I80F48, >= 1).
    pub min_benefit_ratio: i128,
    /// Reward = min(cap, k x risk removed), at most `daily_reward_cap` per UTC day (tokens; k as I80F48).
    pub reward_per_risk: i128,
    pub reward_cap: u64,
    pub daily_reward_cap: u64,
}

/// Circuit breaker on the underlying's oracle: trips when price leaves its EMA by more than `max_ema_dev_bps` net of
/// confidence, or confidence exceeds `max_conf_bps` of price.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct BreakerConfig {
    pub max_ema_dev_bps: u16,
    pub max_conf_bps: u16,
}

// Own deserialisation frame: a Vault holds two of these, and both inlined pushed its deserialiser near 4 KiB.
keel_venue::deserialize_in_own_frame! {
    /// Deposit caps, withdrawal delay, fees, guardian pause limits, timelock.
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
    pub struct VaultConfig {
        pub mandate: MandateConfig,
        pub rebalance: RebalanceConfig,
        pub breaker: BreakerConfig,
        pub allowed_markets: [Pubkey; MAX_ALLOWED_MARKETS],
        /// Total assets cap, per-depositor cap (value of their shares after the deposit) and minimum deposit
        /// (tokens).
        pub max_total_assets: u64,
        pub max_user_assets: u64,
        pub min_deposit: u64,
        pub withdrawal_delay_secs: u32,
        /// Management fee per year and performance fee over the high-water mark, bps.
        pub management_fee_bps: u16,
        pub performance_fee_bps: u16,
        pub fee_recipient: Pubkey,
        pub max_pause_secs: u32,
        /// After a pause ends, the guardian must wait this long before pausing again.
        pub pause_cooldown_secs: u32,
        pub timelock_secs: u32,
    }
}

impl VaultConfig {
    pub fn is_allowed(&self, market: &Pubkey) -> bool {
        *market != Pubkey::default() && self.allowed_markets.contains(market)
    }

    pub fn is_valid(&self) -> bool {
        let r = &self.rebalance;
        self.mandate.mandate().is_valid()
            && fx(r.latency_conf_multiple) > fixed::types::I80F48::ZERO
            && fx(r.min_benefit_ratio) >= fixed::types::I80F48::ONE
            && fx(r.reward_per_risk) >= fixed::types::I80F48::ZERO
            && r.max_pricing_age_slots > 0
            && self.breaker.max_ema_dev_bps > 0
            && self.breaker.max_conf_bps > 0
            && self.allowed_markets.iter().any(|m| *m != Pubkey::default())
            && self.max_total_assets > 0
            && self.max_user_assets > 0
            && self.min_deposit > 0
            && self.management_fee_bps <= 500
            && self.performance_fee_bps <= 5000
            && self.max_pause_secs > 0
            && self.timelock_secs > 0
    }
}
