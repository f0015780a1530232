//! Oracle validity: Pyth PriceUpdateV2 reading and the per-action policy.
//!
//! Validity is evaluated in this order: NonPositive, Stale, TooUncertain, TooVolatile, else Valid.
//! Policy: risk-increasing actions need `Valid`. Risk-reducing actions, liquidations and settlement tolerate an
//! uncertain or volatile price and a price up to `reduce_only_grace_secs` older than the limit (users must be
//! able to exit and insolvent accounts must be closable); a non-positive price is never usable.
use crate::error::VenueError;
use crate::state::OracleLimits;
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::SafeMath;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

/// An oracle observation in I80F48 quote-per-base units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OraclePrice {
    pub price: I80F48,
    pub conf: I80F48,
    pub ema: I80F48,
    pub publish_time: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, AnchorSerialize, AnchorDeserialize)]
pub enum OracleValidity {
    Valid,
    Stale,
    TooUncertain,
    TooVolatile,
    NonPositive,
}

/// What the caller is about to do with the price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleUse {
    IncreaseRisk,
    ReduceRisk,
}

/// Classifies an observation against the limits at time `now`.
pub fn evaluate(p: &OraclePrice, limits: &OracleLimits, now: i64) -> std::result::Result<OracleValidity, VenueError> {
    // 1. Sign.
    if p.price <= I80F48::ZERO || p.ema <= I80F48::ZERO {
        return Ok(OracleValidity::NonPositive);
    }
    // 2. Age (a publish time in the future counts as age 0).
    if now.saturating_sub(p.publish_time) > i64::from(limits.max_age_secs) {
        return Ok(OracleValidity::Stale);
    }
    // 3. Confidence relative to price: conf x 10000 > price x max_conf_bps.
    let bps = I80F48::from_num(10_000);
    if p.conf.safe_mul(bps)? > p.price.safe_mul(I80F48::from_num(limits.max_conf_bps))? {
        return Ok(OracleValidity::TooUncertain);
    }
    // 4. Deviation from the EMA net of confidence, relative to the EMA.
    let dev = p.price.safe_sub(p.ema)?.saturating_abs().safe_sub(p.conf)?.max(I80F48::ZERO);
    if dev.safe_mul(bps)? > p.ema.safe_mul(I80F48::from_num(limits.max_ema_dev_bps))? {
        return Ok(OracleValidity::TooVolatile);
    }
    Ok(OracleValidity::Valid)
}

/// Applies the per-action policy; returns the error a caller should see.
pub fn require_usable(
    validity: OracleValidity,
    p: &OraclePrice,
    limits: &OracleLimits,
    now: i64,
    usage: OracleUse,
) -> std::result::Result<(), VenueError> {
    use OracleValidity::*;
    match (validity, usage) {
        (Valid, _) => Ok(()),
        (NonPositive, _) => Err(VenueError::OracleNonPositive),
        (Stale, OracleUse::IncreaseRisk) => Err(VenueError::OracleStale),
        (TooUncertain, OracleUse::IncreaseRisk) => Err(VenueError::OracleTooUncertain),
        (TooVolatile, OracleUse::IncreaseRisk) => Err(VenueError::OracleTooVolatile),
        (TooUncertain | TooVolatile, OracleUse::ReduceRisk) => Ok(()),
        (Stale, OracleUse::ReduceRisk) => {
            let limit = i64::from(limits.max_age_secs) + i64::from(limits.reduce_only_grace_secs);
            if now.saturating_sub(p.publish_time) <= limit {
                Ok(())
            } else {
                Err(VenueError::OracleStale)
            }
        }
    }
}

/// The sequence every price consumer runs: read the feed, classify it, apply the policy for `usage`. Returns the
/// price and its validity (a `ReduceRisk` consumer may proceed on a non-`Valid` price and should record that).
pub fn checked_price(
    update: &PriceUpdateV2,
    config: &crate::state::UnderlyingConfig,
    now: i64,
    usage: OracleUse,
) -> Result<(OraclePrice, OracleValidity)> {
    let price = read_price(update, &config.feed_id)?;
    let validity = evaluate(&price, &config.limits, now)?;
    require_usable(validity, &price, &config.limits, now, usage)?;
    Ok((price, validity))
}

/// Reads a PriceUpdateV2 for `feed_id`: the account type and owner are checked by Anchor (`Account<PriceUpdateV2>`);
/// here the feed id and full Wormhole verification.
pub fn read_price(update: &PriceUpdateV2, feed_id: &[u8; 32]) -> Result<OraclePrice> {
    let m = &update.price_message;
    require!(m.feed_id == *feed_id, VenueError::WrongOracleFeed);
    require!(update.verification_level == VerificationLevel::Full, VenueError::OracleNotFullyVerified);
    let price = scale(m.price, m.exponent)?;
    let conf = scale(i64::try_from(m.conf).map_err(|_| VenueError::MathOverflow)?, m.exponent)?;
    let ema = scale(m.ema_price, m.exponent)?;
    Ok(OraclePrice { price, conf, ema, publish_time: m.publish_time })
}

