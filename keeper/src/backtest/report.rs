//! Backtest reports: `report.json` (everything but the per-bar series), `metrics.csv` (one row per policy and
//! window), `bars_<n>.csv` per policy, and `report.html` with SVG plots — equity curves, delta and band over time
//! with rebalance marks, and the cost-versus-hedging-error frontier across policies and parameters.
use super::metrics::Metrics;
use super::Backtest;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const COLOURS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];
const DAY: f64 = 86_400.0;

/// Paths of the written files.
#[derive(Debug)]
pub struct Written {
    pub json: PathBuf,
    pub csv: PathBuf,
    pub html: PathBuf,
    pub bars: Vec<PathBuf>,
}

fn plot_err<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("plot: {e:?}"))
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

/// At most about 3,000 points per line: an SVG with every hourly bar of several years is megabytes and no clearer.
fn stride(n: usize) -> usize {
    (n / 3_000).max(1)
}

/// Equity of every policy against days since the start.
pub fn equity_svg(bt: &Backtest) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let t0 = bt.runs.first().and_then(|r| r.bars.first()).map_or(0, |b| b.t);
        let days = bt.runs.iter().flat_map(|r| r.bars.last()).map(|b| (b.t - t0) as f64 / DAY).fold(1.0, f64::max);
        let (lo, hi) = range(bt.runs.iter().flat_map(|r| r.bars.iter().map(|b| b.equity)));
        let mut chart = ChartBuilder::on(&root)
            .caption("Equity", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..days, lo..hi)
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("days").y_desc("equity (quote)").draw().map_err(plot_err)?;
        for (i, run) in bt.runs.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    run.bars.iter().step_by(stride(run.bars.len())).map(|b| ((b.t - t0) as f64 / DAY, b.equity)),
                    c,
                ))
                .map_err(plot_err)?
                .label(run.policy.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        }
        chart.configure_series_labels().background_style(WHITE).border_style(BLACK).draw().map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// One policy's book delta per contract with its band (±) and rebalance marks.
pub fn delta_band_svg(bt: &Backtest, index: usize) -> std::io::Result<String> {
    let run = &bt.runs[index];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let t0 = run.bars.first().map_or(0, |b| b.t);
        let x = |t: i64| (t - t0) as f64 / DAY;
        let days = run.bars.last().map_or(1.0, |b| x(b.t).max(1.0));
        let (lo, hi) = range(run.bars.iter().flat_map(|b| [b.delta, b.band, -b.band]));
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Delta per contract and band: {}", run.policy), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..days, lo..hi)
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("days").draw().map_err(plot_err)?;
        let grey = RGBColor(150, 150, 150);
        let k = stride(run.bars.len());
        chart
            .draw_series(LineSeries::new(run.bars.iter().step_by(k).map(|b| (x(b.t), b.band)), grey))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(run.bars.iter().step_by(k).map(|b| (x(b.t), -b.band)), grey))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(run.bars.iter().step_by(k).map(|b| (x(b.t), b.delta)), COLOURS[0]))
            .map_err(plot_err)?;
        chart
            .draw_series(
                run.bars
                    .iter()
                    .filter(|b| b.rebalanced)
                    .map(|b| Circle::new((x(b.t), b.delta), 3, COLOURS[1].filled())),
            )
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Total costs against hedging-error standard deviation, one series per policy family.
pub fn frontier_svg(bt: &Backtest) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (xl, xh) = range(bt.frontier.iter().map(|p| p.hedge_error_std));
        let (yl, yh) = range(bt.frontier.iter().map(|p| p.hedging_costs));
        let mut chart = ChartBuilder::on(&root)
            .caption("Hedging cost vs hedging error (each point: one parameter value)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(xl..xh, yl..yh)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("hedging error std per bar (quote)")
            .y_desc("hedging costs (quote)")
            .draw()
            .map_err(plot_err)?;
        let mut families: Vec<&str> = bt.frontier.iter().map(|p| p.policy.as_str()).collect();
        families.dedup();
        for (i, fam) in families.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let mut pts: Vec<(f64, f64)> =
                bt.frontier.iter().filter(|p| p.policy == *fam).map(|p| (p.hedge_error_std, p.hedging_costs)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(LineSeries::new(pts.clone(), c)).map_err(plot_err)?;
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
                .map_err(plot_err)?
                .label(fam.to_string())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        chart.configure_series_labels().background_style(WHITE).border_style(BLACK).draw().map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
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
