//! Raw SVI slices and surfaces: calibration to market implied vols, arbitrage checks, interpolation.
//!
//! Calibration per expiry follows the quasi-explicit method of Zeliade Systems (2009): with y = (k - m)/σ the
//! total variance a + d·y + c·√(y² + 1) is linear in (a, d, c) for fixed (m, σ), so the inner weighted least
//! squares is solved exactly and Nelder-Mead searches only (m, σ). Raw parameters are b = c/σ, ρ = d/c. The inner
//! solution is projected onto Lee's wing bound and |ρ| < 1 (0 <= c <= 4σ, |d| <= min(c, 4σ - c)) and the outer
//! objective carries a penalty on Gatheral's density factor g(k) < 0, so the result is free of butterfly arbitrage
//! on the check grid; `calibrate` returns an error if it still is not.
use super::bs::{greeks, OptionInputs, OptionKind};
use fixed::types::I80F48;
use keel_math::SviRaw;
use thiserror::Error;

/// Raw SVI parameters in f64.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Svi {
    pub a: f64,
    pub b: f64,
    pub rho: f64,
    pub m: f64,
    pub sigma: f64,
}

impl Svi {
    pub fn total_variance(&self, k: f64) -> f64 {
        let x = k - self.m;
        self.a + self.b * (self.rho * x + (x * x + self.sigma * self.sigma).sqrt())
    }

    pub fn implied_vol(&self, k: f64, t: f64) -> f64 {
        (self.total_variance(k).max(0.0) / t).sqrt()
    }

    /// Gatheral's density factor g(k); the slice is butterfly-free where g >= 0.
    pub fn density_factor(&self, k: f64) -> f64 {
        let x = k - self.m;
        let q = x * x + self.sigma * self.sigma;
        let root = q.sqrt();
        let w = self.a + self.b * (self.rho * x + root);
        if w <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let w1 = self.b * (self.rho + x / root);
        let w2 = self.b * self.sigma * self.sigma / (q * root);
        let t1 = 1.0 - k * w1 / (2.0 * w);
        t1 * t1 - w1 * w1 / 4.0 * (1.0 / w + 0.25) + w2 / 2.0
    }

    pub fn is_valid(&self) -> bool {
        self.b >= 0.0
            && self.rho.abs() < 1.0
            && self.sigma > 0.0
            && self.a + self.b * self.sigma * (1.0 - self.rho * self.rho).sqrt() >= 0.0
    }

    pub fn is_butterfly_free(&self, grid: &[f64]) -> bool {
        self.is_valid() && grid.iter().all(|k| self.density_factor(*k) >= 0.0)
    }

    /// The on-chain representation (what a vol authority posts to the venue).
    pub fn to_fixed(&self) -> SviRaw {
        let f = I80F48::from_num;
        SviRaw { a: f(self.a), b: f(self.b), rho: f(self.rho), m: f(self.m), sigma: f(self.sigma) }
    }
}

/// One market point of a slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlicePoint {
    /// ln(K/F).
    pub k: f64,
    /// Market implied volatility.
    pub iv: f64,
    /// Least-squares weight of this point's implied-vol residual (1.0 for a plain IV fit; e.g. 1/spread²).
    pub weight: f64,
}

/// A calibrated expiry slice and its fit quality.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceFit {
    pub t: f64,
    pub params: Svi,
    /// Root-mean-square IV error in vol points (1 vol point = 0.01).
    pub rmse_vol_points: f64,
    pub max_abs_error_vol_points: f64,
    pub points: usize,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum SviError {
    #[error("a slice needs at least 5 points with positive weight, got {0}")]
    TooFewPoints(usize),
    #[error("expiry must be positive, got {0}")]
    BadExpiry(f64),
    #[error("calibrated slice at t = {t} still has butterfly arbitrage (min g = {min_g:e})")]
    Arbitrage { t: f64, min_g: f64 },
}

/// The k grid on which butterfly arbitrage is checked: ±`width` in 161 steps (also used by the venue).
pub fn check_grid(width: f64) -> Vec<f64> {
    (0..=160).map(|i| -width + 2.0 * width * f64::from(i) / 160.0).collect()
}

