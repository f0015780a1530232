//! Portfolio risk in f64: greeks, scenario risk arrays, VaR and expected shortfall (parametric delta-gamma,
//! historical simulation, Monte Carlo full revaluation), and the inputs a rebalance decision needs.
//!
//! Conventions: a book is a list of options on one underlying plus a linear (perp) position; P&L is in quote
//! currency; VaR and ES are positive numbers (losses) at confidence `alpha` (e.g. 0.99) over a horizon in years.
use super::bs::{self, Book, Greeks, OptionInputs};
use super::normal;

/// A book: options plus a linear position (perp/forward units, delta 1 each).
#[derive(Clone, Debug, Default)]
pub struct Portfolio {
    pub options: Book,
    pub linear: f64,
    pub spot: f64,
}

impl Portfolio {
    /// Size-weighted greeks including the linear leg's delta.
    pub fn greeks(&self) -> Greeks {
        let mut g = bs::book_greeks(&self.options);
        g.delta += self.linear;
        g
    }

    /// Value change when spot moves to `spot`, implied vols scale by `vol_mult` and `dt` years pass.
    pub fn revalue_pnl(&self, spot: f64, vol_mult: f64, dt: f64, base_value: f64) -> f64 {
        let mut v = 0.0;
        for (o, q) in self.options.options.iter().zip(&self.options.sizes) {
            let shocked =
                OptionInputs { spot: spot * (o.spot / self.spot), vol: o.vol * vol_mult, t: (o.t - dt).max(0.0), ..*o };
            v += q * bs::price(&shocked);
        }
        v - base_value + self.linear * (spot - self.spot)
    }

    pub fn options_value(&self) -> f64 {
        self.options.options.iter().zip(&self.options.sizes).map(|(o, q)| q * bs::price(o)).sum()
    }
}

/// f64 twin of `keel_math::risk::option_risk_array` (same layout: out[i * n_vol + j]).
pub fn option_risk_array(o: &OptionInputs, spot_shocks: &[f64], vol_shocks: &[f64], out: &mut [f64]) {
    assert_eq!(out.len(), spot_shocks.len() * vol_shocks.len(), "risk array shape");
    let base = bs::price(o);
    let nv = vol_shocks.len();
    for (i, ds) in spot_shocks.iter().enumerate() {
        for (j, dv) in vol_shocks.iter().enumerate() {
            let shocked = OptionInputs { spot: o.spot * (1.0 + ds), vol: o.vol * (1.0 + dv), ..*o };
            out[i * nv + j] = bs::price(&shocked) - base;
        }
    }
}

/// The 7 x 2 SPAN grid of keel-math in f64.
pub fn span_grid(spot_range: f64, vol_range: f64) -> ([f64; 7], [f64; 2]) {
    let third = spot_range / 3.0;
    let two = spot_range - third;
    ([-spot_range, -two, -third, 0.0, third, two, spot_range], [vol_range, -vol_range])
}

/// VaR and expected shortfall (both positive = loss).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct VarEs {
    pub var: f64,
    pub es: f64,
}

/// Number of tail observations for confidence `alpha` in a sample of `n`: ceil(n (1 - alpha)), at least one.
/// The small epsilon keeps (1 - 0.95) x 100 = 5.000000000000004 from rounding up to 6.
pub fn tail_count(n: usize, alpha: f64) -> usize {
    (((1.0 - alpha) * n as f64 - 1e-9).ceil() as usize).clamp(1, n)
}

/// VaR/ES from a sample sorted ascending whose `tail` worst values are first: VaR is the `tail`-th worst loss, ES
/// the mean of the losses at or beyond it.
pub fn var_es_from_sorted(sorted: &[f64], tail: usize) -> VarEs {
    let var = -sorted[tail - 1];
    let es = -sorted[..tail].iter().sum::<f64>() / tail as f64;
    VarEs { var, es }
}

/// VaR/ES of an empirical P&L sample (sorted in place).
pub fn var_es_from_pnl(pnl: &mut [f64], alpha: f64) -> VarEs {
    assert!(!pnl.is_empty() && alpha > 0.0 && alpha < 1.0, "need a sample and 0 < alpha < 1");
    pnl.sort_by(f64::total_cmp);
    var_es_from_sorted(pnl, tail_count(pnl.len(), alpha))
}

