//! Where the backtest's option-pricing volatility comes from: a constant, a realised-volatility estimate from the
//! prices seen so far (EWMA, the keeper's own forecaster), or Deribit's DVOL index (../shared/data/vol).
//! No look-ahead: DVOL uses the close of the last day that ended before the decision; realised vol only past bars.
use crate::market_data::{read_csv, DataError};
use crate::strategy::forecast::{Ewma, VolForecast};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Daily DVOL closes (percent), as (day start in seconds, annualised vol as a fraction).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Dvol {
    pub days: Vec<(i64, f64)>,
}

#[derive(Deserialize)]
struct DvolRow {
    date_utc: chrono::NaiveDate,
    close: f64,
}

impl Dvol {
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let rows: Vec<DvolRow> = read_csv(path)?;
        let days = rows
            .into_iter()
            .map(|r| (r.date_utc.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp()).unwrap_or(0), r.close / 100.0))
            .collect();
        Ok(Dvol { days })
    }

    /// The close of the latest day that ended at or before `t` (a day's close is known at its end).
    pub fn at(&self, t: i64) -> Option<f64> {
        let i = self.days.partition_point(|(start, _)| start + 86_400 <= t);
        i.checked_sub(1).map(|i| self.days[i].1)
    }
}

/// The configured source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum VolSource {
    Constant {
        vol: f64,
    },
    /// EWMA realised volatility (λ per bar) times a premium (implied usually trades above realised), floored.
    Realised {
        lambda: f64,
        premium: f64,
        floor: f64,
    },
    /// DVOL closes from this file; before its first day, `fallback`.
    Dvol {
        path: String,
        fallback: f64,
    },
}

impl VolSource {
    /// Parses `constant:0.8`, `realised`, `realised:0.99`, `dvol` (the shared data's BTC DVOL) or `dvol:<path>`.
    pub fn parse(spec: &str, default_dvol: &Path) -> Result<Self, String> {
        let (kind, arg) = spec.split_once(':').map_or((spec, None), |(k, a)| (k, Some(a)));
        let num = |a: &str| a.parse::<f64>().map_err(|_| format!("--vol {spec}: `{a}` is not a number"));
        match (kind, arg) {
            ("constant", Some(a)) => Ok(VolSource::Constant { vol: num(a)? }),
            ("realised", a) => {
                Ok(VolSource::Realised { lambda: a.map(num).transpose()?.unwrap_or(0.99), premium: 1.1, floor: 0.2 })
            }
            ("dvol", a) => Ok(VolSource::Dvol {
                path: a.map_or_else(|| default_dvol.display().to_string(), str::to_string),
                fallback: 0.8,
            }),
            _ => Err(format!(
                "--vol {spec}: use constant:<vol> (e.g. constant:0.8), realised[:<lambda>] or dvol[:<csv path>]"
            )),
        }
    }

    /// A stateful reader for one run.
    pub fn start(&self) -> Result<VolReader, DataError> {
        Ok(match self {
            VolSource::Constant { vol } => VolReader::Constant(*vol),
            VolSource::Realised { lambda, premium, floor } => {
                VolReader::Realised { ewma: Ewma::new(*lambda), premium: *premium, floor: *floor }
            }
            VolSource::Dvol { path, fallback } => {
                VolReader::Dvol { dvol: Dvol::load(Path::new(path))?, fallback: *fallback }
            }
        })
    }
}

pub enum VolReader {
    Constant(f64),
    Realised { ewma: Ewma, premium: f64, floor: f64 },
    Dvol { dvol: Dvol, fallback: f64 },
}

impl VolReader {
    /// Feeds the bar at `t`, then returns the volatility to price with at `t`.
    pub fn next(&mut self, t: i64, price: f64) -> f64 {
        match self {
            VolReader::Constant(v) => *v,
            VolReader::Realised { ewma, premium, floor } => {
                ewma.observe(t, price);
                ewma.annual_vol().map_or(*floor, |v| (v * *premium).max(*floor))
            }
            VolReader::Dvol { dvol, fallback } => dvol.at(t).unwrap_or(*fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::shared_data_dir;

    #[test]
    fn dvol_is_read_without_look_ahead() {
        let path = shared_data_dir().join("vol/BTC_DVOL_1d_deribit.csv");
        let d = Dvol::load(&path).unwrap();
        // 2021-03-24 closed at 95.04; 2021-03-25 at 89.74.
        let day = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        assert_eq!(d.at(day("2021-03-24T12:00:00Z")), None, "the first day's close is not known during it");
        assert_eq!(d.at(day("2021-03-25T00:00:00Z")), Some(0.9504));
        assert_eq!(d.at(day("2021-03-25T23:00:00Z")), Some(0.9504));
        assert_eq!(d.at(day("2021-03-26T00:00:00Z")), Some(0.8974));
        let mut r = VolSource::parse("dvol", &path).unwrap().start().unwrap();
        assert_eq!(r.next(day("2021-03-24T12:00:00Z"), 1.0), 0.8, "fallback before the first close");
    }

    #[test]
    fn specs_parse_or_say_what_to_do() {
        let p = Path::new("x.csv");
        assert_eq!(VolSource::parse("constant:0.6", p), Ok(VolSource::Constant { vol: 0.6 }));
        assert_eq!(VolSource::parse("realised", p), Ok(VolSource::Realised { lambda: 0.99, premium: 1.1, floor: 0.2 }));
        assert_eq!(VolSource::parse("dvol:y.csv", p), Ok(VolSource::Dvol { path: "y.csv".into(), fallback: 0.8 }));
        assert!(VolSource::parse("constant:abc", p).unwrap_err().contains("not a number"));
        assert!(VolSource::parse("implied", p).unwrap_err().contains("use constant:<vol>"));
        let mut r = VolSource::Realised { lambda: 0.9, premium: 1.0, floor: 0.1 }.start().unwrap();
        assert_eq!(r.next(0, 100.0), 0.1, "floor until there is a return");
        let v = r.next(3_600, 101.0);
        assert!(v > 0.1 && v.is_finite());
    }
}
