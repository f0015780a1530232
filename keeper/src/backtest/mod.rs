//! Backtesting on real and synthetic data with the keeper's own strategy and policy code.
//!
//! - [`series`]: exchange bars (gaps kept and counted) or seeded GBM / Heston / jump paths.
//! - [`vol`]: the option-pricing volatility: constant, realised (EWMA) or Deribit DVOL, without look-ahead.
//! - [`engine`]: one account selling strangles and hedging under a [`Policy`] with the venue's costs and the
//!   vault's rules (latency, interval, benefit-vs-cost, rewards, margin and liquidation).
//! - [`metrics`], [`report`]: per-policy metrics, crash windows, the cost/hedging-error frontier; JSON, CSV, HTML.
//! - [`hedge_mc`]: the Monte Carlo hedging kernel behind the theory checks and the speed benchmark.
pub mod engine;
pub mod hedge_mc;
pub mod metrics;
pub mod report;
pub mod series;
pub mod vol;

use crate::strategy::book::StrangleSpec;
use crate::strategy::policy::{Policy, Predictive, StaticBand, WhalleyWilmott};
use engine::{CostModel, RiskModel, Run};
use metrics::Metrics;
use serde::{Deserialize, Serialize};
use series::Series;
use vol::VolSource;

/// A policy and its parameter. Band parameters are per contract; Whalley-Wilmott's risk aversion is given per
/// unit of the series' first price (λ = `risk_aversion` / S₀), so one setting means the same on SOL and BTC.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case")]
pub enum PolicySpec {
    Static { half_width: f64 },
    WhalleyWilmott { risk_aversion: f64, min_band: f64 },
    Predictive { risk_aversion: f64, min_band: f64 },
}

impl PolicySpec {
    /// The three families at their default parameters.
    pub fn defaults() -> Vec<PolicySpec> {
        vec![
            PolicySpec::Static { half_width: 0.1 },
            PolicySpec::WhalleyWilmott { risk_aversion: 8.0, min_band: 0.02 },
            PolicySpec::Predictive { risk_aversion: 8.0, min_band: 0.02 },
        ]
    }

    /// `all`, `static`, `whalley-wilmott` (or `ww`) or `predictive`.
    pub fn parse_set(name: &str) -> Result<Vec<PolicySpec>, String> {
        let all = Self::defaults();
        match name {
            "all" => Ok(all),
            "static" => Ok(vec![all[0]]),
            "whalley-wilmott" | "ww" => Ok(vec![all[1]]),
            "predictive" => Ok(vec![all[2]]),
            _ => Err(format!("--policy {name}: use all, static, whalley-wilmott or predictive")),
        }
    }

    pub fn family(&self) -> &'static str {
        match self {
            PolicySpec::Static { .. } => "static",
            PolicySpec::WhalleyWilmott { .. } => "whalley-wilmott",
            PolicySpec::Predictive { .. } => "predictive",
        }
    }

    /// The parameter that trades cost for precision (band half-width or risk aversion).
    pub fn parameter(&self) -> f64 {
        match *self {
            PolicySpec::Static { half_width } => half_width,
            PolicySpec::WhalleyWilmott { risk_aversion, .. } | PolicySpec::Predictive { risk_aversion, .. } => {
                risk_aversion
            }
        }
    }

    /// The same family with its parameter scaled by `k`.
    pub fn scaled(&self, k: f64) -> Self {
        match *self {
            PolicySpec::Static { half_width } => PolicySpec::Static { half_width: half_width * k },
            PolicySpec::WhalleyWilmott { risk_aversion, min_band } => {
                PolicySpec::WhalleyWilmott { risk_aversion: risk_aversion * k, min_band }
            }
            PolicySpec::Predictive { risk_aversion, min_band } => {
                PolicySpec::Predictive { risk_aversion: risk_aversion * k, min_band }
            }
        }
    }

    pub fn build(&self, first_price: f64) -> Box<dyn Policy + Send> {
        let ww = |risk_aversion: f64, min_band| WhalleyWilmott { risk_aversion: risk_aversion / first_price, min_band };
        match *self {
            PolicySpec::Static { half_width } => Box::new(StaticBand { half_width }),
            PolicySpec::WhalleyWilmott { risk_aversion, min_band } => Box::new(ww(risk_aversion, min_band)),
            PolicySpec::Predictive { risk_aversion, min_band } => {
                Box::new(Predictive::hourly(ww(risk_aversion, min_band)))
            }
        }
    }
}

/// A named window reported separately (a fresh account over just that stretch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub name: String,
    pub from: i64,
    pub to: i64,
}

