//! Side-by-side benchmarks of the quant library against peers, in one run.
//! Run: `cargo bench -p keel-keeper --bench quant` (results in BENCHMARKS.md).
use criterion::{criterion_group, criterion_main, Criterion};
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility};
use keel_keeper::quant::binomial::{self, Exercise, Tree};
use keel_keeper::quant::bs::{self, OptionInputs, OptionKind};
use keel_keeper::quant::iv::implied_vol;
use keel_keeper::quant::svi::{calibrate, SlicePoint, Svi};
use std::hint::black_box;

/// 64 inputs spanning moneyness 0.7..1.3 and vol 20%..83%, cycled so nothing is constant-folded.
fn inputs() -> Vec<(f64, f64, f64, f64, f64)> {
    (0..64).map(|i| (100.0, 70.0 + 0.95 * f64::from(i), 0.03, 0.2 + 0.01 * f64::from(i), 0.4)).collect()
}

fn pricing(c: &mut Criterion) {
    let xs = inputs();
    let opts: Vec<OptionInputs> =
        xs.iter().map(|(s, k, r, v, t)| OptionInputs::black_scholes(OptionKind::Call, *s, *k, *t, *v, *r)).collect();
    let mut g = c.benchmark_group("price_and_greeks");
    g.bench_function("keel (price, delta, gamma, vega, theta, rho)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            bs::greeks(black_box(&opts[i]))
        })
    });
    g.bench_function("black_scholes::compute_all", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            let (s, k, r, v, t) = xs[i];
            black_scholes::compute_all(black_box(s), black_box(k), black_box(r), black_box(v), black_box(t))
        })
    });
    g.finish();
}

fn implied_volatility(c: &mut Criterion) {
    // Undiscounted Black-76 quotes on a forward of 100, mixed moneyness, vol and expiry.
    let quotes: Vec<(f64, f64, f64, bool)> = (0..64)
        .map(|i| {
            let k = 60.0 + 1.25 * f64::from(i);
            let t = 0.02 + 0.03 * f64::from(i % 16);
            let kind = if k >= 100.0 { OptionKind::Call } else { OptionKind::Put };
            let o = OptionInputs::black76(kind, 100.0, k, t, 0.3 + 0.02 * f64::from(i % 20), 0.0);
            (bs::price(&o), k, t, kind == OptionKind::Call)
        })
        .collect();
    // Each iteration inverts all 64 quotes: per-call harness overhead and noise are amortised, so the two
    // measurements differ only by what the wrapper adds.
    let mut g = c.benchmark_group("implied_vol_64_quotes");
    g.bench_function("keel::iv::implied_vol (validated wrapper)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (p, k, t, call) in black_box(&quotes) {
                let kind = if *call { OptionKind::Call } else { OptionKind::Put };
                acc += implied_vol(kind, *p, 100.0, *k, *t).unwrap();
            }
            acc
        })
    });
    g.bench_function("implied-vol direct (builder + build + calculate)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (p, k, t, call) in black_box(&quotes) {
                acc += ImpliedBlackVolatility::builder()
                    .option_price(*p)
                    .forward(100.0)
                    .strike(*k)
                    .expiry(*t)
                    .is_call(*call)
                    .build()
                    .unwrap()
                    .calculate::<DefaultSpecialFn>()
                    .unwrap();
            }
            acc
        })
    });
    g.finish();
}

fn trees(c: &mut Criterion) {
    let put = OptionInputs::black_scholes(OptionKind::Put, 100.0, 105.0, 1.0, 0.3, 0.05);
    let mut g = c.benchmark_group("binomial");
    g.bench_function("CRR American put N=1000", |b| {
        b.iter(|| binomial::price(black_box(&put), Tree::Crr, Exercise::American, 1000))
    });
    g.bench_function("Leisen-Reimer American put N=201", |b| {
        b.iter(|| binomial::price(black_box(&put), Tree::LeisenReimer, Exercise::American, 201))
    });
    g.finish();
}

fn svi_fit(c: &mut Criterion) {
    // A 25-strike slice from a known smile with deterministic ±0.3 vol point perturbations.
    let truth = Svi { a: 0.02, b: 0.15, rho: -0.35, m: 0.05, sigma: 0.18 };
    let t = 0.25;
    let points: Vec<SlicePoint> = (0..25)
        .map(|i| {
            let k = -0.6 + 0.05 * f64::from(i);
            let noise = 0.003 * (f64::from(i) * 1.7).sin();
            SlicePoint { k, iv: truth.implied_vol(k, t) + noise, weight: 1.0 }
        })
        .collect();
    c.bench_function("svi/calibrate one 25-point slice", |b| b.iter(|| calibrate(t, black_box(&points)).unwrap()));
}

criterion_group!(benches, pricing, implied_volatility, trees, svi_fit);
criterion_main!(benches);
