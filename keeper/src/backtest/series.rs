//! Price series for backtests: real exchange bars (../shared/data/prices) or seeded synthetic paths.
//!
//! Missing bars are handled explicitly, never filled: the series keeps the real timestamps, so a gap is one step
//! of several intervals. The engine sees the whole move of the outage at once, cannot trade during it, and the
//! report counts the gaps and the missing bars.
use crate::market_data::prices::Bar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use serde::{Deserialize, Serialize};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    /// Where it came from (file and window, or the generator and seed).
    pub source: String,
    pub times: Vec<i64>,
    pub prices: Vec<f64>,
    /// The regular bar interval.
    pub interval_secs: i64,
    /// Steps longer than one interval, and the bars they miss in total.
    pub gaps: usize,
    pub missing_bars: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SeriesError {
    #[error("no bars between {from} and {to}: pick a window inside the file's range")]
    Empty { from: String, to: String },
    #[error("bars out of order at {at}: the file must be sorted by time")]
    Unsorted { at: String },
}

/// Steps longer than one interval in sorted `times`, and the bars they miss in total.
fn count_gaps(times: &[i64], interval_secs: i64) -> (usize, usize) {
    times.windows(2).filter(|w| w[1] - w[0] > interval_secs).fold((0, 0), |(gaps, missing), w| {
        (gaps + 1, missing + usize::try_from((w[1] - w[0]) / interval_secs - 1).unwrap_or(0))
    })
}

impl Series {
    /// Closes of `bars` with `from <= time < to` (seconds), gaps counted against `interval_secs`.
    pub fn from_bars(source: &str, bars: &[Bar], interval_secs: i64, from: i64, to: i64) -> Result<Self, SeriesError> {
        let fmt = |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.to_rfc3339()).unwrap_or_default();
        let mut s = Series { source: source.to_string(), interval_secs, ..Default::default() };
        for b in bars.iter().filter(|b| (from..to).contains(&b.time.timestamp())) {
            let t = b.time.timestamp();
            if s.times.last().is_some_and(|&last| t <= last) {
                return Err(SeriesError::Unsorted { at: b.time.to_rfc3339() });
            }
            s.times.push(t);
            s.prices.push(b.close);
        }
        (s.gaps, s.missing_bars) = count_gaps(&s.times, interval_secs);
        if s.times.len() < 2 {
            return Err(SeriesError::Empty { from: fmt(from), to: fmt(to) });
        }
        Ok(s)
    }

    /// The bars with `from <= time < to`, gaps recounted; `None` if fewer than `min_bars`.
    pub fn window(&self, label: &str, from: i64, to: i64, min_bars: usize) -> Option<Series> {
        let (a, b) = (self.times.partition_point(|&t| t < from), self.times.partition_point(|&t| t < to));
        if b.saturating_sub(a) < min_bars.max(2) {
            return None;
        }
        let times = self.times[a..b].to_vec();
        let (gaps, missing_bars) = count_gaps(&times, self.interval_secs);
        Some(Series {
            source: format!("{} [{label}]", self.source),
            times,
            prices: self.prices[a..b].to_vec(),
            interval_secs: self.interval_secs,
            gaps,
            missing_bars,
        })
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Length in years (first to last time).
    pub fn years(&self) -> f64 {
        (self.times[self.len() - 1] - self.times[0]) as f64 / SECONDS_PER_YEAR
    }
}

/// Seeded synthetic price models (annualised parameters; hourly steps).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum Synthetic {
    /// Geometric Brownian motion.
    Gbm { drift: f64, vol: f64 },
    /// Heston stochastic variance (full-truncation Euler): dv = κ(θ − v)dt + ξ√v dW₂, corr(dW₁, dW₂) = ρ.
    Heston { drift: f64, v0: f64, kappa: f64, theta: f64, xi: f64, rho: f64 },
    /// Merton jump diffusion: GBM plus Poisson(λ) jumps with normal log sizes N(μ_J, σ_J²), compensated.
    Jumps { drift: f64, vol: f64, intensity: f64, jump_mean: f64, jump_vol: f64 },
}

