//! Decision latency for a 200-option book across 8 expiries: portfolio greeks + Monte Carlo VaR/ES with
//! 10,000 scenarios and full revaluation + decision inputs (7 x 2 scenario loss, Whalley-Wilmott band), on one
//! thread. Reports p50/p99/max over repeated runs, and the scalar full revaluation as the peer in the same run.
//! Run: `cargo bench -p keel-keeper --bench book_latency`
use keel_keeper::quant::fixtures::sample_book;
use keel_keeper::quant::mc::{monte_carlo_var_screened, scenario_pnl, NormalDraws};
use keel_keeper::quant::risk::{decision_inputs, monte_carlo_var, span_grid, var_es_from_pnl, McParams};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (p(0.5), p(0.99), *v.last().unwrap())
}

fn main() {
    let p = sample_book(200, 150.0);
    let m = McParams {
        scenarios: 10_000,
        horizon: 1.0 / 365.0,
        vol: 0.9,
        vol_of_vol: 1.5,
        spot_vol_corr: -0.5,
        alpha: 0.99,
        seed: 42,
    };
    let draws = NormalDraws::new(m.scenarios, m.seed);
    let (spots, vols) = span_grid(0.15, 0.3);

    // The keeper's cycle: tail-screened full revaluation (result identical to revaluing every scenario).
    let cycle = || {
        let d = decision_inputs(&p, 0.0, 0.0005, 1.0, (&spots, &vols));
        let sc = draws.scale(&m);
        let (v, stats) = monte_carlo_var_screened(&p, &sc, m.horizon, m.alpha);
        (d, v, stats)
    };
    // Peer 1: every scenario fully revalued on the vectorised kernel.
    let exhaustive = || {
        let d = decision_inputs(&p, 0.0, 0.0005, 1.0, (&spots, &vols));
        let sc = draws.scale(&m);
        let mut pnl = scenario_pnl(&p, &sc, m.horizon);
        (d, var_es_from_pnl(&mut pnl, m.alpha))
    };
    let time = |runs: usize, f: &dyn Fn()| -> (Duration, Duration, Duration) {
        for _ in 0..runs.min(50) {
            f();
        }
        percentiles(
            (0..runs)
                .map(|_| {
                    let t0 = Instant::now();
                    f();
                    t0.elapsed()
                })
                .collect(),
        )
    };
    println!("book: 200 options / 8 expiries + linear leg; greeks + 10k-scenario MC VaR/ES (full revaluation) + decision inputs");
    let (p50, p99, max) = time(2000, &|| {
        black_box(cycle());
    });
    let (_, v, stats) = cycle();
    println!("keeper cycle (tail-screened full revaluation): runs 2000  p50 {p50:?}  p99 {p99:?}  max {max:?}");
    println!(
        "  revalued {} of {} scenarios in {} round(s); max proxy error {:.3}",
        stats.revalued, m.scenarios, stats.rounds, stats.proxy_error
    );
    let (e50, e99, _) = time(200, &|| {
        black_box(exhaustive());
    });
    let (_, ve) = exhaustive();
    println!("peer: every scenario revalued, vectorised kernel: runs 200  p50 {e50:?}  p99 {e99:?}");
    assert_eq!(v.var, ve.var, "screened and exhaustive VaR must agree");

    let slow_runs = 20;
    let slow: Vec<Duration> = (0..slow_runs)
        .map(|_| {
            let t0 = Instant::now();
            black_box(decision_inputs(&p, 0.0, 0.0005, 1.0, (&spots, &vols)));
            black_box(monte_carlo_var(&p, &m));
            t0.elapsed()
        })
        .collect();
    let (s50, s99, _) = percentiles(slow);
    println!("peer: same cycle with scalar full revaluation (quant::risk::monte_carlo_var)");
    println!("  runs {slow_runs}: p50 {s50:?}  p99 {s99:?}");
    let (d, v, _) = cycle();
    println!(
        "  (VaR99 {:.2}, ES99 {:.2}, scenario loss {:.2}, WW half-width {:.3})",
        v.var, v.es, d.scenario_loss, d.ww_half_width
    );
}
