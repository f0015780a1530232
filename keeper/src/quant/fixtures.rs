//! Synthetic books shared by tests and benchmarks (deterministic, no data files needed).
use super::bs::{Book, OptionInputs, OptionKind};
use super::risk::Portfolio;

/// `n` options on one underlying across 8 expiries (7 days..1 year), strikes 0.6..1.4 x spot (puts below spot,
/// calls above), a smile of 50% + 30% x |ln K/S|, sizes alternating long 5 / short 3, plus 40 units of linear.
pub fn sample_book(n: usize, spot: f64) -> Portfolio {
    let mut book = Book::default();
    let expiries = [7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 180.0, 365.0];
    for i in 0..n {
        let t = expiries[i % 8] / 365.0;
        let strike = spot * (0.6 + 0.8 * (i as f64 / n as f64));
        let kind = if strike >= spot { OptionKind::Call } else { OptionKind::Put };
        let vol = 0.5 + 0.3 * (strike / spot).ln().abs();
        book.push(OptionInputs::black76(kind, spot, strike, t, vol, 0.0), if i % 3 == 0 { 5.0 } else { -3.0 });
    }
    Portfolio { options: book, linear: 40.0, spot }
}
