//! Volatility forecasts from a stream of prices, for the predictive policy and for strike selection.
//!
//! - [`Ewma`]: RiskMetrics-style exponentially weighted variance of log returns, sigma²_t = λ sigma²_{t-1} +
//!   (1 - λ) r_t², annualised by the observation interval.
//! - [`Garch11`]: GARCH(1,1) one-step forecast sigma²_{t+1} = ω + α r_t² + β sigma²_t with ω set from a long-run
//!   variance (variance targeting), so it mean-reverts to that level at rate α + β.
//!
//! Both take irregular observations (gaps in real data): a return over Δt seconds is scaled to a per-second
//! variance before it updates the state, so a missing bar neither inflates nor deflates the forecast.
use serde::{Deserialize, Serialize};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// A variance-per-second estimator fed with (time, price) observations.
pub trait VolForecast {
    /// Feeds a price observed at `t` (seconds). Non-increasing times and non-positive prices are ignored.
    fn observe(&mut self, t: i64, price: f64);
    /// Forecast annualised volatility, or `None` before two observations.
    fn annual_vol(&self) -> Option<f64>;
}

/// Shared bookkeeping: the last observation and the per-second squared return of the newest step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Last {
    t: i64,
    price: f64,
}

impl Last {
    /// Per-second squared log return since the last observation, updating it; `None` on the first or a bad one.
    fn step(&mut self, t: i64, price: f64) -> Option<f64> {
        if price <= 0.0 || !price.is_finite() {
            return None;
        }
        let prev = *self;
        if prev.price > 0.0 && t <= prev.t {
            return None;
        }
        *self = Last { t, price };
        if prev.price <= 0.0 {
            return None;
        }
        let r = (price / prev.price).ln();
        Some(r * r / (t - prev.t) as f64)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    pub lambda: f64,
    last: Last,
    var_per_sec: Option<f64>,
}

impl Ewma {
    /// `lambda` in (0, 1): 0.94 is RiskMetrics' daily choice; hourly data wants a value nearer 1 (e.g. 0.99).
    pub fn new(lambda: f64) -> Self {
        Self { lambda: lambda.clamp(0.0, 0.999_999), last: Last::default(), var_per_sec: None }
    }
}

impl VolForecast for Ewma {
    fn observe(&mut self, t: i64, price: f64) {
        if let Some(v) = self.last.step(t, price) {
            self.var_per_sec = Some(match self.var_per_sec {
                None => v,
                Some(prev) => self.lambda * prev + (1.0 - self.lambda) * v,
            });
        }
    }

    fn annual_vol(&self) -> Option<f64> {
        self.var_per_sec.map(|v| (v * SECONDS_PER_YEAR).sqrt())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Garch11 {
    pub alpha: f64,
    pub beta: f64,
    /// Long-run annualised volatility the forecast reverts to.
    pub long_run_vol: f64,
    last: Last,
    var_per_sec: Option<f64>,
}

impl Garch11 {
    /// Requires alpha, beta >= 0 and alpha + beta < 1 (stationarity); otherwise they are scaled down to 0.999.
    pub fn new(alpha: f64, beta: f64, long_run_vol: f64) -> Self {
        let (a, b) = (alpha.max(0.0), beta.max(0.0));
        let s = a + b;
        let (alpha, beta) = if s >= 0.999 { (a * 0.999 / s, b * 0.999 / s) } else { (a, b) };
        Self { alpha, beta, long_run_vol, last: Last::default(), var_per_sec: None }
    }

    fn long_run_var_per_sec(&self) -> f64 {
        self.long_run_vol * self.long_run_vol / SECONDS_PER_YEAR
    }
}

impl VolForecast for Garch11 {
    fn observe(&mut self, t: i64, price: f64) {
        if let Some(v) = self.last.step(t, price) {
            let lr = self.long_run_var_per_sec();
            let prev = self.var_per_sec.unwrap_or(lr);
            let omega = (1.0 - self.alpha - self.beta) * lr;
            self.var_per_sec = Some(omega + self.alpha * v + self.beta * prev);
        }
    }

    fn annual_vol(&self) -> Option<f64> {
        self.var_per_sec.map(|v| (v * SECONDS_PER_YEAR).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_recovers_a_constant_vol_and_ignores_bad_points() {
        // Alternating +-1% hourly returns: per-hour variance 1e-4, i.e. annual vol 0.01 x sqrt(8760) = 93.6%.
        let mut e = Ewma::new(0.97);
        let mut p = 100.0;
        for i in 0..2000 {
            e.observe(i * 3600, p);
            e.observe(i * 3600, -1.0); // ignored: same time and non-positive
            p *= if i % 2 == 0 { 1.01 } else { 1.0 / 1.01 };
        }
        let want = (0.01f64.ln_1p().powi(2) * 8760.0).sqrt();
        assert!((e.annual_vol().unwrap() - want).abs() < 1e-9, "{:?} vs {want}", e.annual_vol());
    }

    #[test]
    fn a_gap_is_scaled_not_counted_as_one_big_hour() {
        let mut a = Ewma::new(0.0); // lambda 0: the forecast is the last step's variance
        a.observe(0, 100.0);
        a.observe(4 * 3600, 100.0 * 0.02f64.exp()); // one 2% move over a 4-hour gap
        let per_hour = 0.02f64.powi(2) / 4.0;
        assert!((a.annual_vol().unwrap() - (per_hour * 8760.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn garch_reverts_to_its_long_run_level() {
        let mut g = Garch11::new(0.05, 0.9, 0.6);
        g.observe(0, 100.0);
        g.observe(3600, 80.0); // a crash hour
        let shocked = g.annual_vol().unwrap();
        assert!(shocked > 0.6);
        for i in 2..400 {
            g.observe(i * 3600, 80.0);
        }
        // Flat prices: the forecast decays to omega / (1 - beta), below the long-run level, monotonically.
        let floor = ((1.0f64 - 0.95) * 0.36 / (1.0 - 0.9)).sqrt();
        assert!((g.annual_vol().unwrap() - floor).abs() < 1e-6, "{:?}", g.annual_vol());
        assert!(Ewma::new(0.9).annual_vol().is_none());
    }
}
