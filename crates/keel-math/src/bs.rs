//! Black-Scholes-Merton pricing and greeks on I80F48, in Haug's cost-of-carry form:
//!
//! ```text
//! d1 = (ln(S/K) + (b + σ²/2) T) / (σ√T),  d2 = d1 - σ√T
//! call = S e^{(b-r)T} N(d1) - K e^{-rT} N(d2)
//! put  = K e^{-rT} N(-d2) - S e^{(b-r)T} N(-d1)
//! ```
//! b = r is Black-Scholes on a non-dividend asset, b = r - q Merton with a yield q, b = 0 Black-76 on a forward
//! (then S is the forward F). Keel's venue prices crypto options with r = b = 0 (USDC-margined, forward = oracle).
//!
//! Units: `t` in years (ACT/365, see [`years_from_seconds`]), `vol` as a fraction (0.8 = 80%). Vega is per 1.00 of
//! volatility, theta per year of calendar time (dV/dt = -dV/dT; negative for a long option in a zero-rate world).
//!
//! Numerics: d1 is computed as m/v + v/2 with m = ln(S/K) + bT and v = σ√T, which never forms σ²T (that would
//! lose relative precision for short, low-vol options). Limits: when v < [`MIN_TOTAL_VOL`] (expiry or zero vol)
//! the option is worth its discounted forward intrinsic value, N(d) becomes a step (1/2 exactly at the money) and
//! gamma and vega are reported as 0 (their limits are a Dirac mass at the strike and zero). Deep ITM/OTM inputs
//! saturate N(d) to 0/1 exactly. Nothing panics: invalid inputs and overflows return a [`MathError`].
use crate::elementary::{exp, ln, sqrt};
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::normal::{kernel_pair, norm_cdf_from_kernel, FRAC_1_SQRT_2PI};
use crate::safe::{safe_mul_nonneg, SafeMath};
use fixed::types::I80F48;

/// Seconds in the ACT/365 year used for all time-to-expiry conversions.
pub const SECONDS_PER_YEAR: i64 = 31_536_000;
const HALF: I80F48 = I80F48::lit("0.5");
/// Below this total volatility σ√T the model is evaluated in its expiry / zero-vol limit.
pub const MIN_TOTAL_VOL: I80F48 = I80F48::lit("0.000000001");

/// Call or put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionKind {
    Call,
    Put,
}

/// Inputs of the generalised Black-Scholes-Merton model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BsmInputs {
    pub kind: OptionKind,
    /// Price of the underlying (the forward for Black-76). Must be > 0.
    pub spot: I80F48,
    /// Strike. Must be > 0.
    pub strike: I80F48,
    /// Time to expiry in years. Must be >= 0.
    pub t: I80F48,
    /// Annualised volatility. Must be >= 0.
    pub vol: I80F48,
    /// Continuously compounded discount rate r.
    pub rate: I80F48,
    /// Cost of carry b.
    pub carry: I80F48,
}

impl BsmInputs {
    /// Black-Scholes on an asset without yield (b = r).
    pub fn black_scholes(kind: OptionKind, spot: I80F48, strike: I80F48, t: I80F48, vol: I80F48, rate: I80F48) -> Self {
        Self { kind, spot, strike, t, vol, rate, carry: rate }
    }

    /// Black-76 on a forward or future F (b = 0), discounted at r.
    pub fn black76(kind: OptionKind, forward: I80F48, strike: I80F48, t: I80F48, vol: I80F48, rate: I80F48) -> Self {
        Self { kind, spot: forward, strike, t, vol, rate, carry: I80F48::ZERO }
    }

    /// Copy with another spot and volatility (used by scenario revaluation).
    pub fn with_spot_vol(&self, spot: I80F48, vol: I80F48) -> Self {
        Self { spot, vol, ..*self }
    }
}

/// Price and first-order/second-order sensitivities.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Greeks {
    pub price: I80F48,
    /// dV/dS.
    pub delta: I80F48,
    /// d²V/dS².
    pub gamma: I80F48,
    /// dV/dσ per 1.00 of volatility.
    pub vega: I80F48,
    /// dV/dt per year (calendar time passing).
    pub theta: I80F48,
}

