//! Monte Carlo VaR with full revaluation, fast: every option is repriced in every scenario, exactly as
//! [`super::risk::monte_carlo_var`] does, but in a scenario-major loop that compilers vectorise.
//!
//! What makes it fast without approximating the model:
//! - scenarios are kept as log-spot and log-vol shocks, so ln(S') needs no logarithm per evaluation;
//! - per-option constants (ln K, √T', discount factors) are hoisted out of the scenario loop;
//! - e^{x} and e^{-y} depend only on the scenario and are computed once per scenario, not per option; divisions
//!   become multiplications, and the two Hart ratios share one division;
//! - the kernel is branch-free and libm-free: a polynomial `exp` (error < 2 ulp) and Hart's rational N(x) with
//!   the far tail (|x| > 7.07, where N < 8e-13) selected to exactly 0 or 1, so the loop vectorises;
//! - on x86-64 with AVX-512 (or AVX2 + FMA) the same kernel is compiled for that target and chosen at run time.
//!
//! Agreement with the scalar full revaluation is tested to 1e-12 of the book notional.
use super::risk::{tail_count, var_es_from_pnl, var_es_from_sorted, McParams, Portfolio, VarEs};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Scenario shocks in log space: spot' = spot·e^{x}, vol' = vol·e^{y}.
#[derive(Clone, Debug, Default)]
pub struct LogScenarios {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// Independent standard normal pairs, drawn once (a live keeper draws at start-up and rescales every cycle).
#[derive(Clone, Debug, Default)]
pub struct NormalDraws {
    pub z1: Vec<f64>,
    pub z2: Vec<f64>,
}

impl NormalDraws {
    /// The same draws, in the same order, as [`super::risk::mc_scenarios`] with this seed.
    pub fn new(scenarios: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut d = NormalDraws { z1: Vec::with_capacity(scenarios), z2: Vec::with_capacity(scenarios) };
        for _ in 0..scenarios {
            d.z1.push(StandardNormal.sample(&mut rng));
            d.z2.push(StandardNormal.sample(&mut rng));
        }
        d
    }

