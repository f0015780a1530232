//! Implied volatility: validation with clear errors, then Jäckel's "Let's Be Rational" (crate `implied-vol`).
//!
//! Quotes are undiscounted Black-76 prices on the forward (divide a discounted premium by the discount factor
//! first). The wrapper adds only comparisons before the solver call, so it costs nothing measurable (see
//! BENCHMARKS.md, `iv/keel` vs `iv/implied-vol direct`).
use super::bs::OptionKind;
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility};
use thiserror::Error;

/// Why a quote has no implied volatility.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum IvError {
    #[error("forward, strike and expiry must be positive and finite (forward {forward}, strike {strike}, t {t})")]
    NonPositiveInput { forward: f64, strike: f64, t: f64 },
    #[error("price {price} is negative or not finite")]
    InvalidPrice { price: f64 },
    #[error("price {price} is below the intrinsic value {intrinsic}: no volatility reproduces it")]
    BelowIntrinsic { price: f64, intrinsic: f64 },
    #[error("price {price} is at or above the no-arbitrage upper bound {bound} (forward for calls, strike for puts)")]
    AboveUpperBound { price: f64, bound: f64 },
    #[error("the solver did not converge")]
    NoSolution,
}

/// Implied Black-76 volatility of an undiscounted option price.
#[inline]
pub fn implied_vol(kind: OptionKind, price: f64, forward: f64, strike: f64, t: f64) -> Result<f64, IvError> {
    // 1. Inputs.
    if ![forward, strike, t].iter().all(|x| x.is_finite() && *x > 0.0) {
        return Err(IvError::NonPositiveInput { forward, strike, t });
    }
    if price.is_nan() || price < 0.0 || price.is_infinite() {
        return Err(IvError::InvalidPrice { price });
    }
    // 2. No-arbitrage bounds: intrinsic <= price < upper bound.
    let (intrinsic, bound, is_call) = match kind {
        OptionKind::Call => ((forward - strike).max(0.0), forward, true),
        OptionKind::Put => ((strike - forward).max(0.0), strike, false),
    };
    if price < intrinsic {
        return Err(IvError::BelowIntrinsic { price, intrinsic });
    }
    if price >= bound {
        return Err(IvError::AboveUpperBound { price, bound });
    }
    // 3. Solve. Inputs are validated above, so the unchecked builder is safe and skips a second validation.
    ImpliedBlackVolatility::builder()
        .option_price(price)
        .forward(forward)
        .strike(strike)
        .expiry(t)
        .is_call(is_call)
        .build_unchecked()
        .calculate::<DefaultSpecialFn>()
        .filter(|v| v.is_finite())
        .ok_or(IvError::NoSolution)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::bs::OptionInputs;
    use OptionKind::*;

    /// Out-of-the-money quotes (how surfaces are built) round-trip to 1e-13 relative. In-the-money quotes are
    /// inverted through parity, so their attainable precision is limited by the ITM price's own rounding, which is
    /// ε times the size of the terms it is formed from (F and K): |Δσ|/σ <= ε·(F + K)/(vega·σ) (Jäckel's
    /// attainable-precision argument). They are held to 4x that, plus 1e-13.
    #[test]
    fn round_trips_to_1e13_relative() {
        let forward = 100.0;
        let (mut worst_otm, mut worst_itm): (f64, f64) = (0.0, 0.0);
        for mny in [0.5, 0.8, 0.95, 1.0, 1.05, 1.3, 2.0] {
            for t in [1.0 / 365.0, 0.1, 1.0, 3.0] {
                for vol in [0.05, 0.3, 0.8, 2.0] {
                    for kind in [Call, Put] {
                        let o = OptionInputs::black76(kind, forward, forward * mny, t, vol, 0.0);
                        let g = crate::quant::bs::greeks(&o);
                        let intrinsic = match kind {
                            Call => (forward - o.strike).max(0.0),
                            Put => (o.strike - forward).max(0.0),
                        };
                        // A quote with time value below 1e-10 of the forward carries no usable vol information.
                        if g.price - intrinsic < 1e-10 * forward {
                            continue;
                        }
                        let iv = implied_vol(kind, g.price, forward, o.strike, t).unwrap();
                        let e = (iv - vol).abs() / vol;
                        if intrinsic == 0.0 {
                            worst_otm = worst_otm.max(e);
                        } else {
                            let attainable = f64::EPSILON * (forward + o.strike) / (g.vega * vol);
                            worst_itm = worst_itm.max(e / (1e-13 + 4.0 * attainable));
                        }
                    }
                }
            }
        }
        assert!(worst_otm <= 1e-13, "worst OTM relative IV error {worst_otm:e}");
        assert!(worst_itm <= 1.0, "worst ITM error / attainable bound {worst_itm}");
    }

    #[test]
    fn invalid_quotes_have_clear_errors() {
        assert!(matches!(implied_vol(Call, 1.0, 0.0, 100.0, 1.0), Err(IvError::NonPositiveInput { .. })));
        assert!(matches!(implied_vol(Call, 1.0, 100.0, 100.0, 0.0), Err(IvError::NonPositiveInput { .. })));
        assert!(matches!(implied_vol(Call, -1.0, 100.0, 100.0, 1.0), Err(IvError::InvalidPrice { .. })));
        assert!(matches!(implied_vol(Call, f64::NAN, 100.0, 100.0, 1.0), Err(IvError::InvalidPrice { .. })));
        // Call struck at 80 on a forward of 100 must be worth at least 20.
        let e = implied_vol(Call, 19.0, 100.0, 80.0, 1.0).unwrap_err();
        assert_eq!(e, IvError::BelowIntrinsic { price: 19.0, intrinsic: 20.0 });
        assert!(e.to_string().contains("below the intrinsic value 20"));
        assert!(matches!(implied_vol(Call, 100.0, 100.0, 80.0, 1.0), Err(IvError::AboveUpperBound { .. })));
        assert!(matches!(implied_vol(Put, 120.0, 100.0, 120.0, 1.0), Err(IvError::AboveUpperBound { .. })));
    }
}
