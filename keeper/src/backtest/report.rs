//! Backtest reports: `report.json` (everything but the per-bar series), `metrics.csv` (one row per policy and
//! window), `bars_<n>.csv` per policy, and `report.html` with SVG plots — equity curves, delta and band over time
//! with rebalance marks, and the cost-versus-hedging-error frontier across policies and parameters.
use super::metrics::Metrics;
use super::Backtest;
use crate::plot::{svg, Chart, Line, COLOURS, GREY};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DAY: f64 = 86_400.0;

/// Paths of the written files.
#[derive(Debug)]
pub struct Written {
    pub json: PathBuf,
    pub csv: PathBuf,
    pub html: PathBuf,
    pub bars: Vec<PathBuf>,
}

/// Equity of every policy against days since the start.
pub fn equity_svg(bt: &Backtest) -> std::io::Result<String> {
    let t0 = bt.runs.first().and_then(|r| r.bars.first()).map_or(0, |b| b.t);
    let lines = bt
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let pts = r.bars.iter().map(|b| ((b.t - t0) as f64 / DAY, b.equity)).collect();
            Line::new(Some(r.policy.clone()), pts, COLOURS[i % COLOURS.len()])
        })
        .collect();
    svg(&Chart { title: "Equity", x_desc: "days", y_desc: "equity (quote)", height: 360, lines, markers: vec![] })
}

/// One policy's book delta per contract with its band (±) and rebalance marks.
pub fn delta_band_svg(bt: &Backtest, index: usize) -> std::io::Result<String> {
    let run = &bt.runs[index];
    let t0 = run.bars.first().map_or(0, |b| b.t);
    let x = |t: i64| (t - t0) as f64 / DAY;
    let title = format!("Delta per contract and band: {}", run.policy);
    svg(&Chart {
        title: &title,
        x_desc: "days",
        y_desc: "delta per contract",
        height: 300,
        lines: vec![
            Line::new(None, run.bars.iter().map(|b| (x(b.t), b.band)).collect(), GREY),
            Line::new(None, run.bars.iter().map(|b| (x(b.t), -b.band)).collect(), GREY),
            Line::new(None, run.bars.iter().map(|b| (x(b.t), b.delta)).collect(), COLOURS[0]),
        ],
        markers: run.bars.iter().filter(|b| b.rebalanced).map(|b| (x(b.t), b.delta)).collect(),
    })
}

/// Hedging costs against hedging-error standard deviation, one line per policy family.
pub fn frontier_svg(bt: &Backtest) -> std::io::Result<String> {
    let mut families: Vec<&str> = bt.frontier.iter().map(|p| p.policy.as_str()).collect();
    families.dedup();
    let lines = families
        .iter()
        .enumerate()
        .map(|(i, fam)| {
            let mut pts: Vec<(f64, f64)> =
                bt.frontier.iter().filter(|p| p.policy == *fam).map(|p| (p.hedge_error_std, p.hedging_costs)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Line { dots: true, ..Line::new(Some(fam.to_string()), pts, COLOURS[i % COLOURS.len()]) }
        })
        .collect();
    svg(&Chart {
        title: "Hedging cost vs hedging error (each point: one parameter value)",
        x_desc: "hedging error std per bar (quote)",
        y_desc: "hedging costs (quote)",
        height: 360,
        lines,
        markers: vec![],
    })
}

const CSV_HEADER: &str = "window,policy,start,end,pnl,annual_return,annual_vol,sharpe,max_drawdown,hedge_error_std,\
turnover,fees,spread,slippage,tx_fees,keeper_rewards,option_trading,liquidation_penalties,total_costs,rebalances,\
refused_rebalances,time_outside_mandate,liquidations";

fn csv_row(window: &str, m: &Metrics) -> String {
    let c = &m.costs;
    format!(
        "{window},{},{},{},{:.2},{:.6},{:.6},{:.4},{:.6},{:.4},{:.4},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{},{},{:.6},{}",
        m.policy,
        m.start,
        m.end,
        m.pnl,
        m.annual_return,
        m.annual_vol,
        m.sharpe,
        m.max_drawdown,
        m.hedge_error_std,
        m.turnover,
        c.fees,
        c.spread,
        c.slippage,
        c.tx_fees,
        c.keeper_rewards,
        c.option_trading,
        c.liquidation_penalties,
        m.total_costs,
        m.rebalances,
        m.refused_rebalances,
        m.time_outside_mandate,
        m.liquidations
    )
}

fn html_table(out: &mut String, rows: &[Metrics]) {
    out.push_str("<table><tr><th>policy</th><th>P&amp;L</th><th>annual return</th><th>annual vol</th><th>Sharpe</th>\
<th>max drawdown</th><th>hedge error std</th><th>turnover (x capital / yr)</th><th>total costs</th><th>keeper rewards</th>\
<th>rebalances</th><th>refused</th><th>outside mandate</th><th>liquidations</th></tr>");
    for m in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.0}</td><td>{:.2}%</td><td>{:.2}%</td><td>{:.2}</td><td>{:.2}%</td><td>{:.2}</td>\
<td>{:.1}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td></tr>",
            m.policy,
            m.pnl,
            m.annual_return * 100.0,
            m.annual_vol * 100.0,
            m.sharpe,
            m.max_drawdown * 100.0,
            m.hedge_error_std,
            m.turnover,
            m.total_costs,
            m.keeper_rewards,
            m.rebalances,
            m.refused_rebalances,
            m.time_outside_mandate * 100.0,
            m.liquidations
        );
    }
    out.push_str("</table>");
}