/// Parametric delta-gamma VaR/ES: P&L ≈ Δ dS + ½ Γ dS² with dS = S σ √h Z, using the exact first three moments
/// and a Cornish-Fisher quantile (ES by averaging Cornish-Fisher quantiles across the tail).
pub fn delta_gamma_var(delta: f64, gamma: f64, spot: f64, vol: f64, horizon: f64, alpha: f64) -> VarEs {
    let a = delta * spot * vol * horizon.sqrt();
    let b = 0.5 * gamma * spot * spot * vol * vol * horizon;
    // X = aZ + bZ²: mean b, variance a² + 2b², third central moment 6a²b + 8b³.
    let mean = b;
    let var = a * a + 2.0 * b * b;
    if var <= 0.0 {
        return VarEs { var: -mean, es: -mean };
    }
    let sd = var.sqrt();
    let skew = (6.0 * a * a * b + 8.0 * b * b * b) / (var * sd);
    let q = |p: f64| {
        let z = normal::inv_cdf(p);
        mean + sd * (z + (z * z - 1.0) * skew / 6.0)
    };
    let var_q = -q(1.0 - alpha);
    // ES: average of the quantile function over (0, 1 - alpha), midpoint rule on 200 cells.
    let cells = 200;
    let width = (1.0 - alpha) / cells as f64;
    let es = -(0..cells).map(|i| q(width * (i as f64 + 0.5))).sum::<f64>() / cells as f64;
    VarEs { var: var_q, es }
}

/// Historical simulation: full revaluation at spot x e^{r} for each historical horizon return r.
pub fn historical_var(p: &Portfolio, returns: &[f64], horizon: f64, alpha: f64) -> VarEs {
    let base = p.options_value();
    let mut pnl: Vec<f64> = returns.iter().map(|r| p.revalue_pnl(p.spot * r.exp(), 1.0, horizon, base)).collect();
    var_es_from_pnl(&mut pnl, alpha)
}

/// Monte Carlo parameters: lognormal spot with volatility `vol`, optional lognormal vol-of-vol shock correlated
/// with spot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McParams {
    pub scenarios: usize,
    pub horizon: f64,
    pub vol: f64,
    pub vol_of_vol: f64,
    pub spot_vol_corr: f64,
    pub alpha: f64,
    pub seed: u64,
}

/// Spot and vol multipliers of each scenario, reproducible from the seed (ChaCha8, stable across platforms).
/// The draws are [`super::mc::NormalDraws`], so the scalar and vectorised engines see identical scenarios.
pub fn mc_scenarios(m: &McParams) -> Vec<(f64, f64)> {
    let sc = super::mc::log_scenarios(m);
    sc.x.iter().zip(&sc.y).map(|(x, y)| (x.exp(), y.exp())).collect()
}

/// Monte Carlo VaR/ES with full revaluation of every option in every scenario.
pub fn monte_carlo_var(p: &Portfolio, m: &McParams) -> VarEs {
    let base = p.options_value();
    let mut pnl: Vec<f64> =
        mc_scenarios(m).iter().map(|(s, v)| p.revalue_pnl(p.spot * s, *v, m.horizon, base)).collect();
    var_es_from_pnl(&mut pnl, m.alpha)
}

/// What a rebalance decision needs, computed in one pass.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct DecisionInputs {
    pub greeks: Greeks,
    /// Worst loss over the 7 x 2 SPAN grid.
    pub scenario_loss: f64,
    /// Whalley-Wilmott delta band half-width h = (3 c S Γ² / (2 λ))^(1/3).
    pub ww_half_width: f64,
    /// Delta minus the target.
    pub delta_deviation: f64,
}