/// Weighted least squares of w = a + d y + c √(y²+1) for fixed (m, σ), projected onto the feasible set.
fn inner_fit(points: &[(f64, f64, f64)], m: f64, sigma: f64, w_max: f64) -> (f64, f64, f64) {
    // Normal equations for the 3 unknowns.
    let mut ata = [[0.0f64; 3]; 3];
    let mut atb = [0.0f64; 3];
    for &(k, w, om) in points {
        let y = (k - m) / sigma;
        let z = (y * y + 1.0).sqrt();
        let row = [1.0, y, z];
        for i in 0..3 {
            atb[i] += om * row[i] * w;
            for j in 0..3 {
                ata[i][j] += om * row[i] * row[j];
            }
        }
    }
    let (mut a, mut d, mut c) = solve3(ata, atb).unwrap_or((w_max / 2.0, 0.0, 0.0));
    // Project: 0 <= c <= 4σ, |d| <= min(c, 4σ - c); then refit a alone and keep it in [0, w_max].
    c = c.clamp(0.0, 4.0 * sigma);
    let dmax = c.min(4.0 * sigma - c) * (1.0 - 1e-9);
    let projected = d.abs() > dmax;
    d = d.clamp(-dmax, dmax);
    if projected || !(0.0..=w_max).contains(&a) {
        let (mut num, mut den) = (0.0, 0.0);
        for &(k, w, om) in points {
            let y = (k - m) / sigma;
            num += om * (w - d * y - c * (y * y + 1.0).sqrt());
            den += om;
        }
        a = num / den;
    }
    (a.clamp(0.0, w_max), d, c)
}

fn solve3(m: [[f64; 3]; 3], b: [f64; 3]) -> Option<(f64, f64, f64)> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-300 {
        return None;
    }
    let mut out = [0.0; 3];
    for (col, o) in out.iter_mut().enumerate() {
        let mut mc = m;
        for row in 0..3 {
            mc[row][col] = b[row];
        }
        *o = det(&mc) / d;
    }
    Some((out[0], out[1], out[2]))
}

/// Minimises f over 2 parameters with Nelder-Mead (standard coefficients); returns the best point.
fn nelder_mead(f: &dyn Fn([f64; 2]) -> f64, start: [f64; 2], step: [f64; 2], iters: usize) -> [f64; 2] {
    let mut simplex = [start, [start[0] + step[0], start[1]], [start[0], start[1] + step[1]]];
    let mut vals = simplex.map(f);
    for _ in 0..iters {
        let mut idx = [0, 1, 2];
        idx.sort_by(|a, b| vals[*a].total_cmp(&vals[*b]));
        let (best, mid, worst) = (idx[0], idx[1], idx[2]);
        if (vals[worst] - vals[best]).abs() <= 1e-16 * vals[best].abs().max(1e-30) {
            break;
        }
        let centroid = [(simplex[best][0] + simplex[mid][0]) / 2.0, (simplex[best][1] + simplex[mid][1]) / 2.0];
        let along = |t: f64| {
            [centroid[0] + t * (simplex[worst][0] - centroid[0]), centroid[1] + t * (simplex[worst][1] - centroid[1])]
        };
        let refl = along(-1.0);
        let fr = f(refl);
        if fr < vals[best] {
            let exp = along(-2.0);
            let fe = f(exp);
            if fe < fr {
                (simplex[worst], vals[worst]) = (exp, fe);
            } else {
                (simplex[worst], vals[worst]) = (refl, fr);
            }
        } else if fr < vals[mid] {
            (simplex[worst], vals[worst]) = (refl, fr);
        } else {
            let con = if fr < vals[worst] { along(-0.5) } else { along(0.5) };
            let fc = f(con);
            if fc < vals[worst].min(fr) {
                (simplex[worst], vals[worst]) = (con, fc);
            } else {
                // Shrink toward the best point.
                for i in [mid, worst] {
                    simplex[i] = [(simplex[i][0] + simplex[best][0]) / 2.0, (simplex[i][1] + simplex[best][1]) / 2.0];
                    vals[i] = f(simplex[i]);
                }
            }
        }
    }
    let best = (0..3).min_by(|a, b| vals[*a].total_cmp(&vals[*b])).unwrap_or(0);
    simplex[best]
}

