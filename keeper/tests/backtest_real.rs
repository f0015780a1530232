//! The backtester on the real SOL and BTC hourly data (../shared/data), crash windows included, every policy
//! reported; and the engine's cost model, constraints, gaps and liquidation checked on real prices.
use keel_keeper::backtest::engine::{self, CostModel, RiskModel};
use keel_keeper::backtest::metrics::Metrics;
use keel_keeper::backtest::series::{Series, Synthetic};
use keel_keeper::backtest::vol::VolSource;
use keel_keeper::backtest::{backtest, report, Backtest, BacktestConfig, PolicySpec};
use keel_keeper::market_data::{prices::load_bars, shared_data_dir};
use keel_keeper::strategy::book::StrangleSpec;
use keel_keeper::strategy::policy::StaticBand;

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

fn hourly(file: &str, from: &str, to: &str) -> Series {
    let path = shared_data_dir().join("prices").join(file);
    Series::from_bars(file, &load_bars(&path).unwrap(), 3_600, ts(from), ts(to)).unwrap()
}

fn check_metrics(m: &Metrics) {
    let c = &m.costs;
    let sum =
        c.fees + c.spread + c.slippage + c.tx_fees + c.keeper_rewards + c.option_trading + c.liquidation_penalties;
    assert!((sum - m.total_costs).abs() < 1e-6 * m.total_costs.max(1.0), "{m:?}");
    for v in [m.pnl, m.annual_return, m.annual_vol, m.sharpe, m.max_drawdown, m.hedge_error_std, m.turnover] {
        assert!(v.is_finite(), "{m:?}");
    }
    assert!((0.0..=1.0).contains(&m.max_drawdown) && (0.0..=1.0).contains(&m.time_outside_mandate), "{m:?}");
    assert!(m.rebalances > 0 && m.keeper_rewards > 0.0, "{m:?}");
    assert!((m.final_equity - m.capital - m.pnl).abs() < 1e-6, "{m:?}");
}

/// Runs and writes a report, checks every file exists and parses, and returns the backtest.
fn run_and_report(series: &Series, cfg: &BacktestConfig, dir: &str) -> Backtest {
    let mut calls = 0;
    let bt = backtest(series, cfg, |done, total| {
        calls += 1;
        assert!(done <= total);
    })
    .unwrap();
    assert_eq!(calls, cfg.policies.len() * (1 + bt.windows.len()) + cfg.policies.len() * cfg.frontier_scales.len());
    let out = std::env::temp_dir().join(format!("keel-backtest-{dir}-{}", std::process::id()));
    let w = report::write(&bt, &out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&w.json).unwrap()).unwrap();
    assert_eq!(json["metrics"].as_array().unwrap().len(), cfg.policies.len());
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + cfg.policies.len() * (1 + bt.windows.len()));
    let html = std::fs::read_to_string(&w.html).unwrap();
    // Equity, one delta/band plot per policy, the frontier.
    assert_eq!(html.matches("<svg").count(), 1 + cfg.policies.len() + usize::from(!bt.frontier.is_empty()));
    for (i, p) in w.bars.iter().enumerate() {
        assert_eq!(std::fs::read_to_string(p).unwrap().lines().count(), 1 + bt.runs[i].bars.len());
    }
    std::fs::remove_dir_all(&out).unwrap();
    bt
}

