//! Black-Scholes-Merton and Black-76 in f64: price and delta, gamma, vega, theta, rho, for one option or a book.
//!
//! Same model and units as `keel_math::bs` (cost-of-carry form; vega per 1.00 vol; theta per year; rho per 1.00
//! of rate), so the keeper's fast path and the programs' fixed-point path can be compared directly.
//! One `ln`, one `sqrt`, one Gaussian `exp` and (for r != 0 or b != r) the discount `exp`s per option.
use super::normal::{cdf_pair_from_kernel, FRAC_1_SQRT_2PI};
pub use keel_math::OptionKind;

/// Option contract and market inputs (b = r: Black-Scholes; b = 0: Black-76 on a forward). The same type as
/// keel-math's f64 reference, so keeper and reference agree by construction on what an option is.
pub use keel_math::reference::Bsm as OptionInputs;

/// Price, delta, gamma, vega, theta and rho: keel-math's f64 greeks type, shared for the same reason.
pub use keel_math::reference::Greeks;

/// Below this σ√T the option is valued at its discounted forward intrinsic value (as in keel-math).
pub const MIN_TOTAL_VOL: f64 = 1e-9;

#[inline]
fn discounts(o: &OptionInputs) -> (f64, f64) {
    let carry_df = if o.carry == o.rate { 1.0 } else { ((o.carry - o.rate) * o.t).exp() };
    let df = if o.rate == 0.0 { 1.0 } else { (-o.rate * o.t).exp() };
    (carry_df, df)
}

/// N(d) in the expiry / zero-vol limit: a step in the forward moneyness, one half at the money.
#[inline(always)]
fn step(m: f64) -> f64 {
    if m > 0.0 {
        1.0
    } else if m < 0.0 {
        0.0
    } else {
        0.5
    }
}

/// Gaussian kernels e^{-d1²/2} and e^{-d2²/2}. Since d1² - d2² = 2m, the second is the first times
/// e^m = F/K = (S e^{(b-r)T}) / (K e^{-rT}), the ratio of the two discounted legs the caller already has: one
/// exponential instead of two (falls back to a direct exp if the first underflowed).
#[inline(always)]
fn kernels(d1: f64, d2: f64, legs_ratio: f64) -> (f64, f64) {
    let k1 = (-0.5 * d1 * d1).exp();
    let k2 = if k1 > 0.0 { k1 * legs_ratio } else { (-0.5 * d2 * d2).exp() };
    (k1, k2)
}

/// What price and greeks share: discounted legs, (N(d), N(-d)) pairs, φ(d1), √T, σ√T.
struct Core {
    carry_df: f64,
    /// S e^{(b-r)T} and K e^{-rT}.
    s: f64,
    k: f64,
    nd1: (f64, f64),
    nd2: (f64, f64),
    pdf1: f64,
    sqrt_t: f64,
    v: f64,
}

#[inline(always)]
fn core(o: &OptionInputs) -> Core {
    let (carry_df, df) = discounts(o);
    let sqrt_t = o.t.sqrt();
    let v = o.vol * sqrt_t;
    let m = (o.spot / o.strike).ln() + o.carry * o.t;
    let (s, k) = (o.spot * carry_df, o.strike * df);
    let (nd1, nd2, pdf1) = if v < MIN_TOTAL_VOL {
        let step = step(m);
        ((step, 1.0 - step), (step, 1.0 - step), 0.0)
    } else {
        let d1 = m / v + 0.5 * v;
        let d2 = d1 - v;
        let (kernel1, kernel2) = kernels(d1, d2, s / k);
        (cdf_pair_from_kernel(d1, kernel1), cdf_pair_from_kernel(d2, kernel2), FRAC_1_SQRT_2PI * kernel1)
    };
    Core { carry_df, s, k, nd1, nd2, pdf1, sqrt_t, v }
}

/// Option value from the core; calls use N(d), puts N(-d), each at full relative precision.
#[inline(always)]
fn value(o: &OptionInputs, c: &Core) -> f64 {
    let p = match o.kind {
        OptionKind::Call => c.s * c.nd1.0 - c.k * c.nd2.0,
        OptionKind::Put => c.k * c.nd2.1 - c.s * c.nd1.1,
    };
    p.max(0.0)
}

/// Price only.
#[inline]
pub fn price(o: &OptionInputs) -> f64 {
    value(o, &core(o))
}

/// Price and greeks in one pass.
#[inline]
pub fn greeks(o: &OptionInputs) -> Greeks {
    let c = core(o);
    let price = value(o, &c);
    let b_r = o.carry - o.rate;
    let (gamma, vega, diffusion) = if c.pdf1 == 0.0 {
        (0.0, 0.0, 0.0)
    } else {
        (c.carry_df * c.pdf1 / (o.spot * c.v), c.s * c.pdf1 * c.sqrt_t, -c.s * c.pdf1 * o.vol / (2.0 * c.sqrt_t))
    };
    match o.kind {
        OptionKind::Call => Greeks {
            price,
            delta: c.carry_df * c.nd1.0,
            gamma,
            vega,
            theta: diffusion - b_r * c.s * c.nd1.0 - o.rate * c.k * c.nd2.0,
            rho: o.t * c.k * c.nd2.0,
        },
        OptionKind::Put => Greeks {
            price,
            delta: -c.carry_df * c.nd1.1,
            gamma,
            vega,
            theta: diffusion + b_r * c.s * c.nd1.1 + o.rate * c.k * c.nd2.1,
            rho: -o.t * c.k * c.nd2.1,
        },
    }
}

