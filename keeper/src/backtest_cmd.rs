//! `keel-keeper backtest`: flags to a [`BacktestConfig`], a progress bar, the report files.
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use keel_keeper::backtest::series::{Series, Synthetic};
use keel_keeper::backtest::vol::VolSource;
use keel_keeper::backtest::{backtest, report, BacktestConfig, PolicySpec};
use keel_keeper::market_data::{prices::load_bars, shared_data_dir};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Price CSV (../shared/data/prices format: timestamp_utc,open,high,low,close,volume).
    #[arg(long, conflicts_with = "synthetic")]
    data: Option<PathBuf>,
    /// A seeded synthetic path instead: gbm, heston or jumps (hourly, from 100).
    #[arg(long)]
    synthetic: Option<String>,
    /// Hours of synthetic path.
    #[arg(long, default_value_t = 24 * 365)]
    hours: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With --data: window start and end (RFC 3339); default the whole file.
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// Bar interval of the file in seconds.
    #[arg(long, default_value_t = 3_600)]
    interval: i64,
    /// all, static, whalley-wilmott or predictive.
    #[arg(long, default_value = "all")]
    policy: String,
    /// Option-pricing volatility: constant:<vol>, realised[:<lambda>] or dvol[:<csv>].
    #[arg(long, default_value = "realised")]
    vol: String,
    /// Decisions on the price this many slots (0.4 s) old; between bars the price is a seeded Brownian bridge.
    #[arg(long, default_value_t = 5)]
    latency_slots: u64,
    /// Minimum seconds between rebalances (the vault's rule).
    #[arg(long, default_value_t = 0)]
    min_interval: i64,
    /// Skip the parameter sweep behind the frontier plot.
    #[arg(long)]
    no_frontier: bool,
    /// Output directory.
    #[arg(long, default_value = "keel-backtest")]
    out: PathBuf,
}

fn time(s: &str, flag: &str) -> anyhow::Result<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp())
        .with_context(|| format!("{flag} {s}: use RFC 3339, e.g. 2022-11-01T00:00:00Z"))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let series = match (&a.data, &a.synthetic) {
        (Some(path), _) => {
            let bars = load_bars(path)?;
            let from = a.from.as_deref().map(|s| time(s, "--from")).transpose()?.unwrap_or(i64::MIN);
            let to = a.to.as_deref().map(|s| time(s, "--to")).transpose()?.unwrap_or(i64::MAX);
            Series::from_bars(&path.display().to_string(), &bars, a.interval, from, to)?
        }
        (None, Some(name)) => {
            let Some(model) = Synthetic::named(name) else {
                bail!("--synthetic {name}: use gbm, heston or jumps");
            };
            Synthetic::generate(&model, 100.0, 1_640_995_200, a.hours, a.seed)
        }
        (None, None) => bail!("give --data <csv> (e.g. ../shared/data/prices/SOLUSDT_1h_binance_spot.csv) or --synthetic gbm|heston|jumps"),
    };
    let mut cfg = BacktestConfig {
        vol: VolSource::parse(&a.vol, &shared_data_dir().join("vol/BTC_DVOL_1d_deribit.csv"))
            .map_err(anyhow::Error::msg)?,
        policies: PolicySpec::parse_set(&a.policy).map_err(anyhow::Error::msg)?,
        ..BacktestConfig::default()
    };
    cfg.costs.latency_slots = a.latency_slots;
    cfg.costs.latency_seed = a.seed;
    cfg.costs.min_interval_secs = a.min_interval;
    if a.no_frontier {
        cfg.frontier_scales.clear();
    }
    println!(
        "keel backtest: {} ({} bars, {} gaps, {} missing bars), policies: {}",
        series.source,
        series.len(),
        series.gaps,
        series.missing_bars,
        cfg.policies.iter().map(|p| p.family()).collect::<Vec<_>>().join(", ")
    );
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed}").unwrap_or(ProgressStyle::default_bar()),
    );
    let bt = backtest(&series, &cfg, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    println!(
        "{:<24} {:>12} {:>9} {:>7} {:>8} {:>10} {:>10} {:>6} {:>8} {:>5}",
        "policy", "P&L", "return", "Sharpe", "max DD", "hedge err", "costs", "rebal", "outside", "liq"
    );
    for m in &bt.metrics {
        println!(
            "{:<24} {:>12.0} {:>8.2}% {:>7.2} {:>7.2}% {:>10.1} {:>10.0} {:>6} {:>7.2}% {:>5}",
            m.policy,
            m.pnl,
            m.annual_return * 100.0,
            m.sharpe,
            m.max_drawdown * 100.0,
            m.hedge_error_std,
            m.total_costs,
            m.rebalances,
            m.time_outside_mandate * 100.0,
            m.liquidations
        );
    }
    let w = report::write(&bt, &a.out)?;
    println!("report: {}\njson: {}\ncsv: {}", w.html.display(), w.json.display(), w.csv.display());
    Ok(())
}