/// Writes every report file into `dir` (created if needed).
pub fn write(bt: &Backtest, dir: &Path) -> std::io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(bt).map_err(std::io::Error::other)?)?;
    let mut csv = format!("{CSV_HEADER}\n");
    for m in &bt.metrics {
        csv.push_str(&csv_row("all", m));
        csv.push('\n');
    }
    for w in &bt.windows {
        for m in &w.metrics {
            csv.push_str(&csv_row(&w.name, m));
            csv.push('\n');
        }
    }
    let csv_path = dir.join("metrics.csv");
    std::fs::write(&csv_path, csv)?;
    let mut bars = Vec::new();
    for (i, run) in bt.runs.iter().enumerate() {
        let mut s = String::from("t,spot,equity,delta,band,rebalanced,outside_mandate,health,hedge_error\n");
        for b in &run.bars {
            let _ = writeln!(
                s,
                "{},{},{:.4},{:.6},{:.6},{},{},{:.4},{:.4}",
                b.t, b.spot, b.equity, b.delta, b.band, b.rebalanced, b.outside_mandate, b.health, b.hedge_error
            );
        }
        let p = dir.join(format!("bars_{i}.csv"));
        std::fs::write(&p, s)?;
        bars.push(p);
    }
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Keel backtest</title><style>\
body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>Keel backtest</h1><p>{} — {} bars, {} gaps ({} missing bars, never filled). Strategy: short {}-delta \
strangles, {}-day tenor, hedged in the perp. Costs: fee {} bp, half-spread {} bp, impact {} bp per million, tx fee \
{} per transaction, latency {} slots.</p><h2>All data</h2>",
        bt.source,
        bt.bars,
        bt.gaps,
        bt.missing_bars,
        bt.config.strategy.target_delta,
        bt.config.strategy.tenor_days,
        bt.config.costs.fee_bps,
        bt.config.costs.half_spread_bps,
        bt.config.costs.impact_bps_per_million,
        bt.config.costs.tx_fee,
        bt.config.costs.latency_slots
    );
    html_table(&mut html, &bt.metrics);
    // Each plot is also written as its own SVG file (for documents that link them).
    let plot = |html: &mut String, name: &str, svg: String| -> std::io::Result<()> {
        std::fs::write(dir.join(name), &svg)?;
        html.push_str(&svg);
        Ok(())
    };
    plot(&mut html, "equity.svg", equity_svg(bt)?)?;
    for i in 0..bt.runs.len() {
        plot(&mut html, &format!("delta_{i}.svg"), delta_band_svg(bt, i)?)?;
    }
    if !bt.frontier.is_empty() {
        html.push_str("<h2>Hedging cost / hedging-error frontier</h2>");
        plot(&mut html, "frontier.svg", frontier_svg(bt)?)?;
    }
    for w in &bt.windows {
        let _ = write!(html, "<h2>Window: {}</h2>", w.name);
        html_table(&mut html, &w.metrics);
    }
    html.push_str("</body></html>\n");
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, html)?;
    Ok(Written { json, csv: csv_path, html: html_path, bars })
}