#[test]
fn every_policy_is_reported_on_sol_through_may_2021_luna_3ac_and_ftx() {
    let series = hourly("SOLUSDT_1h_binance_spot.csv", "2021-01-01T00:00:00Z", "2023-01-01T00:00:00Z");
    let cfg = BacktestConfig { frontier_scales: vec![0.5, 2.0], ..BacktestConfig::default() };
    let bt = run_and_report(&series, &cfg, "sol");
    let names: Vec<&str> = bt.windows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["May 2021", "LUNA", "3AC", "FTX"]);
    for m in bt.metrics.iter().chain(bt.windows.iter().flat_map(|w| &w.metrics)) {
        check_metrics(m);
    }
    assert_eq!(
        bt.metrics.iter().map(|m| m.policy.as_str()).collect::<Vec<_>>(),
        ["static (0.1)", "whalley-wilmott (8)", "predictive (8)"]
    );
    // At 1x notional initial margin never binds, even when a roll inherits the expired book's hedge.
    assert!(bt.runs.iter().all(|r| r.sized_down == 0 && r.liquidations == 0), "a 1x book was cut or liquidated");
    // The frontier trades cost for precision within each family: a wider band costs less and hedges worse.
    for fam in ["static", "whalley-wilmott", "predictive"] {
        let pts: Vec<_> = bt.frontier.iter().filter(|p| p.policy == fam).collect();
        assert_eq!(pts.len(), 2);
        let (tight, wide) = if fam == "static" { (pts[0], pts[1]) } else { (pts[1], pts[0]) };
        assert!(
            tight.hedging_costs > wide.hedging_costs && tight.hedge_error_std < wide.hedge_error_std,
            "{fam}: {pts:?}"
        );
    }
    // The FTX window: SOL fell ~60%; the strangle seller lost money there under every policy.
    let ftx = &bt.windows[3];
    assert!(ftx.metrics.iter().all(|m| m.pnl < 0.0), "{:?}", ftx.metrics);
}

#[test]
fn every_policy_is_reported_on_btc_with_dvol_and_gaps_are_counted() {
    // 2020-01..2023-01 contains one real outage after 2020-03 (the file has 1 after 2021) and the May 2021, LUNA,
    // 3AC and FTX windows; DVOL starts 2021-03-24 (the fallback volatility prices before that).
    let series = hourly("BTCUSDT_1h_binance_spot.csv", "2020-01-01T00:00:00Z", "2023-01-01T00:00:00Z");
    assert!(series.gaps >= 1 && series.missing_bars >= series.gaps, "{} gaps", series.gaps);
    let cfg = BacktestConfig {
        vol: VolSource::Dvol {
            path: shared_data_dir().join("vol/BTC_DVOL_1d_deribit.csv").display().to_string(),
            fallback: 0.6,
        },
        frontier_scales: vec![],
        ..BacktestConfig::default()
    };
    let bt = run_and_report(&series, &cfg, "btc");
    assert_eq!(bt.gaps, series.gaps);
    assert_eq!(bt.windows.len(), 4);
    for m in bt.metrics.iter().chain(bt.windows.iter().flat_map(|w| &w.metrics)) {
        check_metrics(m);
    }
    // Bars are the real timestamps: a gap is one longer step, not filled bars.
    let run = &bt.runs[0];
    assert_eq!(run.bars.len(), series.len());
    let longest = run.bars.windows(2).map(|w| w[1].t - w[0].t).max().unwrap();
    assert!(longest > 3_600, "the gap is kept as one step");
}

fn ftx() -> Series {
    hourly("SOLUSDT_1h_binance_spot.csv", "2022-11-01T00:00:00Z", "2022-11-30T00:00:00Z")
}

fn one(series: &Series, spec: StrangleSpec, costs: CostModel, risk: RiskModel) -> engine::Run {
    with_band(series, spec, costs, risk, 0.1)
}

fn with_band(series: &Series, spec: StrangleSpec, costs: CostModel, risk: RiskModel, band: f64) -> engine::Run {
    let mut vol = VolSource::Constant { vol: 0.9 }.start().unwrap();
    engine::run(series, &mut vol, &mut StaticBand { half_width: band }, spec, costs, risk, 1_000_000.0)
}