/// Converts a time span in seconds to years (ACT/365). Negative spans are an error: an expired option has t = 0.
#[track_caller]
pub fn years_from_seconds(seconds: i64) -> MathResult<I80F48> {
    if seconds < 0 {
        return Err(MathError::new(MathErrorKind::OutOfDomain));
    }
    I80F48::from_num(seconds).safe_div(I80F48::from_num(SECONDS_PER_YEAR))
}

/// Quantities shared by price and greeks.
struct Core {
    /// e^{(b-r)T}: the carry discount on the spot leg.
    carry_df: I80F48,
    /// e^{-rT}.
    df: I80F48,
    /// N(d1), N(d2).
    nd1: I80F48,
    nd2: I80F48,
    /// φ(d1).
    pdf_d1: I80F48,
    /// √T and σ√T.
    sqrt_t: I80F48,
    v: I80F48,
    degenerate: bool,
}

#[track_caller]
fn validate(i: &BsmInputs) -> MathResult<()> {
    if i.spot <= I80F48::ZERO || i.strike <= I80F48::ZERO || i.t < I80F48::ZERO || i.vol < I80F48::ZERO {
        return Err(MathError::new(MathErrorKind::InvalidParameter));
    }
    Ok(())
}

/// What every revaluation of one option shares when only spot and volatility move (a scenario grid): the
/// discount factors, √T, ln K and bT. Computing them once per grid instead of once per scenario is most of what
/// a risk-array refresh costs on-chain; the results are bit-identical to pricing each scenario from scratch.
#[derive(Clone, Copy, Debug)]
pub struct Invariants {
    carry_df: I80F48,
    df: I80F48,
    sqrt_t: I80F48,
    strike: I80F48,
    ln_strike: I80F48,
    carry_t: I80F48,
}

impl Invariants {
    #[track_caller]
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn new(i: &BsmInputs) -> MathResult<Self> {
        validate(i)?;
        Ok(Self {
            carry_df: exp(i.carry.safe_sub(i.rate)?.safe_mul(i.t)?)?,
            df: exp(-(i.rate.safe_mul(i.t)?))?,
            sqrt_t: sqrt(i.t)?,
            strike: i.strike,
            ln_strike: ln(i.strike)?,
            carry_t: i.carry.safe_mul(i.t)?,
        })
    }

    /// Log-moneyness of the forward at `spot`: m = ln(S/K) + bT = ln(F/K). Subtracting logs keeps full precision
    /// for any S/K ratio (S/K itself could round to a few significant bits when K >> S).
    #[track_caller]
    pub fn moneyness(&self, spot: I80F48) -> MathResult<I80F48> {
        ln(spot)?.safe_sub(self.ln_strike)?.safe_add(self.carry_t)
    }

    /// The moneyness at `spot` with e^{-|m|}, which lets N(d1) and N(d2) share one exponential at every
    /// volatility priced at this spot.
    #[track_caller]
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn at(&self, spot: I80F48) -> MathResult<Moneyness> {
        let m = self.moneyness(spot)?;
        // Without carry F = S, and e^{-|m|} = min(S, K) / max(S, K): a division is cheaper than exp on SBF.
        let decay = if self.carry_t == I80F48::ZERO {
            let (lo, hi) = if spot < self.strike { (spot, self.strike) } else { (self.strike, spot) };
            lo.safe_div(hi)?
        } else {
            exp(-m.saturating_abs())?
        };
        Ok(Moneyness { m, decay })
    }
}

/// Log-moneyness m = ln(F/K) at one spot and e^{-|m|} (from [`Invariants::at`]).
#[derive(Clone, Copy, Debug)]
pub struct Moneyness {
    m: I80F48,
    decay: I80F48,
}

/// σ√T and its reciprocal at one volatility: what every scenario at that volatility shares. d1 = m/v + v/2 is
/// evaluated as m x (1/v) + v/2, one division per volatility instead of one per scenario (a 128-bit division is
/// the costliest step left on SBF).
#[derive(Clone, Copy, Debug)]
pub struct VolTerms {
    v: I80F48,
    inv_v: I80F48,
}

impl VolTerms {
    #[track_caller]
    pub fn new(vol: I80F48, inv: &Invariants) -> MathResult<Self> {
        if vol < I80F48::ZERO {
            return Err(MathError::new(MathErrorKind::InvalidParameter));
        }
        let v = vol.safe_mul(inv.sqrt_t)?;
        let inv_v = if v < MIN_TOTAL_VOL { I80F48::ZERO } else { I80F48::ONE.safe_div(v)? };
        Ok(Self { v, inv_v })
    }
}