/// Calibrates one slice (expiry `t` in years) to market points.
pub fn calibrate(t: f64, points: &[SlicePoint]) -> Result<SliceFit, SviError> {
    if t.is_nan() || t <= 0.0 {
        return Err(SviError::BadExpiry(t));
    }
    // Residuals are fitted in implied-vol space: Δw ≈ 2σT·Δσ, so a total-variance residual is weighted by
    // 1/(2σT)². This keeps the far wings (tiny vega, large vol errors) in the fit.
    let pts: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| p.weight > 0.0 && p.iv > 0.0)
        .map(|p| (p.k, p.iv * p.iv * t, p.weight / (2.0 * p.iv * t).powi(2)))
        .collect();
    if pts.len() < 5 {
        return Err(SviError::TooFewPoints(pts.len()));
    }
    let w_max = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let (k_min, k_max) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let grid = check_grid((k_max - k_min).abs().max(1.0) * 1.5);
    let wsum: f64 = pts.iter().map(|p| p.2).sum();
    let params_of = |m: f64, sigma: f64| {
        let (a, d, c) = inner_fit(&pts, m, sigma, w_max);
        let b = c / sigma;
        let rho = if c > 0.0 { d / c } else { 0.0 };
        Svi { a, b, rho, m, sigma }
    };
    let objective = |x: [f64; 2]| {
        let sigma = x[1].exp();
        let s = params_of(x[0], sigma);
        let sse: f64 = pts.iter().map(|(k, w, om)| om * (s.total_variance(*k) - w).powi(2)).sum::<f64>() / wsum;
        let arb: f64 = grid.iter().map(|k| s.density_factor(*k).clamp(-1e3, 0.0).powi(2)).sum();
        sse + 1e-2 * arb * w_max * w_max
    };
    // Multi-start: a grid over m (across the quoted k range) and the curvature radius σ; the best few starts are
    // refined with Nelder-Mead. Single starts get trapped on short-dated, sharply curved smiles.
    let mut starts: Vec<([f64; 2], f64)> = Vec::new();
    for i in 0..=6 {
        let m0 = k_min + (k_max - k_min) * f64::from(i) / 6.0;
        for s0 in [0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8] {
            let x = [m0, f64::ln(s0)];
            starts.push((x, objective(x)));
        }
    }
    starts.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut best: Option<([f64; 2], f64)> = None;
    for (x0, _) in starts.iter().take(4) {
        let x = nelder_mead(&objective, *x0, [0.02 + 0.05 * (k_max - k_min), 0.4], 600);
        let v = objective(x);
        if best.is_none_or(|(_, bv)| v < bv) {
            best = Some((x, v));
        }
    }
    let (x, _) = best.expect("four starts refined");
    let params = params_of(x[0], x[1].exp());
    if !params.is_butterfly_free(&grid) {
        let min_g = grid.iter().map(|k| params.density_factor(*k)).fold(f64::MAX, f64::min);
        return Err(SviError::Arbitrage { t, min_g });
    }
    let errs: Vec<f64> = points.iter().filter(|p| p.weight > 0.0).map(|p| params.implied_vol(p.k, t) - p.iv).collect();
    let rmse = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt();
    let max = errs.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    Ok(SliceFit { t, params, rmse_vol_points: 100.0 * rmse, max_abs_error_vol_points: 100.0 * max, points: errs.len() })
}

/// Black-76 vega of a quote normalised by the forward (a weight for vega-weighted fits).
pub fn vega_weight(kind: OptionKind, forward: f64, strike: f64, t: f64, iv: f64) -> f64 {
    greeks(&OptionInputs::black76(kind, forward, strike, t, iv, 0.0)).vega / forward
}

/// Calibrated slices across expiries, interpolated linearly in total variance at fixed log-moneyness (which
/// preserves the absence of calendar arbitrage between arbitrage-free slices).
#[derive(Clone, Debug, PartialEq)]
pub struct Surface {
    /// Sorted by expiry.
    pub slices: Vec<(f64, Svi)>,
}