#[test]
fn oracle_latency_worsens_hedging_and_the_minimum_interval_refuses_trades() {
    let s = ftx();
    let at = |slots: u64, seed: u64| {
        let costs = CostModel { latency_slots: slots, latency_seed: seed, ..CostModel::default() };
        Metrics::of(&one(&s, StrangleSpec::default(), costs, RiskModel::default()), 1e6, 3_600)
    };
    let base =
        one(&s, StrangleSpec::default(), CostModel { latency_slots: 0, ..CostModel::default() }, RiskModel::default());
    let mb = Metrics::of(&base, 1e6, 3_600);
    // Three hours of latency (27,000 slots) lands on bars: no bridge noise, deterministic, and clearly worse.
    let hours = at(27_000, 1);
    assert_eq!(hours, at(27_000, 2), "a latency that falls on bars does not use the bridge");
    assert!(
        hours.hedge_error_std > 1.1 * mb.hedge_error_std,
        "latency {} vs {}",
        hours.hedge_error_std,
        mb.hedge_error_std
    );
    // A few slots: the decisions move (sub-bar noise from the bridge) but the hedge quality barely does.
    let slots = at(5, 1);
    assert_ne!(slots, mb, "the sub-bar price entered the decisions");
    assert!(
        (slots.hedge_error_std / mb.hedge_error_std - 1.0).abs() < 0.05,
        "{} vs {}",
        slots.hedge_error_std,
        mb.hedge_error_std
    );
    assert_eq!(slots, at(5, 1), "seeded");
    let slow = one(
        &s,
        StrangleSpec::default(),
        CostModel { min_interval_secs: 6 * 3_600, ..CostModel::default() },
        RiskModel::default(),
    );
    assert!(slow.refused > 0 && slow.rebalances < base.rebalances);
    let gaps: Vec<i64> = slow.bars.iter().filter(|b| b.rebalanced).map(|b| b.t).collect();
    assert!(gaps.windows(2).all(|w| w[1] - w[0] >= 6 * 3_600), "rebalances respect the interval");
    // A costly chain makes small rebalances uneconomic: the vault's benefit-vs-cost rule refuses them.
    let dear =
        one(&s, StrangleSpec::default(), CostModel { tx_fee: 20_000.0, ..CostModel::default() }, RiskModel::default());
    assert!(dear.refused > 0 && dear.rebalances < base.rebalances);
    assert!(dear.costs.tx_fees >= 20_000.0 * dear.rebalances as f64);
}

#[test]
fn an_unhedged_book_at_full_margin_is_liquidated_in_the_ftx_crash_and_re_opens_after_the_cool_down() {
    let s = ftx();
    // 12x the equity is more than initial margin allows: the sale is cut to fit. A band of 100 contracts' delta
    // never hedges, so the short put rides SOL's fall from ~$32 to ~$12 and maintenance is breached.
    let spec = StrangleSpec { notional_fraction: 12.0, ..StrangleSpec::default() };
    let risk = RiskModel::default();
    let run = with_band(&s, spec, CostModel::default(), risk, 100.0);
    assert!(run.sized_down >= 1, "the 12x sale must be cut to what initial margin allows");
    assert!(run.liquidations >= 1, "no liquidation");
    assert!(run.costs.liquidation_penalties > 0.0);
    let m = Metrics::of(&run, 1e6, 3_600);
    assert!(m.max_drawdown > 0.3 && m.time_outside_mandate > 0.0, "{m:?}");
    // Each liquidation is followed by a cool-down with nothing held, then a new sale.
    let first = run.bars.iter().position(|b| b.health.is_infinite()).unwrap();
    let liquidated_at = run.bars[first].t;
    let next_sale = run.bars[first..].iter().find(|b| b.health.is_finite()).map(|b| b.t);
    assert!(next_sale.is_none_or(|t| t >= liquidated_at + risk.cooldown_secs), "re-opened inside the cool-down");
    assert!(run.options_sold > 2, "sold again after the cool-down");
    // The same size, hedged by the static band, survives the month.
    let hedged = with_band(&s, spec, CostModel::default(), risk, 0.1);
    assert_eq!(hedged.liquidations, 0);
}

#[test]
fn synthetic_paths_backtest_every_policy() {
    for name in ["gbm", "heston", "jumps"] {
        let s = Synthetic::named(name).unwrap().generate(100.0, 0, 24 * 60, 5);
        let cfg = BacktestConfig {
            vol: VolSource::Constant { vol: 0.8 },
            frontier_scales: vec![],
            windows: vec![],
            policies: PolicySpec::defaults(),
            ..BacktestConfig::default()
        };
        let bt = backtest(&s, &cfg, |_, _| {}).unwrap();
        assert_eq!(bt.metrics.len(), 3);
        for m in &bt.metrics {
            check_metrics(m);
        }
    }
}
