use clap::{Parser, Subcommand};
use keel_keeper::demo::{self, DemoConfig};
use std::path::PathBuf;

mod backtest_cmd;

/// Keel keeper: prices the book, measures risk and submits risk-reducing rebalances that the vault validates.
#[derive(Parser, Debug)]
#[command(name = "keel-keeper", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the whole system on an embedded chain: real programs, a vault with depositors, a crash-shaped price
    /// path and the live keeper. Needs no arguments.
    Demo {
        /// Hours of simulated market.
        #[arg(long, default_value_t = 72)]
        hours: usize,
        /// Seed of the price path.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Directory for the reports (report.html with plots, report.json).
        #[arg(long, default_value = "keel-demo")]
        out: PathBuf,
        /// Vaults on the venue, each with its own depositors and hedged book; one keeper serves them all.
        #[arg(long, default_value_t = 1)]
        vaults: u16,
        /// Simulated hours per wall-clock second for the live view (0 = as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        speed: f64,
        /// Replay real hourly closes from this CSV (../shared/data/prices format) instead of the seeded path.
        #[arg(long)]
        data: Option<PathBuf>,
        /// With --data: the first bar's time (RFC 3339).
        #[arg(long, default_value = "2022-11-06T00:00:00Z")]
        from: String,
    },
    /// Backtests the rebalance policies (the keeper's own code) on a price CSV or a seeded synthetic path, and
    /// writes JSON, CSV and an HTML report with plots.
    Backtest(backtest_cmd::Args),
    /// Deploys a migrations spec to a cluster over JSON-RPC (venue, underlyings, surfaces, markets, LP liquidity,
    /// vaults); idempotent, so a re-run changes nothing and an interrupted run resumes. See docs/deploy.md.
    Deploy(keel_keeper::deploy::DeployArgs),
    /// Runs the keeper against a cluster: every configured vault, woken by oracle updates; /metrics, /health,
    /// /ready; kill switch, dry run, alerts. See docs/keeper.md.
    Run(keel_keeper::ops::run::RunArgs),
}

fn main() {
    // A CLI error is a message that says what to do, not a backtrace.
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    // The demo's own table is the output, not the bank's instruction log.
    keel_keeper::chain::embedded::quiet_logs();
    let cli = Cli::parse();
    let (hours, seed, out, data, from, speed, vaults) = match cli.command {
        Some(Command::Demo { hours, seed, out, data, from, speed, vaults }) => {
            (hours, seed, out, data, from, speed, vaults)
        }
        Some(Command::Backtest(args)) => return backtest_cmd::run(args),
        Some(Command::Run(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            return rt.block_on(keel_keeper::ops::run::run(args));
        }
        Some(Command::Deploy(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            return rt.block_on(keel_keeper::deploy::run(args));
        }
        None => {
            println!("keel-keeper {}: try `keel-keeper demo` (see --help)", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
    };
    anyhow::ensure!(hours >= 12, "--hours must be at least 12 (the scenario needs room for a crash)");
    anyhow::ensure!(speed >= 0.0 && speed.is_finite(), "--speed must be >= 0 (hours per second; 0 = no pause)");
    anyhow::ensure!(
        (1..=8).contains(&vaults),
        "--vaults must be between 1 and 8 (the demo venue's open-interest cap holds eight books)"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let replay = match &data {
        Some(path) => {
            let (closes, gaps) = demo::replay_closes(path, &from, hours)?;
            println!("keel demo: replaying {hours} bars of {} from {from} ({gaps} gaps skipped)", path.display());
            Some(closes)
        }
        None => None,
    };
    let cfg = DemoConfig { hours, seed, replay, vaults, ..DemoConfig::default() };
    println!(
        "keel demo: embedded chain with keel-venue + keel-vault, {vaults} vault(s), {hours} hourly steps, seed {seed}"
    );
    println!(
        "{:>4} {:>9} {:>12} {:>8} {:>7} {:>7} {:>6} {:>7}  keeper / events",
        "hour", "spot", "NAV (USDC)", "delta", "band", "health", "VaR", "breaker"
    );
    let report = rt.block_on(demo::run(cfg, |s| {
        println!(
            "{:>4} {:>9.3} {:>12.2} {:>8.3} {:>7.3} {:>7.2} {:>5.1}% {:>7}  {}{}",
            s.hour,
            s.spot,
            s.nav,
            s.delta,
            s.band,
            s.health.min(99.99),
            s.var_fraction * 100.0,
            if s.breaker { "TRIPPED" } else { "-" },
            s.outcome,
            s.events.iter().map(|e| format!(" | {e}")).collect::<String>()
        );
        if speed > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(1.0 / speed));
        }
    }))?;
    std::fs::create_dir_all(&out)?;
    let path = out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    let html = demo::report::write_html(&report, &out)?;
    println!(
        "\nsummary: deposited {:.2}, final NAV {:.2}, {} rebalances, keeper rewards {:.4}, withdrawal paid {:.2}, breaker tripped {} h, reconciled: {}",
        report.deposited_usdc,
        report.final_nav_usdc,
        report.rebalances,
        report.rewards_usdc,
        report.withdrawal_paid_usdc,
        report.breaker_hours,
        report.reconciled
    );
    let fair = report.share_ops.iter().all(|o| o.within_bound);
    println!(
        "rounding: {} share operations, at most {:.4} units below the pool price and {:.4} below exact pro rata, within bound: {fair}",
        report.share_ops.len(),
        report.max_rounding_units,
        report.max_shortfall_units
    );
    println!("report: {}\njson: {}", html.display(), path.display());
    anyhow::ensure!(report.reconciled, "token balances did not reconcile");
    anyhow::ensure!(
        fair,
        "a depositor lost more to rounding than docs/math.md allows; see share_ops in {}",
        path.display()
    );
    Ok(())
}
