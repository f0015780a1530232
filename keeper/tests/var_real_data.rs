//! Historical-simulation VaR on real hourly prices (../shared/data/prices), gaps skipped explicitly.
use keel_keeper::market_data::{prices, shared_data_dir};
use keel_keeper::quant::bs::{Book, OptionInputs, OptionKind};
use keel_keeper::quant::normal::inv_cdf;
use keel_keeper::quant::risk::{delta_gamma_var, historical_var, Portfolio};

fn daily_returns(file: &str) -> (Vec<f64>, usize) {
    let bars = prices::load_bars(&shared_data_dir().join("prices").join(file))
        .unwrap_or_else(|e| panic!("{e} (set KEEL_DATA_DIR to the shared data folder)"));
    prices::log_returns(&bars, 3600, 24)
}

#[test]
fn crypto_returns_have_fat_tails_that_hs_var_captures() {
    for (file, outage_hours) in [("SOLUSDT_1h_binance_spot.csv", 20), ("BTCUSDT_1h_binance_spot.csv", 128)] {
        let (r, skipped) = daily_returns(file);
        // Every 24-hour window that straddles a missing hour is skipped, never bridged: at least one per
        // missing hour's outage, at most 25 per missing hour.
        assert!(skipped > 0 && skipped <= 25 * outage_hours, "{file}: {skipped} windows skipped");
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        // A long linear position of one unit at 100: HS VaR vs the normal VaR with the same volatility.
        let p = Portfolio { options: Book::default(), linear: 1.0, spot: 100.0 };
        let hs = historical_var(&p, &r, 1.0 / 365.0, 0.99);
        let normal_var = -100.0 * ((mean + sd * inv_cdf(0.01)).exp() - 1.0);
        println!(
            "{file}: {} daily windows ({skipped} skipped); HS VaR99 {:.2} ES99 {:.2}; normal VaR99 {normal_var:.2}",
            r.len(),
            hs.var,
            hs.es
        );
        assert!(hs.var > normal_var, "fat left tail: HS VaR above the normal one");
        // For a normal distribution ES99/VaR99 = 1.146; crypto's is larger.
        assert!(hs.es / hs.var > 1.146 * 1.05, "ES/VaR {}", hs.es / hs.var);
    }
}

#[test]
fn short_strangle_hs_var_exceeds_its_delta_gamma_estimate() {
    let (r, _) = daily_returns("SOLUSDT_1h_binance_spot.csv");
    let spot = 100.0;
    let mut book = Book::default();
    book.push(OptionInputs::black76(OptionKind::Put, spot, 85.0, 30.0 / 365.0, 0.9, 0.0), -10.0);
    book.push(OptionInputs::black76(OptionKind::Call, spot, 115.0, 30.0 / 365.0, 0.9, 0.0), -10.0);
    let p = Portfolio { options: book, linear: 0.0, spot };
    let hs = historical_var(&p, &r, 1.0 / 365.0, 0.99);
    let g = p.greeks();
    let n = r.len() as f64;
    let daily_sd = (r.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
    let dg = delta_gamma_var(g.delta, g.gamma, spot, daily_sd * 365f64.sqrt(), 1.0 / 365.0, 0.99);
    println!(
        "short strangle: HS VaR99 {:.2} ES99 {:.2}; delta-gamma VaR99 {:.2} ES99 {:.2}",
        hs.var, hs.es, dg.var, dg.es
    );
    assert!(hs.var > 0.0 && hs.es >= hs.var);
    // Full revaluation over real fat-tailed moves finds more tail loss than the quadratic, normal-moment view.
    assert!(hs.es > dg.es, "HS ES {} vs delta-gamma ES {}", hs.es, dg.es);
}
