//! The demo's HTML report: summary, plots (spot and NAV, delta against the mandate band with rebalances, health
//! and VaR) and the event log, next to the JSON report.
use super::Report;
use crate::plot::{svg, Chart, Line, COLOURS, GREY};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn series(r: &Report, f: impl Fn(&super::Step) -> f64) -> Vec<(f64, f64)> {
    r.steps.iter().map(|s| (s.hour as f64, f(s))).collect()
}

/// The four charts, in report order.
pub fn charts(r: &Report) -> std::io::Result<Vec<String>> {
    let line = |name: &str, pts, c| Line::new(Some(name.to_string()), pts, c);
    Ok(vec![
        svg(&Chart {
            title: "Spot (oracle price)",
            x_desc: "hour",
            y_desc: "USDC",
            height: 260,
            lines: vec![line("spot", series(r, |s| s.spot), COLOURS[0])],
            markers: vec![],
        })?,
        svg(&Chart {
            title: "Vault NAV (steps down when a withdrawal is paid out)",
            x_desc: "hour",
            y_desc: "USDC",
            height: 260,
            lines: (0..r.vaults)
                .map(|v| {
                    let pts = series(r, |s| s.vault_navs.get(v).copied().unwrap_or(f64::NAN));
                    line(&format!("vault {v} NAV"), pts, COLOURS[(v + 2) % COLOURS.len()])
                })
                .collect(),
            markers: vec![],
        })?,
        svg(&Chart {
            title: "Delta after each hour vs the mandate band (red: hours the keeper rebalanced)",
            x_desc: "hour",
            y_desc: "delta (underlying units)",
            height: 300,
            lines: vec![
                line("band", series(r, |s| s.band), GREY),
                Line::new(None, series(r, |s| -s.band), GREY),
                line("delta", series(r, |s| s.delta), COLOURS[0]),
            ],
            markers: r
                .steps
                .iter()
                .filter(|s| s.outcome.starts_with("rebalanced"))
                .map(|s| (s.hour as f64, s.delta))
                .collect(),
        })?,
        svg(&Chart {
            title: "Health (equity / maintenance) and VaR (worst scenario loss / NAV)",
            x_desc: "hour",
            y_desc: "ratio",
            height: 260,
            lines: vec![
                line("health", series(r, |s| s.health.min(20.0)), COLOURS[3]),
                line("VaR / NAV", series(r, |s| s.var_fraction), COLOURS[1]),
            ],
            markers: vec![],
        })?,
    ])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// File names of [`charts`] when written on their own (the README's pictures are two of them).
pub const CHART_FILES: [&str; 4] = ["spot.svg", "nav.svg", "delta.svg", "health.svg"];

/// Writes `report.html` into `dir`, and each chart as its own SVG file beside it; returns the report's path.
pub fn write_html(r: &Report, dir: &Path) -> std::io::Result<PathBuf> {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Keel demo</title><style>\
body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f4f4f4}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>Keel embedded demo</h1><p>The real keel-venue and keel-vault programs on an in-process Solana bank, \
{} vault(s), {} hourly steps (seed {}). Deposited {:.2} USDC; final NAV {:.2}; {} keeper rebalances paid {:.4} USDC in \
rewards; the circuit breaker was tripped for {} hours; a withdrawal of {:.2} USDC was paid after its delay; token \
balances reconciled: <b>{}</b>.</p>",
        r.vaults,
        r.steps.len(),
        r.seed,
        r.deposited_usdc,
        r.final_nav_usdc,
        r.rebalances,
        r.rewards_usdc,
        r.breaker_hours,
        r.withdrawal_paid_usdc,
        r.reconciled
    );
    std::fs::create_dir_all(dir)?;
    for (c, name) in charts(r)?.iter().zip(CHART_FILES) {
        h.push_str(c);
        std::fs::write(dir.join(name), c)?;
    }
    h.push_str("<h2>Events</h2><table><tr><th>hour</th><th>spot</th><th>keeper</th><th>other</th></tr>");
    for s in &r.steps {
        if s.outcome.starts_with("rebalanced") || !s.events.is_empty() || s.outcome.starts_with("rejected") {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                s.hour,
                s.spot,
                escape(&s.outcome),
                escape(&s.events.join("; "))
            );
        }
    }
    h.push_str(
        "</table><h2>Rounding audit</h2><p>Each share operation against exact pro rata at the NAV and supply it was \
priced at (token units; docs/math.md, \"Share maths\"): rounding is below the pool's own price and is always under one \
unit; the shortfall adds the virtual offset's cut and must stay within the bound.</p><table><tr><th>operation</th>\
<th>tokens</th><th>shares</th><th>NAV</th><th>supply</th><th>rounding</th><th>shortfall</th><th>bound</th><th>ok</th></tr>",
    );
    for o in &r.share_ops {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.operation),
            o.amount,
            o.shares,
            o.nav,
            o.total_shares,
            o.rounding_units,
            o.shortfall_units,
            o.bound_units,
            o.within_bound
        );
    }
    h.push_str("</table></body></html>\n");
    let path = dir.join("report.html");
    std::fs::write(&path, h)?;
    Ok(path)
}