/// Greeks, scenario loss and the Whalley-Wilmott band for a portfolio.
/// `cost` is the proportional trading cost c, `risk_aversion` is λ.
pub fn decision_inputs(
    p: &Portfolio,
    target_delta: f64,
    cost: f64,
    risk_aversion: f64,
    grid: (&[f64], &[f64]),
) -> DecisionInputs {
    let g = p.greeks();
    let n = grid.0.len() * grid.1.len();
    let mut book = vec![0.0; n];
    let mut one = vec![0.0; n];
    for (o, q) in p.options.options.iter().zip(&p.options.sizes) {
        option_risk_array(o, grid.0, grid.1, &mut one);
        for (b, x) in book.iter_mut().zip(&one) {
            *b += q * x;
        }
    }
    for (i, ds) in grid.0.iter().enumerate() {
        for b in &mut book[i * grid.1.len()..(i + 1) * grid.1.len()] {
            *b += p.linear * p.spot * ds;
        }
    }
    let worst = book.iter().copied().fold(0.0f64, f64::min);
    let ww = (3.0 * cost * p.spot * g.gamma * g.gamma / (2.0 * risk_aversion)).cbrt();
    DecisionInputs { greeks: g, scenario_loss: -worst, ww_half_width: ww, delta_deviation: g.delta - target_delta }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::bs::OptionKind;
    use fixed::types::I80F48;

    fn straddle() -> Portfolio {
        let mut book = Book::default();
        let c = OptionInputs::black76(OptionKind::Call, 100.0, 100.0, 0.25, 0.6, 0.0);
        book.push(c, -10.0);
        book.push(OptionInputs { kind: OptionKind::Put, ..c }, -10.0);
        Portfolio { options: book, linear: 0.0, spot: 100.0 }
    }

    #[test]
    fn risk_array_agrees_with_keel_math_within_fixed_point_bounds() {
        let (spots, vols) = span_grid(0.15, 0.3);
        let (fs, fv) = keel_math::risk::span_grid(I80F48::from_num(0.15), I80F48::from_num(0.3));
        for (kind, s, k, t, vol) in [
            (OptionKind::Call, 100.0, 100.0, 0.25, 0.6),
            (OptionKind::Put, 25_000.0, 20_000.0, 0.05, 1.2),
            (OptionKind::Call, 0.5, 1.0, 2.0, 0.3),
        ] {
            let o = OptionInputs::black76(kind, s, k, t, vol, 0.0);
            let mut ours = [0.0; 14];
            option_risk_array(&o, &spots, &vols, &mut ours);
            let fx = keel_math::BsmInputs::black76(
                kind,
                I80F48::from_num(s),
                I80F48::from_num(k),
                I80F48::from_num(t),
                I80F48::from_num(vol),
                I80F48::ZERO,
            );
            let mut fixed_arr = [I80F48::ZERO; 14];
            keel_math::risk::option_risk_array(&fx, &fs, &fv, &mut fixed_arr).unwrap();
            for (a, b) in ours.iter().zip(&fixed_arr) {
                // keel-math's documented bound is 2.5e-9 x spot; shocks are I80F48-rounded, within 1e-15.
                assert!((a - b.to_num::<f64>()).abs() <= 2.5e-9 * s, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn empirical_var_es_on_a_known_sample() {
        let mut pnl: Vec<f64> = (1..=100).map(|i| f64::from(i) - 51.0).collect(); // -50..=49
        let r = var_es_from_pnl(&mut pnl, 0.95);
        assert_eq!(r.var, 46.0); // 5th worst is -46
        assert_eq!(r.es, 48.0); // mean of -50..-46
    }

    #[test]
    fn delta_gamma_matches_normal_var_for_a_linear_book() {
        // Pure delta: VaR = Δ S σ √h z_α.
        let r = delta_gamma_var(10.0, 0.0, 100.0, 0.8, 1.0 / 365.0, 0.99);
        let want = 10.0 * 100.0 * 0.8 * (1.0f64 / 365.0).sqrt() * 2.326_347_874_040_841;
        assert!((r.var - want).abs() < 1e-9 * want);
        assert!(r.es > r.var);
    }

    #[test]
    fn monte_carlo_is_seeded_and_agrees_with_delta_gamma_for_short_horizons() {
        let p = straddle();
        let g = p.greeks();
        let m = McParams {
            scenarios: 200_000,
            horizon: 1.0 / 365.0,
            vol: 0.6,
            vol_of_vol: 0.0,
            spot_vol_corr: 0.0,
            alpha: 0.99,
            seed: 7,
        };
        let mc = monte_carlo_var(&p, &m);
        assert_eq!(mc, monte_carlo_var(&p, &m), "same seed, same answer");
        let dg = delta_gamma_var(g.delta, g.gamma, 100.0, 0.6, m.horizon, 0.99);
        // Short gamma loses on moves both ways; over one day the quadratic approximation is close (theta
        // is included in MC revaluation, not in delta-gamma: it helps the short, so MC VaR is lower).
        assert!(mc.var > 0.0 && dg.var > 0.0);
        assert!((mc.var - dg.var).abs() / dg.var < 0.15, "mc {mc:?} dg {dg:?}");
    }

    #[test]
    fn decision_inputs_of_a_short_straddle() {
        let p = straddle();
        let (s, v) = span_grid(0.15, 0.3);
        let d = decision_inputs(&p, 0.0, 0.001, 1.0, (&s, &v));
        assert!(d.greeks.gamma < 0.0 && d.scenario_loss > 0.0 && d.ww_half_width > 0.0);
        assert_eq!(d.delta_deviation, d.greeks.delta);
    }
}
