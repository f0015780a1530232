//! A full year of real hourly SOL prices (2022, LUNA, 3AC and FTX included) through the whole embedded stack: the
//! real keel-venue and keel-vault programs on the in-process bank, deployed by the migrations, three depositors,
//! the strategist's hedged book, the oracle driven bar by bar, and the live keeper cycle every hour.
//! Goal: <= 60 s wall time on the reference machine; exits non-zero above it.
//! Run: `cargo bench -p keel-keeper --bench demo_year`
use keel_keeper::demo::{replay_closes, run, DemoConfig};
use keel_keeper::market_data::shared_data_dir;
use std::time::Instant;

const GOAL_SECS: f64 = 60.0;

fn main() -> anyhow::Result<()> {
    // The benchmark measures the stack, not the terminal.
    keel_keeper::chain::embedded::quiet_logs();
    let csv = shared_data_dir().join("prices/SOLUSDT_1h_binance_spot.csv");
    let (closes, gaps) = replay_closes(&csv, "2022-01-01T00:00:00Z", 8_760)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let start = Instant::now();
    let mut steps = 0usize;
    let report =
        rt.block_on(run(DemoConfig { hours: closes.len(), replay: Some(closes), ..DemoConfig::default() }, |_| {
            steps += 1;
        }))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "full year: {steps} hourly steps ({gaps} gaps skipped) in {secs:.1} s = {:.0} steps/s; {} rebalances, \
breaker {} h, reconciled: {}",
        steps as f64 / secs,
        report.rebalances,
        report.breaker_hours,
        report.reconciled
    );
    anyhow::ensure!(report.reconciled, "token balances did not reconcile");
    anyhow::ensure!(secs <= GOAL_SECS, "{secs:.1} s is above the goal of {GOAL_SECS} s");
    println!("goal met: {secs:.1} s <= {GOAL_SECS} s");
    Ok(())
}