impl Synthetic {
    /// Defaults shaped like a crypto underlying (80% vol; Heston with a vol of variance; jumps ~monthly).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "gbm" => Synthetic::Gbm { drift: 0.0, vol: 0.8 },
            "heston" => Synthetic::Heston { drift: 0.0, v0: 0.64, kappa: 3.0, theta: 0.64, xi: 1.2, rho: -0.5 },
            "jumps" => Synthetic::Jumps { drift: 0.0, vol: 0.6, intensity: 12.0, jump_mean: -0.05, jump_vol: 0.1 },
            _ => return None,
        })
    }

    /// `hours` hourly steps from `spot` starting at `start` (seconds), deterministic in `seed`.
    pub fn generate(&self, spot: f64, start: i64, hours: usize, seed: u64) -> Series {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dt = 3_600.0 / SECONDS_PER_YEAR;
        let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
        let mut x = spot.ln();
        let mut times = Vec::with_capacity(hours + 1);
        let mut prices = Vec::with_capacity(hours + 1);
        times.push(start);
        prices.push(spot);
        let mut v = match self {
            Synthetic::Heston { v0, .. } => *v0,
            _ => 0.0,
        };
        // Poisson arrivals via exponential inter-arrival times, in years.
        let mut jump_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut next_jump = match self {
            Synthetic::Jumps { intensity, .. } => {
                Distribution::<f64>::sample(&Exp1, &mut jump_rng) / intensity.max(1e-12)
            }
            _ => f64::INFINITY,
        };
        for h in 1..=hours {
            match *self {
                Synthetic::Gbm { drift, vol } => x += (drift - 0.5 * vol * vol) * dt + vol * dt.sqrt() * z(),
                Synthetic::Heston { drift, kappa, theta, xi, rho, .. } => {
                    let vp = v.max(0.0);
                    let (z1, z2) = (z(), z());
                    let zv = rho * z1 + (1.0 - rho * rho).sqrt() * z2;
                    x += (drift - 0.5 * vp) * dt + (vp * dt).sqrt() * z1;
                    v += kappa * (theta - vp) * dt + xi * (vp * dt).sqrt() * zv;
                }
                Synthetic::Jumps { drift, vol, intensity, jump_mean, jump_vol } => {
                    let compensator = intensity * ((jump_mean + 0.5 * jump_vol * jump_vol).exp() - 1.0);
                    x += (drift - compensator - 0.5 * vol * vol) * dt + vol * dt.sqrt() * z();
                    let now = h as f64 * dt;
                    while next_jump <= now {
                        x += jump_mean + jump_vol * z();
                        next_jump += Distribution::<f64>::sample(&Exp1, &mut jump_rng) / intensity.max(1e-12);
                    }
                }
            }
            times.push(start + 3_600 * h as i64);
            prices.push(x.exp());
        }
        Series {
            source: format!("synthetic {self:?}, seed {seed}"),
            times,
            prices,
            interval_secs: 3_600,
            gaps: 0,
            missing_bars: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn bar(h: i64, close: f64) -> Bar {
        let time = Utc.timestamp_opt(h * 3_600, 0).unwrap();
        Bar { time, open: close, high: close, low: close, close, volume: 1.0 }
    }

    #[test]
    fn gaps_are_kept_and_counted_not_filled() {
        let bars = [bar(0, 1.0), bar(1, 2.0), bar(4, 3.0), bar(5, 4.0), bar(9, 5.0)];
        let s = Series::from_bars("t", &bars, 3_600, 0, 9 * 3_600).unwrap();
        assert_eq!(s.prices, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.gaps, s.missing_bars), (1, 2));
        let w = s.window("w", 3_600, 5 * 3_600, 2).unwrap();
        assert_eq!((w.prices.clone(), w.gaps, w.missing_bars), (vec![2.0, 3.0], 1, 2));
        assert_eq!(s.window("w", 4 * 3_600, 5 * 3_600, 2), None);
        assert_eq!(
            Series::from_bars("t", &bars, 3_600, 100 * 3_600, 200 * 3_600),
            Err(SeriesError::Empty {
                from: "1970-01-05T04:00:00+00:00".into(),
                to: "1970-01-09T08:00:00+00:00".into()
            })
        );
        let unsorted = [bar(0, 1.0), bar(2, 1.0), bar(1, 1.0)];
        assert!(matches!(Series::from_bars("t", &unsorted, 3_600, 0, 10 * 3_600), Err(SeriesError::Unsorted { .. })));
    }

    #[test]
    fn synthetic_models_are_seeded_and_have_their_volatility() {
        // Realised variance averaged over 40 one-year paths (Heston's variance wanders; one path is too noisy).
        let hours = 24 * 365;
        for name in ["gbm", "heston", "jumps"] {
            let m = Synthetic::named(name).unwrap();
            let a = m.generate(100.0, 0, hours, 3);
            assert_eq!(a, m.generate(100.0, 0, hours, 3));
            assert_ne!(a.prices, m.generate(100.0, 0, hours, 4).prices);
            let var: f64 = (0..40)
                .map(|seed| {
                    let p = m.generate(100.0, 0, hours, seed).prices;
                    p.windows(2).map(|w| (w[1] / w[0]).ln().powi(2)).sum::<f64>()
                })
                .sum::<f64>()
                / 40.0;
            let vol = var.sqrt();
            // Total variance: 0.8² for GBM and Heston (θ = 0.64), 0.6² + λ(μ² + σ²) = 0.36 + 12·0.0125 for jumps.
            let expected = if name == "jumps" { (0.36f64 + 0.15).sqrt() } else { 0.8 };
            assert!((vol / expected - 1.0).abs() < 0.1, "{name}: realised vol {vol} vs {expected}");
        }
        assert_eq!(Synthetic::named("nope"), None);
    }
}