impl Surface {
    pub fn new(mut slices: Vec<(f64, Svi)>) -> Self {
        slices.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { slices }
    }

    /// Total variance at log-moneyness k and expiry t: linear in t between slices, proportional to t before the
    /// first slice, constant implied volatility beyond the last.
    pub fn total_variance(&self, k: f64, t: f64) -> f64 {
        let s = &self.slices;
        match s.iter().position(|(ti, _)| *ti >= t) {
            None => s.last().map(|(tl, p)| p.total_variance(k) * t / tl).unwrap_or(0.0),
            Some(0) => s[0].1.total_variance(k) * t / s[0].0,
            Some(i) => {
                let (t0, p0) = s[i - 1];
                let (t1, p1) = s[i];
                let x = (t - t0) / (t1 - t0);
                (1.0 - x) * p0.total_variance(k) + x * p1.total_variance(k)
            }
        }
    }

    pub fn implied_vol(&self, k: f64, t: f64) -> f64 {
        (self.total_variance(k, t).max(0.0) / t).sqrt()
    }

    /// Calendar-arbitrage check: every (k, consecutive slice pair) where total variance decreases with expiry.
    pub fn calendar_violations(&self, grid: &[f64]) -> Vec<(f64, f64, f64)> {
        let mut out = Vec::new();
        for pair in self.slices.windows(2) {
            let ((t0, p0), (t1, p1)) = (pair[0], pair[1]);
            for k in grid {
                if p1.total_variance(*k) < p0.total_variance(*k) - 1e-12 {
                    out.push((*k, t0, t1));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_known_parameters_from_exact_data() {
        let truth = Svi { a: 0.02, b: 0.15, rho: -0.35, m: 0.05, sigma: 0.18 };
        let t = 0.5;
        let points: Vec<SlicePoint> = (-20..=20)
            .map(|i| {
                let k = f64::from(i) / 25.0;
                SlicePoint { k, iv: truth.implied_vol(k, t), weight: 1.0 }
            })
            .collect();
        let fit = calibrate(t, &points).unwrap();
        assert!(fit.rmse_vol_points < 1e-4, "rmse {}", fit.rmse_vol_points);
        assert!((fit.params.rho - truth.rho).abs() < 1e-3 && (fit.params.m - truth.m).abs() < 1e-3, "{:?}", fit.params);
        // The fixed-point form agrees with f64.
        let fx = fit.params.to_fixed();
        let w = fx.total_variance(I80F48::from_num(0.1)).unwrap().to_num::<f64>();
        assert!((w - fit.params.total_variance(0.1)).abs() < 1e-12);
    }

    #[test]
    fn rejects_too_few_points_and_bad_expiry() {
        let p = [SlicePoint { k: 0.0, iv: 0.5, weight: 1.0 }; 3];
        assert_eq!(calibrate(0.1, &p).unwrap_err(), SviError::TooFewPoints(3));
        assert_eq!(calibrate(0.0, &p).unwrap_err(), SviError::BadExpiry(0.0));
    }

    #[test]
    fn surface_interpolates_and_detects_calendar_arbitrage() {
        let s1 = Svi { a: 0.01, b: 0.1, rho: -0.3, m: 0.0, sigma: 0.2 };
        let s2 = Svi { a: 0.03, b: 0.12, rho: -0.3, m: 0.0, sigma: 0.2 };
        let surf = Surface::new(vec![(0.5, s2), (0.1, s1)]);
        assert_eq!(surf.slices[0].0, 0.1);
        let mid = surf.total_variance(0.0, 0.3);
        assert!((mid - 0.5 * (s1.total_variance(0.0) + s2.total_variance(0.0))).abs() < 1e-15);
        assert!((surf.total_variance(0.2, 0.05) - s1.total_variance(0.2) * 0.5).abs() < 1e-15);
        assert!(surf.calendar_violations(&check_grid(1.0)).is_empty());
        let inverted = Surface::new(vec![(0.1, s2), (0.5, s1)]);
        assert!(!inverted.calendar_violations(&check_grid(1.0)).is_empty());
    }
}
