//! The option book a strategist runs: short strangles (a straddle at delta 0.5) sold at a target delta and
//! rolled on a schedule. Strikes come from the forecast volatility, so the range the book provides liquidity over
//! widens when expected volatility rises. Shared by the live keeper and the backtester.
use crate::quant::bs::{OptionInputs, OptionKind};
use crate::quant::normal::inv_cdf;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrangleSpec {
    /// |delta| of each leg at sale (0.5 = straddle, 0.25 = a 25-delta strangle).
    pub target_delta: f64,
    /// Days to expiry when sold; the book is re-sold at expiry.
    pub tenor_days: f64,
    /// Contracts per leg as a fraction of equity / spot (1.0 = one unit of underlying per unit of equity's worth).
    pub notional_fraction: f64,
}

impl Default for StrangleSpec {
    fn default() -> Self {
        StrangleSpec { target_delta: 0.25, tenor_days: 7.0, notional_fraction: 1.0 }
    }
}

/// (put strike, call strike) whose Black-76 deltas (r = b = 0) are −d and +d at `vol` and `t` years:
/// call N(d1) = d gives K = S e^{−σ√T N⁻¹(d) + σ²T/2}; put N(d1) − 1 = −d gives K = S e^{σ√T N⁻¹(d) + σ²T/2}.
pub fn strangle_strikes(spot: f64, vol: f64, t: f64, target_delta: f64) -> (f64, f64) {
    let (v, q) = (vol * t.sqrt(), inv_cdf(target_delta.clamp(1e-6, 0.5)));
    let carry = 0.5 * v * v;
    (spot * (v * q + carry).exp(), spot * (-v * q + carry).exp())
}

/// One option leg at the given market (Black-76 on the perp's underlying).
pub fn leg(kind: OptionKind, spot: f64, strike: f64, t: f64, vol: f64) -> OptionInputs {
    OptionInputs { kind, spot, strike, t, vol, rate: 0.0, carry: 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::bs::greeks;

    #[test]
    fn strikes_have_the_target_delta_and_widen_with_volatility() {
        let t = 7.0 / 365.0;
        for d in [0.1, 0.25, 0.5] {
            let (kp, kc) = strangle_strikes(100.0, 0.8, t, d);
            let call = greeks(&leg(OptionKind::Call, 100.0, kc, t, 0.8)).delta;
            let put = greeks(&leg(OptionKind::Put, 100.0, kp, t, 0.8)).delta;
            assert!((call - d).abs() < 1e-9 && (put + d).abs() < 1e-9, "{d}: {call} {put}");
        }
        let (calm_p, calm_c) = strangle_strikes(100.0, 0.5, t, 0.25);
        let (wild_p, wild_c) = strangle_strikes(100.0, 1.5, t, 0.25);
        assert!(wild_p < calm_p && wild_c > calm_c);
    }
}
