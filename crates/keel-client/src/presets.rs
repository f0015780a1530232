//! Reference configurations: the parameters the tests, the demo and the docs use, defined once.
use crate::pod;
use anchor_lang::prelude::Pubkey;
use keel_math::mandate::LIMITS;
use keel_vault::state::{
    BreakerConfig, MandateConfig, RebalanceConfig, VaultConfig, ALLOWED_MARKET_BYTES, ALLOWED_MARKET_INDICES,
};
use keel_venue::state::{MarginConfig, OracleLimits, PodI128, UnderlyingConfig};

/// One unit of a 6-decimal collateral.
pub const USDC: u64 = 1_000_000;

/// IM = 1 x worst scenario loss + 10% of spot per short option; MM = half of IM; liquidation pays 50 bps of the
/// closed notional and closes at most a quarter of a position per call.
pub fn margin_config() -> MarginConfig {
    MarginConfig {
        im_multiplier: pod(1.0),
        mm_fraction: pod(0.5),
        short_option_min: pod(0.1),
        liquidation_fee_bps: 50,
        liquidation_max_close_bps: 2500,
    }
}

/// Oracle: 60 s max age (+600 s grace for exits), 1% max confidence, 5% max EMA deviation; biased marks at 1 conf;
/// SPAN grid ±15% spot, ±25% vol; surfaces live an hour, caches a minute or a 50 bps move; 1-hour settlement window.
pub fn underlying_config(feed_id: [u8; 32]) -> UnderlyingConfig {
    UnderlyingConfig {
        feed_id,
        limits: OracleLimits { max_age_secs: 60, max_conf_bps: 100, max_ema_dev_bps: 500, reduce_only_grace_secs: 600 },
        conf_multiplier: pod(1.0),
        spot_range: pod(0.15),
        vol_range: pod(0.25),
        surface_max_age_secs: 3600,
        cache_max_age_secs: 60,
        cache_max_move_bps: 50,
        settlement_window_secs: 3600,
    }
}

/// Delta 0 +/- 5 units, |gamma| <= 10, |vega| <= 2,000, worst loss <= 20% of NAV, health >= 1.5, leverage <= 3,
/// idle >= 10%; rebalances at most hourly unless breached, priced within 3 conf and 50 slots, worth >= 1x cost;
/// reward 10% of risk removed, capped at 50 per call and 200 per day; 1-day withdrawal delay; 2%/yr management and
/// 10% performance fees; pauses of at most a day with a 3-day cooldown; a 2-day timelock.
///
/// `allowed`: the venue indices of the markets the vault may trade, each below `ALLOWED_MARKET_INDICES` (256); a
/// larger one is a caller's bug and panics (keel-migrations refuses such a spec with a message first).
pub fn vault_config(allowed: &[u32], fee_recipient: Pubkey) -> VaultConfig {
    let mut config = VaultConfig {
        mandate: MandateConfig {
            target_delta: PodI128::ZERO,
            delta_band: pod(5.0),
            ww_risk_aversion: PodI128::ZERO,
            ww_cost: pod(0.0015),
            max_abs_gamma: pod(10.0),
            max_abs_vega: pod(2_000.0),
            max_var_fraction: pod(0.2),
            min_health: pod(1.5),
            max_leverage: pod(3.0),
            min_idle_fraction: pod(0.1),
            weights: [pod(1.0); LIMITS],
        },
        rebalance: RebalanceConfig {
            min_interval_secs: 3600,
            latency_conf_multiple: pod(3.0),
            max_pricing_age_slots: 50,
            min_benefit_ratio: pod(1.0),
            reward_per_risk: pod(0.1),
            reward_cap: 50 * USDC,
            daily_reward_cap: 200 * USDC,
        },
        breaker: BreakerConfig { max_ema_dev_bps: 1000, max_conf_bps: 200 },
        allowed_markets: [0; ALLOWED_MARKET_BYTES],
        max_total_assets: 10_000_000 * USDC,
        max_user_assets: 1_000_000 * USDC,
        min_deposit: USDC,
        withdrawal_delay_secs: 86_400,
        management_fee_bps: 200,
        performance_fee_bps: 1000,
        fee_recipient,
        max_pause_secs: 86_400,
        pause_cooldown_secs: 3 * 86_400,
        timelock_secs: 2 * 86_400,
    };
    for &i in allowed {
        assert!(config.allow(i), "market index {i} is beyond the allowed mask (0..{ALLOWED_MARKET_INDICES})");
    }
    config
}