/// mantissa x 10^exponent as I80F48 (exponents within ±18).
fn scale(mantissa: i64, exponent: i32) -> Result<I80F48> {
    require!(exponent.unsigned_abs() <= 18, VenueError::MathOverflow);
    // Unsigned power: no signed 64-bit overflow check (that needs a 128-bit multiply helper on SBF).
    let pow = I80F48::from_num(10u64.pow(exponent.unsigned_abs()));
    let m = I80F48::from_num(mantissa);
    let v = if exponent < 0 { m.safe_div(pow) } else { m.safe_mul(pow) };
    v.map_err(|e| VenueError::from(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OracleLimits =
        OracleLimits { max_age_secs: 60, max_conf_bps: 100, max_ema_dev_bps: 500, reduce_only_grace_secs: 600 };

    fn obs(price: f64, conf: f64, ema: f64, publish_time: i64) -> OraclePrice {
        OraclePrice {
            price: I80F48::from_num(price),
            conf: I80F48::from_num(conf),
            ema: I80F48::from_num(ema),
            publish_time,
        }
    }

    #[test]
    fn classification_order_and_boundaries() {
        let now = 1_000;
        assert_eq!(evaluate(&obs(100.0, 0.5, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::Valid);
        assert_eq!(evaluate(&obs(0.0, 0.0, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::NonPositive);
        // Exactly at the age limit is fine; one second past is stale.
        assert_eq!(evaluate(&obs(100.0, 0.5, 100.0, now - 60), &LIMITS, now).unwrap(), OracleValidity::Valid);
        assert_eq!(evaluate(&obs(100.0, 0.5, 100.0, now - 61), &LIMITS, now).unwrap(), OracleValidity::Stale);
        // conf 1% of price is the limit; above it is uncertain.
        assert_eq!(evaluate(&obs(100.0, 1.0, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::Valid);
        assert_eq!(evaluate(&obs(100.0, 1.01, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::TooUncertain);
        // 5% from EMA net of confidence: 105.5 with conf 0.5 vs EMA 100 is exactly 5%; 106 is beyond.
        assert_eq!(evaluate(&obs(105.5, 0.5, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::Valid);
        assert_eq!(evaluate(&obs(106.0, 0.5, 100.0, now), &LIMITS, now).unwrap(), OracleValidity::TooVolatile);
    }

    #[test]
    fn policy_lets_users_exit_but_never_on_a_non_positive_price() {
        let now = 10_000;
        let use_ = |v, p: &OraclePrice, u| require_usable(v, p, &LIMITS, now, u);
        let stale = obs(100.0, 0.5, 100.0, now - 300);
        assert_eq!(use_(OracleValidity::Stale, &stale, OracleUse::IncreaseRisk), Err(VenueError::OracleStale));
        assert_eq!(use_(OracleValidity::Stale, &stale, OracleUse::ReduceRisk), Ok(()));
        let very_stale = obs(100.0, 0.5, 100.0, now - 700);
        assert_eq!(use_(OracleValidity::Stale, &very_stale, OracleUse::ReduceRisk), Err(VenueError::OracleStale));
        let p = obs(100.0, 0.5, 100.0, now);
        assert_eq!(use_(OracleValidity::TooVolatile, &p, OracleUse::IncreaseRisk), Err(VenueError::OracleTooVolatile));
        assert_eq!(use_(OracleValidity::TooVolatile, &p, OracleUse::ReduceRisk), Ok(()));
        assert_eq!(
            use_(OracleValidity::TooUncertain, &p, OracleUse::IncreaseRisk),
            Err(VenueError::OracleTooUncertain)
        );
        assert_eq!(use_(OracleValidity::NonPositive, &p, OracleUse::ReduceRisk), Err(VenueError::OracleNonPositive));
    }

    #[test]
    fn pyth_mantissa_and_exponent_scale_exactly() {
        // 65,432.1 is not a binary fraction: within one ulp of the decimal value (division truncates).
        let got = scale(6_543_210_000_000, -8).unwrap();
        assert!((got - I80F48::lit("65432.1")).abs() <= I80F48::DELTA, "{got}");
        assert_eq!(scale(12, 2).unwrap(), I80F48::from_num(1200));
        assert!(scale(1, 30).is_err());
    }
}