/// The core at the moneyness `at` (from [`Invariants::at`] of `i.spot`) and `vt` (of `i.vol`); φ(d1) only
/// when `with_pdf` (greeks). N(d1), N(d2) and φ(d1) share one exponential ([`kernel_pair`]).
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
fn core_at(i: &BsmInputs, inv: &Invariants, at: &Moneyness, vt: &VolTerms, with_pdf: bool) -> MathResult<Core> {
    if i.spot <= I80F48::ZERO {
        return Err(MathError::new(MathErrorKind::InvalidParameter));
    }
    let (carry_df, df, sqrt_t, v, m) = (inv.carry_df, inv.df, inv.sqrt_t, vt.v, at.m);
    if v < MIN_TOTAL_VOL {
        // Expiry / zero-vol limit: N(d) is a step in the forward moneyness.
        let step = if m > I80F48::ZERO {
            I80F48::ONE
        } else if m < I80F48::ZERO {
            I80F48::ZERO
        } else {
            HALF
        };
        return Ok(Core { carry_df, df, nd1: step, nd2: step, pdf_d1: I80F48::ZERO, sqrt_t, v, degenerate: true });
    }
    // d1 = m/v + v/2, d2 = d1 - v.
    let d1 = m.safe_mul(vt.inv_v)?.safe_add(v / 2)?;
    let d2 = d1.safe_sub(v)?;
    let (k1, k2) = kernel_pair(d1, d2, m, at.decay)?;
    let pdf_d1 = if with_pdf { k1.safe_mul(FRAC_1_SQRT_2PI)? } else { I80F48::ZERO };
    let (nd1, nd2) = (norm_cdf_from_kernel(d1, k1)?, norm_cdf_from_kernel(d2, k2)?);
    Ok(Core { carry_df, df, nd1, nd2, pdf_d1, sqrt_t, v, degenerate: false })
}

#[track_caller]
fn core(i: &BsmInputs, with_pdf: bool) -> MathResult<Core> {
    let inv = Invariants::new(i)?;
    core_at(i, &inv, &inv.at(i.spot)?, &VolTerms::new(i.vol, &inv)?, with_pdf)
}

/// The price of `i` (same strike, expiry, rate and carry as the inputs `inv` was built from) at the moneyness `at`
/// of `i.spot` and the vol terms of `i.vol`: scenario revaluation without recomputing what the scenarios share.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn price_at(i: &BsmInputs, inv: &Invariants, at: &Moneyness, vt: &VolTerms) -> MathResult<I80F48> {
    let c = core_at(i, inv, at, vt, false)?;
    value(i, &c)
}

/// x·f, skipping the multiply when f is exactly 1: the product is then exact (x), and the venue's Black-76 has
/// r = b = 0, so both discount factors are 1 in every scenario (~0.13k units per 128-bit multiply on SBF).
#[inline(always)]
#[track_caller]
fn scale(x: I80F48, f: I80F48) -> MathResult<I80F48> {
    if f == I80F48::ONE {
        Ok(x)
    } else {
        x.safe_mul(f)
    }
}

/// Option value from the shared core; clamped at 0 because rounding must never produce a negative premium.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
fn value(i: &BsmInputs, c: &Core) -> MathResult<I80F48> {
    let spot_leg = scale(i.spot, c.carry_df)?;
    let strike_leg = scale(i.strike, c.df)?;
    // Legs and probabilities are non-negative: exact unsigned products, also for spots above 2^15.
    let v = match i.kind {
        OptionKind::Call => safe_mul_nonneg(spot_leg, c.nd1)?.safe_sub(safe_mul_nonneg(strike_leg, c.nd2)?)?,
        OptionKind::Put => safe_mul_nonneg(strike_leg, I80F48::ONE - c.nd2)?
            .safe_sub(safe_mul_nonneg(spot_leg, I80F48::ONE - c.nd1)?)?,
    };
    Ok(v.max(I80F48::ZERO))
}

/// Option price.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn price(i: &BsmInputs) -> MathResult<I80F48> {
    let c = core(i, false)?;
    value(i, &c)
}

/// Price, delta, gamma, vega and theta in one pass (one ln, one sqrt, a few exp; N(d1), N(d2) and φ(d1) share one).
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn greeks(i: &BsmInputs) -> MathResult<Greeks> {
    greeks_with(i, &Invariants::new(i)?)
}

