//! Deribit option chain snapshots (../shared/data/options). Deribit BTC options are inverse: prices are in BTC per
//! option and `underlying_price` is the forward of that expiry, so the USD (forward-measure) premium is
//! `mark_price x underlying_price` and Black-76 with r = 0, F = underlying_price applies.
use super::DataError;
use crate::quant::bs::OptionKind;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::Path;

/// One option quote, converted to the units the quant library uses.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionQuote {
    pub instrument: String,
    pub snapshot: DateTime<Utc>,
    pub expiry: DateTime<Utc>,
    pub kind: OptionKind,
    pub strike: f64,
    /// Forward for the expiry (Deribit's underlying_price).
    pub forward: f64,
    /// Mark price in BTC.
    pub mark_btc: f64,
    /// Deribit's mark implied volatility as a fraction (mark_iv / 100).
    pub mark_iv: f64,
    pub bid_iv: Option<f64>,
    pub ask_iv: Option<f64>,
}

impl OptionQuote {
    /// Years to expiry, ACT/365 as Deribit computes it.
    pub fn t(&self) -> f64 {
        (self.expiry - self.snapshot).num_milliseconds() as f64 / (365.0 * 86_400_000.0)
    }
    /// Undiscounted premium in USD (forward measure).
    pub fn mark_usd(&self) -> f64 {
        self.mark_btc * self.forward
    }
    /// ln(K/F).
    pub fn log_moneyness(&self) -> f64 {
        (self.strike / self.forward).ln()
    }
}

#[derive(Deserialize)]
struct Row {
    snapshot_time_utc: DateTime<Utc>,
    instrument_name: String,
    expiry_utc: DateTime<Utc>,
    strike: f64,
    option_type: String,
    underlying_price: f64,
    mark_price: f64,
    mark_iv: f64,
    bid_iv: Option<f64>,
    ask_iv: Option<f64>,
}

/// Loads a chain file; every row must parse (a bad row is an error naming the row, not silently skipped).
pub fn load_chain(path: &Path) -> Result<Vec<OptionQuote>, DataError> {
    let rows: Vec<Row> = super::read_csv(path)?;
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let kind = match r.option_type.as_str() {
                "call" => OptionKind::Call,
                "put" => OptionKind::Put,
                other => {
                    return Err(DataError::Malformed {
                        path: path.display().to_string(),
                        row: i + 2,
                        message: format!("option_type {other}"),
                    })
                }
            };
            Ok(OptionQuote {
                instrument: r.instrument_name,
                snapshot: r.snapshot_time_utc,
                expiry: r.expiry_utc,
                kind,
                strike: r.strike,
                forward: r.underlying_price,
                mark_btc: r.mark_price,
                mark_iv: r.mark_iv / 100.0,
                bid_iv: r.bid_iv.filter(|v| *v > 0.0).map(|v| v / 100.0),
                ask_iv: r.ask_iv.filter(|v| *v > 0.0).map(|v| v / 100.0),
            })
        })
        .collect()
}

/// Groups quotes by expiry, sorted by expiry then strike.
pub fn by_expiry(quotes: &[OptionQuote]) -> Vec<(DateTime<Utc>, Vec<OptionQuote>)> {
    let mut sorted = quotes.to_vec();
    sorted.sort_by(|a, b| a.expiry.cmp(&b.expiry).then(a.strike.total_cmp(&b.strike)));
    let mut out: Vec<(DateTime<Utc>, Vec<OptionQuote>)> = Vec::new();
    for q in sorted {
        match out.last_mut() {
            Some((e, v)) if *e == q.expiry => v.push(q),
            _ => out.push((q.expiry, vec![q])),
        }
    }
    out
}
