//! Band-hedge simulation speed: path-steps per second on one core, for the policies the backtester runs.
//! One path-step = a GBM step (normal draw, log-price update, e^x, hedge P&L) plus a policy decision with the
//! option's delta and gamma at that step. Exits non-zero if the static band misses the 50 M/s goal.
//! Run: `cargo bench -p keel-keeper --bench hedge_sim`
use keel_keeper::backtest::hedge_mc::HedgeMc;
use keel_keeper::strategy::policy::{Policy, Predictive, StaticBand, WhalleyWilmott};
use std::time::Instant;

const GOAL: f64 = 50e6;

/// Best of `runs` timings (the least disturbed by the VM), in path-steps per second.
fn rate<P: Policy + Clone>(mc: &HedgeMc, policy: &P, runs: usize) -> (f64, f64) {
    let mut best = 0.0f64;
    let mut trades = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let r = mc.run(policy);
        best = best.max(r.path_steps as f64 / start.elapsed().as_secs_f64());
        trades = r.mean_trades;
    }
    (best, trades)
}

fn main() {
    // A 1-year ATM call, 1,000 decisions per path (every step), 20 bp costs; 100,000 paths per run.
    let mc = HedgeMc {
        spot: 100.0,
        strike: 100.0,
        vol: 0.2,
        t: 1.0,
        steps: 1_000,
        decide_every: 1,
        cost: 0.002,
        paths: 100_000,
        seed: 1,
    };
    let ww = WhalleyWilmott { risk_aversion: 1.0, min_band: 1e-6 };
    let rows: Vec<(&str, (f64, f64))> = vec![
        ("static band (half-width 0.02)", rate(&mc, &StaticBand { half_width: 0.02 }, 5)),
        ("time-based (every step)", rate(&mc, &StaticBand { half_width: 0.0 }, 5)),
        ("Whalley-Wilmott (λ = 1)", rate(&mc, &ww, 5)),
        ("predictive (Whalley-Wilmott + EWMA regime)", rate(&mc, &Predictive::hourly(ww), 3)),
    ];
    println!("| policy | path-steps/s (best of runs) | re-hedges per path |");
    println!("|---|---|---|");
    for (name, (r, trades)) in &rows {
        println!("| {name} | {:.1} M | {trades:.1} |", r / 1e6);
    }
    let band = rows[0].1 .0;
    if band < GOAL {
        eprintln!("static band: {:.1} M path-steps/s is below the goal of {:.0} M", band / 1e6, GOAL / 1e6);
        std::process::exit(1);
    }
    println!("goal met: static band {:.1} M >= {:.0} M path-steps/s per core", band / 1e6, GOAL / 1e6);
}
