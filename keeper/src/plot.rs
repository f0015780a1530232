//! SVG line charts for the reports (backtest and demo): one function, plotters' SVG backend, no font stack.
use plotters::prelude::*;

/// Line colours, in order (matplotlib's first four, readable on white).
pub const COLOURS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];
pub const GREY: RGBColor = RGBColor(150, 150, 150);

/// At most about 3,000 points per line: an SVG with every hourly bar of several years is megabytes and no clearer.
const MAX_POINTS: usize = 3_000;

pub struct Line {
    pub name: Option<String>,
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
    /// Draw a dot at every point (for sparse series such as a frontier).
    pub dots: bool,
}

impl Line {
    pub fn new(name: Option<String>, points: Vec<(f64, f64)>, colour: RGBColor) -> Self {
        Line { name, points, colour, dots: false }
    }
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub height: u32,
    pub lines: Vec<Line>,
    /// Points marked with red dots (e.g. rebalances).
    pub markers: Vec<(f64, f64)>,
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

/// Renders the chart as an SVG document (900 px wide).
pub fn svg(c: &Chart) -> std::io::Result<String> {
    let all = || c.lines.iter().flat_map(|l| l.points.iter()).chain(c.markers.iter());
    let (xl, xh) = range(all().map(|p| p.0));
    let (yl, yh) = range(all().map(|p| p.1));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, c.height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(c.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(xl..xh, yl..yh)
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc(c.x_desc).y_desc(c.y_desc).draw().map_err(plot_err)?;
        let mut legend = false;
        for l in &c.lines {
            let step = (l.points.len() / MAX_POINTS).max(1);
            let colour = l.colour;
            let series =
                chart.draw_series(LineSeries::new(l.points.iter().step_by(step).copied(), colour)).map_err(plot_err)?;
            if let Some(name) = &l.name {
                legend = true;
                series.label(name.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            }
            if l.dots {
                chart.draw_series(l.points.iter().map(|p| Circle::new(*p, 4, colour.filled()))).map_err(plot_err)?;
            }
        }
        chart.draw_series(c.markers.iter().map(|p| Circle::new(*p, 3, COLOURS[1].filled()))).map_err(plot_err)?;
        if legend {
            chart.configure_series_labels().background_style(WHITE).border_style(BLACK).draw().map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_renders_lines_legend_and_markers_and_thins_long_series() {
        let long: Vec<(f64, f64)> = (0..30_000).map(|i| (i as f64, (i as f64).sin())).collect();
        let c = Chart {
            title: "t",
            x_desc: "x",
            y_desc: "y",
            height: 300,
            lines: vec![Line::new(Some("sine".into()), long, COLOURS[0])],
            markers: vec![(1.0, 0.5), (2.0, -0.5)],
        };
        let s = svg(&c).unwrap();
        assert!(s.starts_with("<svg") && s.contains("sine"));
        assert_eq!(s.matches("<circle").count(), 2);
        // 30,000 points thinned to 3,000: the SVG stays small.
        assert!(s.len() < 200_000, "{} bytes", s.len());
        // Empty charts still render (a run with no data yet).
        let empty = Chart { title: "e", x_desc: "", y_desc: "", height: 200, lines: vec![], markers: vec![] };
        assert!(svg(&empty).unwrap().contains("<svg"));
    }
}
