//! ns per operation for keel-math's I80F48 functions, side by side with the f64 reference on the same inputs.
//! Run: `cargo bench -p keel-math --bench math` (results recorded in BENCHMARKS.md).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keel_math::reference as r;
use keel_math::*;

fn elementary(c: &mut Criterion) {
    let xs: Vec<f64> = (0..64).map(|i| -3.0 + 0.1 * f64::from(i)).collect();
    let pos: Vec<f64> = (1..65).map(|i| 0.37 * f64::from(i)).collect();
    let fx = |v: &[f64]| v.iter().map(|x| I80F48::from_num(*x)).collect::<Vec<_>>();
    let (xs_fx, pos_fx) = (fx(&xs), fx(&pos));

    let mut g = c.benchmark_group("elementary");
    macro_rules! pair {
        ($name:literal, $fx_fn:expr, $f_fn:expr, $fx_in:expr, $f_in:expr) => {
            g.bench_function(concat!($name, "/I80F48"), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) & 63;
                    $fx_fn(black_box($fx_in[i])).unwrap()
                })
            });
            g.bench_function(concat!($name, "/f64"), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) & 63;
                    $f_fn(black_box($f_in[i]))
                })
            });
        };
    }
    pair!("exp", exp, r::exp, xs_fx, xs);
    pair!("ln", ln, r::ln, pos_fx, pos);
    pair!("sqrt", sqrt, r::sqrt, pos_fx, pos);
    pair!("cbrt", cbrt, r::cbrt, pos_fx, pos);
    pair!("norm_cdf", norm_cdf, r::norm_cdf, xs_fx, xs);
    pair!("norm_pdf", norm_pdf, r::norm_pdf, xs_fx, xs);
    g.finish();
}

fn black_scholes(c: &mut Criterion) {
    let cases: Vec<(f64, f64)> = (0..64).map(|i| (80.0 + f64::from(i), 0.2 + 0.01 * f64::from(i))).collect();
    let fx_cases: Vec<BsmInputs> = cases
        .iter()
        .map(|(k, v)| {
            BsmInputs::black76(
                OptionKind::Call,
                I80F48::from_num(100),
                I80F48::from_num(*k),
                I80F48::from_num(0.25),
                I80F48::from_num(*v),
                I80F48::ZERO,
            )
        })
        .collect();
    let f_cases: Vec<r::Bsm> = cases
        .iter()
        .map(|(k, v)| r::Bsm {
            kind: OptionKind::Call,
            spot: 100.0,
            strike: *k,
            t: 0.25,
            vol: *v,
            rate: 0.0,
            carry: 0.0,
        })
        .collect();

    let mut g = c.benchmark_group("black_scholes");
    g.bench_function("price/I80F48", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            price(black_box(&fx_cases[i])).unwrap()
        })
    });
    g.bench_function("price_and_greeks/I80F48", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            greeks(black_box(&fx_cases[i])).unwrap()
        })
    });
    g.bench_function("price_and_greeks/f64", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            r::bsm_greeks(black_box(&f_cases[i]))
        })
    });
    let (spots, vols) = risk::span_grid(I80F48::lit("0.15"), I80F48::lit("0.25"));
    g.bench_function("risk_array_7x2/I80F48", |b| {
        let mut out = [I80F48::ZERO; 14];
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            risk::option_risk_array(black_box(&fx_cases[i]), &spots, &vols, &mut out).unwrap();
            out[0]
        })
    });
    g.finish();
}

criterion_group!(benches, elementary, black_scholes);
criterion_main!(benches);
