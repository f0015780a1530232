//! Shared strategies and helpers for keel-math's property tests.
#![allow(dead_code)]
use keel_math::reference::Bsm;
use keel_math::{BsmInputs, OptionKind, I80F48};
use proptest::prelude::*;

/// Rounds an f64 to the nearest I80F48 and back, so both implementations see identical inputs.
pub fn q(x: f64) -> f64 {
    I80F48::from_num(x).to_num::<f64>()
}

pub fn fx(x: f64) -> I80F48 {
    I80F48::from_num(x)
}

/// Log-uniform f64 in [lo, hi].
pub fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo.ln()..hi.ln()).prop_map(f64::exp)
}

/// The realistic domain of the issue: spot 1e-2..1e6, strike/spot 0.2..5, T 1 hour..3 years, vol 1%..500%,
/// rates and carry within ±10%.
pub fn bsm_case() -> impl Strategy<Value = (BsmInputs, Bsm)> {
    (
        prop_oneof![Just(OptionKind::Call), Just(OptionKind::Put)],
        log_uniform(1e-2, 1e6),
        log_uniform(0.2, 5.0),
        log_uniform(1.0 / (365.0 * 24.0), 3.0),
        log_uniform(0.01, 5.0),
        prop_oneof![Just(0.0), -0.1f64..0.1],
        prop_oneof![Just(None), (-0.1f64..0.1).prop_map(Some)],
    )
        .prop_map(|(kind, s, mny, t, vol, rate, carry)| {
            let (s, k, t, vol, rate) = (q(s), q(s * mny), q(t), q(vol), q(rate));
            let carry = q(carry.unwrap_or(rate));
            let fxi = BsmInputs {
                kind,
                spot: fx(s),
                strike: fx(k),
                t: fx(t),
                vol: fx(vol),
                rate: fx(rate),
                carry: fx(carry),
            };
            let f = Bsm { kind, spot: s, strike: k, t, vol, rate, carry };
            (fxi, f)
        })
}

/// Natural at-the-money scale of each greek, used to define "tiny": a greek below 1e-6 of its scale is tiny.
pub struct Scales {
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
}

pub fn scales(f: &Bsm) -> Scales {
    let sqrt_t = f.t.sqrt();
    let v = f.vol * sqrt_t;
    Scales {
        delta: 1.0,
        gamma: 1.0 / (f.spot * v),
        vega: f.spot * sqrt_t,
        theta: f.spot * f.vol / sqrt_t + (f.rate.abs() + f.carry.abs()) * (f.spot + f.strike),
    }
}

/// A greek is "tiny" when it is below 1e-6 of its ATM scale, or below 1e-6 in absolute terms: there I80F48's
/// fixed resolution (3.6e-15) alone exceeds 3.6e-9 of the value, so a relative bound of 1e-8 is not representable.
pub const TINY: f64 = 1e-6;
pub const TINY_ABS: f64 = 1e-6;

pub fn is_tiny(value: f64, scale: f64) -> bool {
    value.abs() < TINY * scale || value.abs() < TINY_ABS
}
