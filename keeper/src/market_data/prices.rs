//! Exchange price bars (../shared/data/prices: timestamp_utc,open,high,low,close,volume; timestamp = bar open).
//! Gaps are real (exchange outages) and are never filled: [`log_returns`] only pairs bars exactly one interval
//! apart and reports how many gaps it skipped.
use super::DataError;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Bar {
    #[serde(rename = "timestamp_utc")]
    pub time: DateTime<Utc>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

pub fn load_bars(path: &Path) -> Result<Vec<Bar>, DataError> {
    let bars: Vec<Bar> = super::read_csv(path)?;
    if let Some(i) = bars.iter().position(|b| b.close.is_nan() || b.close <= 0.0 || b.close.is_infinite()) {
        return Err(DataError::Malformed {
            path: path.display().to_string(),
            row: i + 2,
            message: "non-positive close".into(),
        });
    }
    Ok(bars)
}

/// Log returns over `horizon` consecutive bars of `interval` seconds; windows that straddle a gap are skipped.
/// Returns (returns, number of windows skipped because of gaps).
pub fn log_returns(bars: &[Bar], interval_secs: i64, horizon: usize) -> (Vec<f64>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    let span = interval_secs * horizon as i64;
    for w in bars.windows(horizon + 1) {
        if (w[horizon].time - w[0].time).num_seconds() == span {
            out.push((w[horizon].close / w[0].close).ln());
        } else {
            skipped += 1;
        }
    }
    (out, skipped)
}