/// The crash windows of ../shared/data/README.md (fully covered by the hourly files).
pub fn crash_windows() -> Vec<Window> {
    let w = |name: &str, from: &str, to: &str| Window {
        name: name.into(),
        from: chrono::DateTime::parse_from_rfc3339(from).map(|d| d.timestamp()).unwrap_or(0),
        to: chrono::DateTime::parse_from_rfc3339(to).map(|d| d.timestamp()).unwrap_or(0),
    };
    vec![
        w("May 2021", "2021-05-10T00:00:00Z", "2021-05-25T00:00:00Z"),
        w("LUNA", "2022-05-05T00:00:00Z", "2022-05-20T00:00:00Z"),
        w("3AC", "2022-06-10T00:00:00Z", "2022-06-25T00:00:00Z"),
        w("FTX", "2022-11-04T00:00:00Z", "2022-11-19T00:00:00Z"),
    ]
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestConfig {
    pub capital: f64,
    pub strategy: StrangleSpec,
    pub costs: CostModel,
    pub risk: RiskModel,
    pub vol: VolSource,
    pub policies: Vec<PolicySpec>,
    /// Multipliers of each policy's parameter for the cost / hedging-error frontier (empty: no frontier).
    pub frontier_scales: Vec<f64>,
    pub windows: Vec<Window>,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            capital: 1_000_000.0,
            strategy: StrangleSpec::default(),
            costs: CostModel::default(),
            risk: RiskModel::default(),
            vol: VolSource::Realised { lambda: 0.99, premium: 1.1, floor: 0.2 },
            policies: PolicySpec::defaults(),
            frontier_scales: vec![0.25, 0.5, 1.0, 2.0, 4.0],
            windows: crash_windows(),
        }
    }
}

/// One point of the cost / hedging-error frontier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    pub policy: String,
    pub parameter: f64,
    pub hedge_error_std: f64,
    /// Perp trading, transaction fees and keeper rewards.
    pub hedging_costs: f64,
}

/// Metrics of every policy over one window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    pub name: String,
    pub metrics: Vec<Metrics>,
}

/// Everything a backtest produced: the runs (for plots and CSV), metrics, windows and the frontier.
#[derive(Clone, Debug, Serialize)]
pub struct Backtest {
    pub source: String,
    pub bars: usize,
    pub gaps: usize,
    pub missing_bars: usize,
    pub config: BacktestConfig,
    pub metrics: Vec<Metrics>,
    pub windows: Vec<WindowReport>,
    pub frontier: Vec<FrontierPoint>,
    #[serde(skip)]
    pub runs: Vec<Run>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Data(#[from] crate::market_data::DataError),
    #[error("the series has {0} bars; a backtest needs at least 2")]
    TooShort(usize),
}

fn run_one(series: &Series, cfg: &BacktestConfig, spec: &PolicySpec) -> Result<Run, BacktestError> {
    let mut vol = cfg.vol.start()?;
    let mut policy = spec.build(series.prices[0]);
    let mut run = engine::run(series, &mut vol, policy.as_mut(), cfg.strategy, cfg.costs, cfg.risk, cfg.capital);
    run.policy = format!("{} ({})", spec.family(), spec.parameter());
    Ok(run)
}

/// Runs every configured policy (and the frontier sweep, and each window inside the series); `progress` is
/// called with (runs done, runs in total).
pub fn backtest(
    series: &Series,
    cfg: &BacktestConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<Backtest, BacktestError> {
    if series.len() < 2 {
        return Err(BacktestError::TooShort(series.len()));
    }
    let windows: Vec<(&Window, Series)> =
        cfg.windows.iter().filter_map(|w| Some((w, series.window(&w.name, w.from, w.to, 24)?))).collect();
    let sweep: Vec<PolicySpec> =
        cfg.policies.iter().flat_map(|p| cfg.frontier_scales.iter().map(move |k| p.scaled(*k))).collect();
    let total = cfg.policies.len() * (1 + windows.len()) + sweep.len();
    let mut done = 0;
    let mut tick = || {
        done += 1;
        progress(done, total);
    };
    let mut runs = Vec::new();
    let mut metrics = Vec::new();
    for p in &cfg.policies {
        let run = run_one(series, cfg, p)?;
        metrics.push(Metrics::of(&run, cfg.capital, series.interval_secs));
        runs.push(run);
        tick();
    }
    let mut window_reports = Vec::new();
    for (w, sub) in &windows {
        let mut m = Vec::new();
        for p in &cfg.policies {
            m.push(Metrics::of(&run_one(sub, cfg, p)?, cfg.capital, sub.interval_secs));
            tick();
        }
        window_reports.push(WindowReport { name: w.name.clone(), metrics: m });
    }
    let mut frontier = Vec::new();
    for p in &sweep {
        let m = Metrics::of(&run_one(series, cfg, p)?, cfg.capital, series.interval_secs);
        frontier.push(FrontierPoint {
            policy: p.family().to_string(),
            parameter: p.parameter(),
            hedge_error_std: m.hedge_error_std,
            hedging_costs: m.costs.hedging(),
        });
        tick();
    }
    Ok(Backtest {
        source: series.source.clone(),
        bars: series.len(),
        gaps: series.gaps,
        missing_bars: series.missing_bars,
        config: cfg.clone(),
        metrics,
        windows: window_reports,
        frontier,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_policy_names_and_one_bar_series_are_clear_errors() {
        assert_eq!(PolicySpec::parse_set("all").unwrap().len(), 3);
        assert_eq!(PolicySpec::parse_set("ww").unwrap(), vec![PolicySpec::defaults()[1]]);
        let err = PolicySpec::parse_set("delta-neutral").unwrap_err();
        assert!(err.contains("use all, static, whalley-wilmott or predictive"), "{err}");
        // `--synthetic gbm --hours 0` generates one bar: refused, not a panic.
        let one_bar = series::Synthetic::named("gbm").unwrap().generate(100.0, 0, 0, 1);
        let err = backtest(&one_bar, &BacktestConfig::default(), |_, _| {}).unwrap_err();
        assert!(matches!(err, BacktestError::TooShort(1)), "{err}");
        assert!(err.to_string().contains("needs at least 2"));
    }
}
