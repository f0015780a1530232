//! f64 reference implementations of every keel-math function, written as directly from the textbook formulas as
//! possible (libm for erfc, std for exp/ln/sqrt/cbrt). They are the yardstick the property tests measure the
//! fixed-point code against, and a convenient f64 API for off-chain code that wants the same model.
use crate::bs::OptionKind;

pub fn exp(x: f64) -> f64 {
    x.exp()
}
pub fn ln(x: f64) -> f64 {
    x.ln()
}
pub fn sqrt(x: f64) -> f64 {
    x.sqrt()
}
pub fn cbrt(x: f64) -> f64 {
    x.cbrt()
}

/// φ(x).
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * core::f64::consts::PI).sqrt()
}

/// N(x) = erfc(-x/√2)/2, accurate to a few ulps in both tails.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

/// Generalised BSM inputs in f64 (same meaning as [`crate::bs::BsmInputs`]); also the keeper's option type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bsm {
    pub kind: OptionKind,
    pub spot: f64,
    pub strike: f64,
    pub t: f64,
    pub vol: f64,
    pub rate: f64,
    pub carry: f64,
}

impl Bsm {
    /// Black-Scholes on an asset without yield (b = r).
    pub fn black_scholes(kind: OptionKind, spot: f64, strike: f64, t: f64, vol: f64, rate: f64) -> Self {
        Self { kind, spot, strike, t, vol, rate, carry: rate }
    }
    /// Black-76 on a forward (b = 0), discounted at r.
    pub fn black76(kind: OptionKind, forward: f64, strike: f64, t: f64, vol: f64, rate: f64) -> Self {
        Self { kind, spot: forward, strike, t, vol, rate, carry: 0.0 }
    }
}

/// Price, delta, gamma, vega, theta (same units as [`crate::bs::Greeks`]) and rho (per 1.00 of rate); also the
/// keeper's greeks type.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Greeks {
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    pub rho: f64,
}

pub fn bsm_greeks(i: &Bsm) -> Greeks {
    let carry_df = ((i.carry - i.rate) * i.t).exp();
    let df = (-i.rate * i.t).exp();
    let sqrt_t = i.t.sqrt();
    let v = i.vol * sqrt_t;
    let m = (i.spot / i.strike).ln() + i.carry * i.t;
    let (nd1, nd2, pdf) = if v < 1e-9 {
        let step = if m > 0.0 {
            1.0
        } else if m < 0.0 {
            0.0
        } else {
            0.5
        };
        (step, step, 0.0)
    } else {
        let d1 = m / v + 0.5 * v;
        (norm_cdf(d1), norm_cdf(d1 - v), norm_pdf(d1))
    };
    let (s, k) = (i.spot * carry_df, i.strike * df);
    let b_r = i.carry - i.rate;
    let diffusion = if pdf == 0.0 { 0.0 } else { -s * pdf * i.vol / (2.0 * sqrt_t) };
    let (price, delta, theta, rho) = match i.kind {
        OptionKind::Call => {
            (s * nd1 - k * nd2, carry_df * nd1, diffusion - b_r * s * nd1 - i.rate * k * nd2, i.t * k * nd2)
        }
        OptionKind::Put => (
            k * (1.0 - nd2) - s * (1.0 - nd1),
            -carry_df * (1.0 - nd1),
            diffusion + b_r * s * (1.0 - nd1) + i.rate * k * (1.0 - nd2),
            -i.t * k * (1.0 - nd2),
        ),
    };
    let (gamma, vega) = if pdf == 0.0 { (0.0, 0.0) } else { (carry_df * pdf / (i.spot * v), s * pdf * sqrt_t) };
    Greeks { price: price.max(0.0), delta, gamma, vega, theta, rho }
}

/// Raw SVI total variance.
pub fn svi_total_variance(a: f64, b: f64, rho: f64, m: f64, sigma: f64, k: f64) -> f64 {
    let x = k - m;
    a + b * (rho * x + (x * x + sigma * sigma).sqrt())
}

/// Scenario risk array of one option (same layout as [`crate::risk::option_risk_array`]).
pub fn option_risk_array(i: &Bsm, spot_shocks: &[f64], vol_shocks: &[f64]) -> Vec<f64> {
    let base = bsm_greeks(i).price;
    let mut out = Vec::with_capacity(spot_shocks.len() * vol_shocks.len());
    for ds in spot_shocks {
        for dv in vol_shocks {
            let shocked = Bsm { spot: i.spot * (1.0 + ds), vol: i.vol * (1.0 + dv), ..*i };
            out.push(bsm_greeks(&shocked).price - base);
        }
    }
    out
}