/// A book of options in struct-of-arrays layout with signed position sizes.
#[derive(Clone, Debug, Default)]
pub struct Book {
    pub options: Vec<OptionInputs>,
    pub sizes: Vec<f64>,
}

impl Book {
    pub fn push(&mut self, o: OptionInputs, size: f64) {
        self.options.push(o);
        self.sizes.push(size);
    }
    pub fn len(&self) -> usize {
        self.options.len()
    }
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

/// Greeks of every option of a slice into `out` (same length).
pub fn greeks_batch(options: &[OptionInputs], out: &mut [Greeks]) {
    assert_eq!(options.len(), out.len(), "greeks_batch: output length must match");
    for (o, g) in options.iter().zip(out.iter_mut()) {
        *g = greeks(o);
    }
}

/// Size-weighted sum of greeks (the book's price is its value).
pub fn book_greeks(book: &Book) -> Greeks {
    let mut total = Greeks::default();
    for (o, q) in book.options.iter().zip(&book.sizes) {
        let g = greeks(o);
        total.price += q * g.price;
        total.delta += q * g.delta;
        total.gamma += q * g.gamma;
        total.vega += q * g.vega;
        total.theta += q * g.theta;
        total.rho += q * g.rho;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_math::reference::{bsm_greeks, Bsm};
    use OptionKind::*;

    #[test]
    fn published_values() {
        // Hull: S=42, K=40, r=10%, σ=20%, T=0.5 -> call 4.76, put 0.81.
        let c = OptionInputs::black_scholes(Call, 42.0, 40.0, 0.5, 0.2, 0.1);
        assert!((price(&c) - 4.76).abs() < 0.005);
        assert!((price(&OptionInputs { kind: Put, ..c }) - 0.81).abs() < 0.005);
        // Haug 1.1.3 Black-76: F=19, K=19, T=0.75, r=10%, σ=28% -> 1.7011.
        let b = OptionInputs::black76(Put, 19.0, 19.0, 0.75, 0.28, 0.1);
        assert!((price(&b) - 1.7011).abs() < 0.00005);
        // Hull's "Greek Letters" example: rho 8.91 (per 1.00 of rate) for S=49, K=50, r=5%, σ=20%, T=0.3846.
        let h = OptionInputs::black_scholes(Call, 49.0, 50.0, 0.3846, 0.2, 0.05);
        assert!((greeks(&h).rho - 8.91).abs() < 0.005);
    }

    #[test]
    fn agrees_with_keel_math_reference_across_the_domain() {
        let mut worst: f64 = 0.0;
        for (i, s) in [0.05, 1.0, 150.0, 90_000.0].iter().enumerate() {
            for mny in [0.3, 0.8, 1.0, 1.25, 4.0] {
                for t in [1.0 / 8760.0, 0.02, 0.5, 3.0] {
                    for vol in [0.02, 0.6, 3.0] {
                        for kind in [Call, Put] {
                            let (rate, carry) = if i % 2 == 0 { (0.0, 0.0) } else { (0.05, 0.02) };
                            let o = OptionInputs { kind, spot: *s, strike: s * mny, t, vol, rate, carry };
                            let g = greeks(&o);
                            let r = bsm_greeks(&Bsm { kind, spot: *s, strike: s * mny, t, vol, rate, carry });
                            for (a, b, scale) in [
                                (g.price, r.price, *s),
                                (g.delta, r.delta, 1.0),
                                (g.vega, r.vega, s * t.sqrt()),
                                (g.theta, r.theta, s * vol / t.sqrt() + s),
                                (g.rho, r.rho, s * mny * t),
                            ] {
                                worst = worst.max((a - b).abs() / scale);
                            }
                            assert_eq!(price(&o), g.price);
                        }
                    }
                }
            }
        }
        assert!(worst < 1e-13, "worst scaled difference {worst:e}");
    }

    #[test]
    fn book_sums_sizes() {
        let mut book = Book::default();
        let c = OptionInputs::black76(Call, 100.0, 100.0, 0.25, 0.5, 0.0);
        book.push(c, 2.0);
        book.push(OptionInputs { kind: Put, ..c }, 2.0);
        let g = book_greeks(&book);
        // Straddle at the forward (r = 0): call delta N(d1) plus put delta N(d1) - 1, with d1 = σ√T/2 > 0;
        // vega is twice a call's per unit.
        let n_d1 = crate::quant::normal::cdf(0.5 * 0.5 * 0.25f64.sqrt());
        assert!((g.delta - 2.0 * (2.0 * n_d1 - 1.0)).abs() < 1e-12, "{}", g.delta);
        assert!((g.vega - 4.0 * greeks(&c).vega).abs() < 1e-9);
    }
}