    /// Log shocks for the current volatility, vol-of-vol and correlation (cheap: two FMAs per scenario).
    pub fn scale(&self, m: &McParams) -> LogScenarios {
        let sh = m.horizon.sqrt();
        let c = m.spot_vol_corr;
        let c2 = (1.0 - c * c).max(0.0).sqrt();
        let (dx, dy) = (0.5 * m.vol * m.vol * m.horizon, 0.5 * m.vol_of_vol * m.vol_of_vol * m.horizon);
        LogScenarios {
            x: self.z1.iter().map(|z| m.vol * sh * z - dx).collect(),
            y: self.z1.iter().zip(&self.z2).map(|(a, b)| m.vol_of_vol * sh * (c * a + c2 * b) - dy).collect(),
        }
    }
}

/// The same scenarios as [`super::risk::mc_scenarios`] (same seed, same draws), in log form.
pub fn log_scenarios(m: &McParams) -> LogScenarios {
    NormalDraws::new(m.scenarios, m.seed).scale(m)
}

/// e^x for x in [-708, 709] without a libm call: x = k ln2 + r, |r| <= ln2/2, degree-12 Taylor on r, 2^k by
/// exponent bits. Relative error < 2 ulp; arguments below -708 return 0.
#[inline(always)]
pub(crate) fn exp_poly(x: f64) -> f64 {
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding 1.5·2^52 rounds x·log2(e) to the nearest integer k (ties to even) and leaves k in the low mantissa
    // bits: no float-to-int conversion or libm round, so the function vectorises.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let shifted = x * std::f64::consts::LOG2_E + SHIFTER;
    let k = shifted - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Horner on 1/n!, n = 12..0.
    let mut p = 1.0 / 479_001_600.0;
    for c in [
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // k is an integer in [-1022, 1023] here, so the biased exponent k + 1023 is in range; the low 11 bits of the
    // shifted value's mantissa hold k in two's complement.
    let bits = (shifted.to_bits().wrapping_add(1023) & 0x7ff) << 52;
    p * f64::from_bits(bits)
}

/// Beyond this |x| Hart's form is not used: N(-|x|) < 8e-13 there and the kernel sets the tail to exactly 0.
const HART_SWITCH: f64 = 7.071_067_811_865_47;

/// Hart's polynomials at |x| clamped to the switch point (branch-free; the caller zeroes the far tail).
#[inline(always)]
pub(crate) fn hart_pq(x: f64) -> (f64, f64) {
    super::normal::hart_pq(x.abs().min(HART_SWITCH))
}

/// (N(x), N(-x)) from the lower tail value (0 beyond the switch point).
#[inline(always)]
pub(crate) fn pair_from_tail(x: f64, tail: f64) -> (f64, f64) {
    let tail = if x.abs() > HART_SWITCH { 0.0 } else { tail };
    if x > 0.0 {
        (1.0 - tail, tail)
    } else {
        (tail, 1.0 - tail)
    }
}

/// Per-option constants hoisted out of the scenario loop.
struct Leg {
    size: f64,
    is_call: bool,
    /// ln S0 + (spot ratio) - ln K + b T'.
    m0: f64,
    /// S0 e^{(b-r)T'} and K e^{-rT'}.
    s_leg: f64,
    k_leg: f64,
    /// e^{bT'} · S0 / K, so kernel2 = kernel1 · ratio · e^{x}.
    ratio: f64,
    vol_sqrt_t: f64,
    base: f64,
    expired: bool,
}

fn legs(p: &Portfolio, horizon: f64) -> Vec<Leg> {
    p.options
        .options
        .iter()
        .zip(&p.options.sizes)
        .map(|(o, q)| {
            let t = (o.t - horizon).max(0.0);
            let s0 = o.spot;
            Leg {
                size: *q,
                is_call: o.kind == super::bs::OptionKind::Call,
                m0: (s0 / o.strike).ln() + o.carry * t,
                s_leg: s0 * ((o.carry - o.rate) * t).exp(),
                k_leg: o.strike * (-o.rate * t).exp(),
                ratio: (s0 / o.strike) * (o.carry * t).exp(),
                vol_sqrt_t: o.vol * t.sqrt(),
                base: super::bs::price(o),
                expired: o.vol * t.sqrt() < super::bs::MIN_TOTAL_VOL,
            }
        })
        .collect()
}

/// Per-scenario quantities shared by every option: e^{x} and e^{-y}.
struct ScenarioTerms {
    x: Vec<f64>,
    ex: Vec<f64>,
    inv_ey: Vec<f64>,
}

fn scenario_terms(sc: &LogScenarios) -> ScenarioTerms {
    ScenarioTerms {
        x: sc.x.clone(),
        ex: sc.x.iter().map(|x| exp_poly(*x)).collect(),
        inv_ey: sc.y.iter().map(|y| exp_poly(-*y)).collect(),
    }
}

/// pnl[s] += size · (price in scenario s − base) for one leg. The hot loop: one exp and one division per
/// evaluation (the two Hart ratios share a denominator product).
#[inline(always)]
fn accumulate_leg(leg: &Leg, st: &ScenarioTerms, pnl: &mut [f64]) {
    let n = pnl.len().min(st.x.len());
    let (x, ex, inv_ey, pnl) = (&st.x[..n], &st.ex[..n], &st.inv_ey[..n], &mut pnl[..n]);
    let inv_vol = 1.0 / leg.vol_sqrt_t;
    for i in 0..n {
        let inv_v = inv_vol * inv_ey[i];
        let v = 1.0 / inv_v;
        let d1 = (leg.m0 + x[i]) * inv_v + 0.5 * v;
        let d2 = d1 - v;
        let k1 = exp_poly(-0.5 * d1 * d1);
        let k2 = k1 * leg.ratio * ex[i];
        let (p1, q1) = hart_pq(d1);
        let (p2, q2) = hart_pq(d2);
        let inv_qq = 1.0 / (q1 * q2);
        let (n1, nm1) = pair_from_tail(d1, k1 * p1 * q2 * inv_qq);
        let (n2, nm2) = pair_from_tail(d2, k2 * p2 * q1 * inv_qq);
        let s = leg.s_leg * ex[i];
        let price = if leg.is_call { s * n1 - leg.k_leg * n2 } else { leg.k_leg * nm2 - s * nm1 };
        pnl[i] += leg.size * (price.max(0.0) - leg.base);
    }
}

#[inline(always)]
fn accumulate_all(legs: &[Leg], st: &ScenarioTerms, pnl: &mut [f64]) {
    for leg in legs {
        accumulate_leg(leg, st, pnl);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
unsafe fn accumulate_all_avx512(legs: &[Leg], st: &ScenarioTerms, pnl: &mut [f64]) {
    accumulate_all(legs, st, pnl)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_all_avx2(legs: &[Leg], st: &ScenarioTerms, pnl: &mut [f64]) {
    accumulate_all(legs, st, pnl)
}

/// Scenario P&L of the whole book (options by full revaluation, plus the linear leg), time decay included.
pub fn scenario_pnl(p: &Portfolio, sc: &LogScenarios, horizon: f64) -> Vec<f64> {
    let legs = legs(p, horizon);
    let mut pnl: Vec<f64> = sc.x.iter().map(|x| p.linear * p.spot * x.exp_m1()).collect();
    // Expired-by-horizon legs are rare; they take the scalar path so the vector kernel stays branch-free.
    let (live, expired): (Vec<Leg>, Vec<Leg>) = legs.into_iter().partition(|l| !l.expired);
    let st = scenario_terms(sc);
    #[cfg(target_arch = "x86_64")]
    {
        let isa = std::env::var("KEEL_MC_ISA").unwrap_or_default();
        if isa == "scalar" {
            accumulate_all(&live, &st, &mut pnl);
        } else if isa != "avx2"
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the features the function is compiled for were just detected on this CPU.
            unsafe { accumulate_all_avx512(&live, &st, &mut pnl) };
        } else if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            unsafe { accumulate_all_avx2(&live, &st, &mut pnl) };
        } else {
            accumulate_all(&live, &st, &mut pnl);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    accumulate_all(&live, &st, &mut pnl);
    for leg in &expired {
        for (i, x) in sc.x.iter().enumerate() {
            let s = leg.s_leg * x.exp();
            let intrinsic = if leg.is_call { (s - leg.k_leg).max(0.0) } else { (leg.k_leg - s).max(0.0) };
            pnl[i] += leg.size * (intrinsic - leg.base);
        }
    }
    pnl
}

/// Monte Carlo VaR/ES with full revaluation on the vectorised kernel.
pub fn monte_carlo_var_fast(p: &Portfolio, m: &McParams) -> VarEs {
    let sc = log_scenarios(m);
    let mut pnl = scenario_pnl(p, &sc, m.horizon);
    var_es_from_pnl(&mut pnl, m.alpha)
}

/// Book-level second-order sensitivities to a log-spot shock x and a relative vol shock ε = e^{y} - 1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProxyGreeks {
    pub delta: f64,
    pub gamma: f64,
    /// Σ q·vega·σ (per unit relative vol shock), Σ q·volga·σ², Σ q·vanna·σ.
    pub vega_rel: f64,
    pub volga_rel: f64,
    pub vanna_rel: f64,
    pub theta: f64,
}

/// Sensitivities for the screening proxy (options plus the linear leg).
pub fn proxy_greeks(p: &Portfolio) -> ProxyGreeks {
    let mut g = ProxyGreeks { delta: p.linear, ..Default::default() };
    for (o, q) in p.options.options.iter().zip(&p.options.sizes) {
        let b = super::bs::greeks(o);
        g.delta += q * b.delta;
        g.gamma += q * b.gamma;
        g.theta += q * b.theta;
        g.vega_rel += q * b.vega * o.vol;
        let v = o.vol * o.t.sqrt();
        if v >= super::bs::MIN_TOTAL_VOL {
            let d1 = ((o.spot / o.strike).ln() + o.carry * o.t) / v + 0.5 * v;
            let d2 = d1 - v;
            // volga = vega d1 d2 / σ; vanna = -e^{(b-r)T} φ(d1) d2 / σ = -vega d2 / (S σ √T).
            g.volga_rel += q * b.vega * d1 * d2 * o.vol;
            g.vanna_rel += q * (-b.vega * d2 / (o.spot * v)) * o.vol;
        }
    }
    g
}

/// Proxy P&L of one scenario: Taylor expansion in dS and ε, plus time decay.
#[inline]
pub fn proxy_pnl(g: &ProxyGreeks, spot: f64, x: f64, y: f64, horizon: f64) -> f64 {
    let ds = spot * x.exp_m1();
    let eps = y.exp_m1();
    g.delta * ds
        + 0.5 * g.gamma * ds * ds
        + g.vega_rel * eps
        + 0.5 * g.volga_rel * eps * eps
        + g.vanna_rel * ds * eps
        + g.theta * horizon
}

/// How a screened run went.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ScreenStats {
    /// Scenarios fully revalued in the final round.
    pub revalued: usize,
    pub rounds: usize,
    /// Largest |full - proxy| among revalued scenarios.
    pub proxy_error: f64,
}

/// Monte Carlo VaR/ES equal to the full revaluation of every scenario, computed by fully revaluing only the
/// scenarios that can be in the tail.
///
/// 1. Rank every scenario by the proxy P&L (O(1) per scenario at book level).
/// 2. Fully revalue the worst K by proxy (K starts at 5x the tail size) and take the tail among them.
/// 3. Accept only if no other scenario can reach the tail: every unrevalued scenario has proxy P&L >= the K-th
///    worst proxy value P_K, and proxy errors grow with the size of the move, so the largest error seen among
///    the (more extreme) candidates, E, bounds theirs; the check is P_K - 2E > the tail threshold. Otherwise K
///    doubles, up to every scenario (then the result is the exhaustive one by construction).
pub fn monte_carlo_var_screened(p: &Portfolio, sc: &LogScenarios, horizon: f64, alpha: f64) -> (VarEs, ScreenStats) {
    let n = sc.x.len();
    assert!(n > 0 && alpha > 0.0 && alpha < 1.0, "need scenarios and 0 < alpha < 1");
    let g = proxy_greeks(p);
    let proxy: Vec<f64> = sc.x.iter().zip(&sc.y).map(|(x, y)| proxy_pnl(&g, p.spot, *x, *y, horizon)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    let tail = tail_count(n, alpha);
    let mut k = (5 * tail).min(n);
    let mut rounds = 0;
    loop {
        rounds += 1;
        // Partition (O(n), no full sort): the k worst proxies first, the (k+1)-th worst at position k.
        if k < n {
            order.select_nth_unstable_by(k, |a, b| proxy[*a].total_cmp(&proxy[*b]));
        }
        let idx = &order[..k];
        let sub = LogScenarios { x: idx.iter().map(|i| sc.x[*i]).collect(), y: idx.iter().map(|i| sc.y[*i]).collect() };
        let full = scenario_pnl(p, &sub, horizon);
        let proxy_error = idx.iter().zip(&full).map(|(i, f)| (f - proxy[*i]).abs()).fold(0.0, f64::max);
        let mut sorted = full.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let threshold = sorted[tail.min(k) - 1];
        // Every scenario outside the candidates has a proxy P&L >= the (k+1)-th worst.
        let cutoff = if k < n { proxy[order[k]] } else { f64::INFINITY };
        if k == n || cutoff - 2.0 * proxy_error > threshold {
            let r = var_es_from_sorted(&sorted, tail);
            return (r, ScreenStats { revalued: k, rounds, proxy_error });
        }
        k = (2 * k).min(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::fixtures::sample_book;
    use crate::quant::risk::{mc_scenarios, monte_carlo_var};

    #[test]
    fn exp_poly_is_accurate() {
        for i in -7000..7000 {
            let x = f64::from(i) / 10.0;
            let (got, want) = (exp_poly(x), x.exp());
            assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "exp({x}): {got} vs {want}");
        }
    }

    #[test]
    fn matches_scalar_full_revaluation() {
        let p = sample_book(200, 150.0);
        let m = McParams {
            scenarios: 4000,
            horizon: 1.0 / 365.0,
            vol: 0.9,
            vol_of_vol: 1.5,
            spot_vol_corr: -0.5,
            alpha: 0.99,
            seed: 11,
        };
        let sc = log_scenarios(&m);
        let fast = scenario_pnl(&p, &sc, m.horizon);
        let base = p.options_value();
        let notional: f64 = p.options.sizes.iter().map(|q| q.abs()).sum::<f64>() * p.spot;
        for (i, (s, v)) in mc_scenarios(&m).iter().enumerate() {
            let slow = p.revalue_pnl(p.spot * s, *v, m.horizon, base);
            assert!((fast[i] - slow).abs() <= 1e-12 * notional, "scenario {i}: {} vs {slow}", fast[i]);
        }
        let (a, b) = (monte_carlo_var_fast(&p, &m), monte_carlo_var(&p, &m));
        assert!((a.var - b.var).abs() <= 1e-12 * notional && (a.es - b.es).abs() <= 1e-12 * notional);
    }

    /// The screened result equals the exhaustive one (same tail scenarios, same numbers) across books and
    /// market regimes, including a long-gamma book, a calm market and a violent one.
    #[test]
    fn screening_equals_exhaustive_full_revaluation() {
        for (seed, vol, vov, corr, sign) in
            [(1, 0.9, 1.5, -0.5, 1.0), (2, 0.3, 0.0, 0.0, 1.0), (3, 2.5, 3.0, 0.7, -1.0)]
        {
            let mut p = sample_book(200, 150.0);
            for q in &mut p.options.sizes {
                *q *= sign;
            }
            let m = McParams {
                scenarios: 10_000,
                horizon: 1.0 / 365.0,
                vol,
                vol_of_vol: vov,
                spot_vol_corr: corr,
                alpha: 0.99,
                seed,
            };
            let sc = log_scenarios(&m);
            let mut all = scenario_pnl(&p, &sc, m.horizon);
            let exhaustive = var_es_from_pnl(&mut all, m.alpha);
            let (screened, stats) = monte_carlo_var_screened(&p, &sc, m.horizon, m.alpha);
            assert_eq!(screened.var, exhaustive.var, "seed {seed}: {stats:?}");
            assert!((screened.es - exhaustive.es).abs() <= 1e-9 * exhaustive.es.abs(), "seed {seed}");
            assert!(stats.revalued < m.scenarios, "seed {seed}: screening never engaged ({stats:?})");
        }
    }
}