/// [`greeks`] from invariants the caller already built for `i` (a refresh shares them with the risk array).
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn greeks_with(i: &BsmInputs, inv: &Invariants) -> MathResult<Greeks> {
    let c = core_at(i, inv, &inv.at(i.spot)?, &VolTerms::new(i.vol, inv)?, true)?;
    let price = value(i, &c)?;
    let spot_leg = scale(i.spot, c.carry_df)?;
    let strike_leg = scale(i.strike, c.df)?;
    let b_minus_r = i.carry.safe_sub(i.rate)?;

    // Delta: e^{(b-r)T} N(d1) for calls, -e^{(b-r)T} N(-d1) for puts.
    let delta = match i.kind {
        OptionKind::Call => scale(c.nd1, c.carry_df)?,
        OptionKind::Put => -(scale(I80F48::ONE - c.nd1, c.carry_df)?),
    };
    if c.degenerate {
        // Limits: no curvature or vol sensitivity; theta is only the carry/discount drift of intrinsic value.
        let theta = match i.kind {
            OptionKind::Call => -(b_minus_r.safe_mul(spot_leg)?.safe_mul(c.nd1)?)
                .safe_sub(i.rate.safe_mul(strike_leg)?.safe_mul(c.nd2)?)?,
            OptionKind::Put => b_minus_r
                .safe_mul(spot_leg)?
                .safe_mul(I80F48::ONE - c.nd1)?
                .safe_add(i.rate.safe_mul(strike_leg)?.safe_mul(I80F48::ONE - c.nd2)?)?,
        };
        return Ok(Greeks { price, delta, gamma: I80F48::ZERO, vega: I80F48::ZERO, theta });
    }
    // Fixed point has absolute resolution, so every product/quotient below is ordered to keep intermediates at
    // least as large as the result: divide by the smaller divisor first, multiply by the smallest factor last.
    // Gamma = e^{(b-r)T} φ(d1) / (S σ√T).
    let x = scale(c.pdf_d1, c.carry_df)?;
    let (first, second) = if i.spot < c.v { (i.spot, c.v) } else { (c.v, i.spot) };
    let gamma = x.safe_div(first)?.safe_div(second)?;
    // Vega = S e^{(b-r)T} √T φ(d1).
    let vega = spot_leg.safe_mul(c.sqrt_t)?.safe_mul(c.pdf_d1)?;
    // Theta diffusion term: -S e^{(b-r)T} φ(d1) σ / (2√T).
    let vol_rate = i.vol.safe_div(c.sqrt_t.safe_mul(I80F48::from_num(2))?)?;
    let (big, small) = if vol_rate > c.pdf_d1 { (vol_rate, c.pdf_d1) } else { (c.pdf_d1, vol_rate) };
    let diffusion = -(spot_leg.safe_mul(big)?.safe_mul(small)?);
    let theta = match i.kind {
        OptionKind::Call => diffusion
            .safe_sub(spot_leg.safe_mul(c.nd1)?.safe_mul(b_minus_r)?)?
            .safe_sub(strike_leg.safe_mul(c.nd2)?.safe_mul(i.rate)?)?,
        OptionKind::Put => diffusion
            .safe_add(spot_leg.safe_mul(I80F48::ONE - c.nd1)?.safe_mul(b_minus_r)?)?
            .safe_add(strike_leg.safe_mul(I80F48::ONE - c.nd2)?.safe_mul(i.rate)?)?,
    };
    Ok(Greeks { price, delta, gamma, vega, theta })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OptionKind::*;

    fn lit(s: &str) -> I80F48 {
        I80F48::lit(s)
    }

    /// The venue's path (Black-76, no carry): e^{-|m|} comes from min(S, K) / max(S, K), not from exp. The kernels
    /// the pair gives stay within a few ulps of separate exponentials from deep out to deep in the money (2 measured).
    #[test]
    fn moneyness_decay_without_carry_matches_separate_kernels() {
        use crate::normal::gauss_kernel;
        let strike = I80F48::from_num(100);
        let mut worst = 0;
        for s in (30..=300).step_by(7) {
            let spot = I80F48::from_num(s);
            let base = BsmInputs::black76(Call, spot, strike, lit("0.25"), lit("0.8"), I80F48::ZERO);
            let inv = Invariants::new(&base).unwrap();
            let at = inv.at(spot).unwrap();
            for vol in ["0.02", "0.3", "0.8", "2.5"] {
                let vt = VolTerms::new(lit(vol), &inv).unwrap();
                let d1 = at.m.safe_mul(vt.inv_v).unwrap().safe_add(vt.v / 2).unwrap();
                let d2 = d1 - vt.v;
                let (k1, k2) = kernel_pair(d1, d2, at.m, at.decay).unwrap();
                let ulps = |a: I80F48, b: I80F48| (a - b).abs().to_bits();
                worst = worst.max(ulps(k1, gauss_kernel(d1).unwrap())).max(ulps(k2, gauss_kernel(d2).unwrap()));
            }
        }
        assert!(worst <= 4, "kernel pair from S/K differs by {worst} ulps");
    }

    /// Asserts |got - want| <= tol, with the published value's own rounding as the tolerance.
    fn close(got: I80F48, want: &str, tol: &str, what: &str) {
        let d = (got - lit(want)).abs();
        assert!(d <= lit(tol), "{what}: got {got}, published {want}");
    }

    // Published reference values. Sources:
    //  - J. Hull, "Options, Futures, and Other Derivatives" (Example 15.6 in the 8th ed.; 13.6 in earlier ones):
    //    S=42, K=40, r=10%, σ=20%, T=0.5 -> call 4.76, put 0.81.
    //  - E. G. Haug, "The Complete Guide to Option Pricing Formulas", 2nd ed., ch. 1-2 worked examples.
    #[test]
    fn hull_example() {
        let i = BsmInputs::black_scholes(Call, lit("42"), lit("40"), lit("0.5"), lit("0.2"), lit("0.1"));
        close(price(&i).unwrap(), "4.76", "0.005", "Hull call");
        let i = BsmInputs { kind: Put, ..i };
        close(price(&i).unwrap(), "0.81", "0.005", "Hull put");
    }

    #[test]
    fn haug_generalised_bsm_examples() {
        // 1.1.1 Black-Scholes: S=60, K=65, T=0.25, r=8%, σ=30% -> call 2.1334.
        let i = BsmInputs::black_scholes(Call, lit("60"), lit("65"), lit("0.25"), lit("0.3"), lit("0.08"));
        close(price(&i).unwrap(), "2.1334", "0.00005", "Haug 1.1.1 call");
        // 1.1.2 Merton: S=100, K=95, T=0.5, r=10%, q=5% (b=5%), σ=20% -> put 2.4648.
        let i = BsmInputs {
            kind: Put,
            spot: lit("100"),
            strike: lit("95"),
            t: lit("0.5"),
            vol: lit("0.2"),
            rate: lit("0.1"),
            carry: lit("0.05"),
        };
        close(price(&i).unwrap(), "2.4648", "0.00005", "Haug 1.1.2 put");
        // 1.1.3 Black-76: F=19, K=19, T=0.75, r=10%, σ=28% -> call = put = 1.7011.
        let c = BsmInputs::black76(Call, lit("19"), lit("19"), lit("0.75"), lit("0.28"), lit("0.1"));
        close(price(&c).unwrap(), "1.7011", "0.00005", "Haug 1.1.3 call");
        close(price(&BsmInputs { kind: Put, ..c }).unwrap(), "1.7011", "0.00005", "Haug 1.1.3 put");
    }

    #[test]
    fn haug_greeks_examples() {
        // Delta: S=105, K=100, T=0.5, r=10%, b=0, σ=36% -> call 0.5946, put -0.3566.
        let i = BsmInputs {
            kind: Call,
            spot: lit("105"),
            strike: lit("100"),
            t: lit("0.5"),
            vol: lit("0.36"),
            rate: lit("0.1"),
            carry: I80F48::ZERO,
        };
        close(greeks(&i).unwrap().delta, "0.5946", "0.00005", "Haug delta call");
        close(greeks(&BsmInputs { kind: Put, ..i }).unwrap().delta, "-0.3566", "0.00005", "Haug delta put");
        // Gamma: S=55, K=60, T=0.75, r=10%, b=10%, σ=30% -> 0.0278.
        let i = BsmInputs::black_scholes(Call, lit("55"), lit("60"), lit("0.75"), lit("0.3"), lit("0.1"));
        close(greeks(&i).unwrap().gamma, "0.0278", "0.00005", "Haug gamma");
        // Theta: S=430, K=405, T=0.0833, r=7%, b=2%, σ=20% -> put theta -31.1924 per year.
        let i = BsmInputs {
            kind: Put,
            spot: lit("430"),
            strike: lit("405"),
            t: lit("0.0833"),
            vol: lit("0.2"),
            rate: lit("0.07"),
            carry: lit("0.02"),
        };
        close(greeks(&i).unwrap().theta, "-31.1924", "0.00005", "Haug theta");
    }

    /// Hull, "The Greek Letters" chapter (Examples 19.1-19.6 in the 8th ed.): 100,000 calls on a non-dividend stock,
    /// S=49, K=50, r=5%, σ=20%, T=20 weeks = 0.3846 y. Published per option: price 2.40, delta 0.522,
    /// gamma 0.066, vega 12.1 (per 100% vol), theta -4.31 per year.
    #[test]
    fn hull_greek_letters_example() {
        let i = BsmInputs::black_scholes(Call, lit("49"), lit("50"), lit("0.3846"), lit("0.2"), lit("0.05"));
        let g = greeks(&i).unwrap();
        close(g.price, "2.40", "0.005", "Hull price");
        close(g.delta, "0.522", "0.0005", "Hull delta");
        close(g.gamma, "0.066", "0.0005", "Hull gamma");
        close(g.vega, "12.1", "0.05", "Hull vega");
        close(g.theta, "-4.31", "0.005", "Hull theta");
    }

    #[test]
    fn put_call_parity_holds_to_resolution() {
        let c = BsmInputs::black_scholes(Call, lit("150"), lit("130"), lit("0.3"), lit("0.65"), lit("0.03"));
        let p = BsmInputs { kind: Put, ..c };
        let lhs = price(&c).unwrap() - price(&p).unwrap();
        let rhs = c.spot - c.strike * exp(-(c.rate * c.t)).unwrap();
        assert!((lhs - rhs).abs() < lit("0.0000000001"));
    }

    #[test]
    fn limits_do_not_panic_and_take_the_right_values() {
        // Expired ITM call: intrinsic, delta 1, gamma/vega 0.
        let i = BsmInputs::black76(Call, lit("110"), lit("100"), I80F48::ZERO, lit("0.8"), I80F48::ZERO);
        let g = greeks(&i).unwrap();
        assert_eq!((g.price, g.delta, g.gamma, g.vega), (lit("10"), I80F48::ONE, I80F48::ZERO, I80F48::ZERO));
        // Zero vol OTM put: worthless.
        let i = BsmInputs::black76(Put, lit("110"), lit("100"), lit("1"), I80F48::ZERO, I80F48::ZERO);
        assert_eq!(greeks(&i).unwrap().price, I80F48::ZERO);
        // At the money at expiry: delta exactly one half.
        let i = BsmInputs::black76(Call, lit("100"), lit("100"), I80F48::ZERO, lit("0.5"), I80F48::ZERO);
        assert_eq!(greeks(&i).unwrap().delta, lit("0.5"));
        // One second to expiry, deep OTM and deep ITM at extreme vol.
        let one_sec = years_from_seconds(1).unwrap();
        for (s, k) in [("1", "1000000"), ("1000000", "1")] {
            for kind in [Call, Put] {
                let i = BsmInputs::black76(kind, lit(s), lit(k), one_sec, lit("5"), I80F48::ZERO);
                greeks(&i).unwrap();
            }
        }
        // Bad inputs are typed errors.
        let bad = BsmInputs::black76(Call, I80F48::ZERO, lit("1"), lit("1"), lit("1"), I80F48::ZERO);
        assert_eq!(price(&bad).unwrap_err(), MathErrorKind::InvalidParameter);
        let bad = BsmInputs::black76(Call, lit("1"), lit("1"), lit("-1"), lit("1"), I80F48::ZERO);
        assert_eq!(greeks(&bad).unwrap_err(), MathErrorKind::InvalidParameter);
        assert_eq!(years_from_seconds(-5).unwrap_err(), MathErrorKind::OutOfDomain);
        // A rate so large that discounting overflows is an error, not a wrap.
        let huge = BsmInputs::black_scholes(Call, lit("1"), lit("1"), lit("100"), lit("1"), lit("-1"));
        assert_eq!(price(&huge).unwrap_err(), MathErrorKind::Overflow);
    }
}
