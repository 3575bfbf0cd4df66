//! The charts, drawn with plotters as SVG (and PNG): latency distribution,
//! slowdown ×native, FPS timeline with inference spans shaded, memory
//! timeline with the model size, and the responsiveness CDF. A chart with
//! no data says so in words instead of drawing an empty frame.
//!
//! Text is measured with a TrueType font found on the system (DejaVu Sans
//! from the Debian package `fonts-dejavu-core`, or `WEBINFER_FONT`).

use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, text_anchor};

use crate::series::{Series, Timeline};
use crate::Error;

/// Chart size in pixels.
const SIZE: (u32, u32) = (960, 540);

/// Length of the FPS timeline window (ms).
const FPS_SPAN_MS: f64 = 4000.0;

/// A drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem, e.g. "latency".
    pub name: &'static str,
    /// Title shown above it in reports.
    pub title: &'static str,
    /// The SVG document.
    pub svg: String,
}

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
];

/// Registers a system font for text layout (once).
pub fn ensure_font() -> Result<(), Error> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let env = std::env::var("WEBINFER_FONT").ok();
        let paths = env.iter().map(String::as_str).chain(FONT_PATHS.iter().copied());
        for p in paths {
            if let Ok(bytes) = std::fs::read(p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "no TrueType font found for chart text (looked at {}); install the Debian package fonts-dejavu-core or set WEBINFER_FONT",
            FONT_PATHS.join(", ")
        ))
    })
    .clone()
    .map_err(|message| Error::Chart { name: "font".into(), message })
}

type Area<'a, DB> = DrawingArea<DB, Shift>;
type Res = Result<(), String>;

fn e2s<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Writes a centered "no data" message instead of a chart.
fn no_data<DB: DrawingBackend>(root: &Area<DB>, title: &str, why: &str) -> Res {
    root.fill(&WHITE).map_err(e2s)?;
    let (w, h) = root.dim_in_pixel();
    let style = TextStyle::from(("sans-serif", 24).into_font()).pos(text_anchor::Pos::new(
        text_anchor::HPos::Center,
        text_anchor::VPos::Center,
    ));
    root.draw_text(title, &style, (w as i32 / 2, h as i32 / 2 - 24))
        .map_err(e2s)?;
    let small = TextStyle::from(("sans-serif", 18).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(text_anchor::Pos::new(
            text_anchor::HPos::Center,
            text_anchor::VPos::Center,
        ));
    root.draw_text(
        &format!("no data: {why}"),
        &small,
        (w as i32 / 2, h as i32 / 2 + 16),
    )
    .map_err(e2s)?;
    Ok(())
}

fn quant(sorted: &[f64], p: f64) -> f64 {
    crate::stats::percentile_sorted(sorted, p).unwrap_or(0.0)
}

/// A chart with one labelled row per name (row i at y = i) and an x axis
/// from 0 to `x_max`, mesh drawn.
fn rows_chart<'a, DB: DrawingBackend>(
    root: &'a Area<DB>,
    caption: &str,
    names: &[String],
    x_max: f64,
    x_desc: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let n = names.len();
    let label_w = names.iter().map(|s| s.chars().count()).max().unwrap_or(10) as u32 * 8 + 20;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_w.min(480))
        .build_cartesian_2d(0.0..x_max, -0.5..(n as f64 - 0.5))
        .map_err(e2s)?;
    let fmt = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&fmt)
        .x_desc(x_desc)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(e2s)?;
    Ok(chart)
}

/// Horizontal box plots of prediction latency per model · backend
/// (box p25–p75, line at the median, whiskers p5–p95, dots at p1 and p99).
fn latency<DB: DrawingBackend>(root: &Area<DB>, s: &Series) -> Res {
    let groups: Vec<(&String, Vec<f64>)> = s
        .latency
        .iter()
        .filter(|(_, r)| !r.values.is_empty())
        .map(|(k, r)| {
            let mut v = r.values.clone();
            v.sort_by(f64::total_cmp);
            (k, v)
        })
        .collect();
    if groups.is_empty() {
        return no_data(root, "Prediction latency", "no inference with call > 1");
    }
    root.fill(&WHITE).map_err(e2s)?;
    let max = groups
        .iter()
        .map(|(_, v)| quant(v, 0.99))
        .fold(0.0, f64::max)
        * 1.1;
    let names: Vec<String> = groups
        .iter()
        .map(|(k, v)| format!("{k} (n={})", v.len()))
        .collect();
    let mut chart = rows_chart(
        root,
        "Prediction latency (later calls, ms)",
        &names,
        max.max(1e-3),
        "ms",
    )?;
    for (i, (_, v)) in groups.iter().enumerate() {
        let y = i as f64;
        let color = Palette99::pick(i).to_rgba();
        let (p1, p5, p25, p50, p75, p95, p99) = (
            quant(v, 0.01),
            quant(v, 0.05),
            quant(v, 0.25),
            quant(v, 0.5),
            quant(v, 0.75),
            quant(v, 0.95),
            quant(v, 0.99),
        );
        chart
            .draw_series([Rectangle::new(
                [(p25, y - 0.3), (p75, y + 0.3)],
                color.mix(0.35).filled(),
            )])
            .map_err(e2s)?;
        chart
            .draw_series([Rectangle::new(
                [(p25, y - 0.3), (p75, y + 0.3)],
                color.stroke_width(2),
            )])
            .map_err(e2s)?;
        // the median line, the whiskers and their end ticks: (from, to, width)
        let lines = [
            ((p50, y - 0.3), (p50, y + 0.3), 3),
            ((p5, y), (p25, y), 1),
            ((p75, y), (p95, y), 1),
            ((p5, y - 0.15), (p5, y + 0.15), 1),
            ((p95, y - 0.15), (p95, y + 0.15), 1),
        ];
        chart
            .draw_series(lines.map(|(a, b, w)| PathElement::new(vec![a, b], BLACK.stroke_width(w))))
            .map_err(e2s)?;
        chart
            .draw_series([p1, p99].map(|x| Circle::new((x, y), 3, BLACK.filled())))
            .map_err(e2s)?;
        chart
            .draw_series([Text::new(
                format!("p50 {p50:.1}"),
                (p50, y + 0.33),
                ("sans-serif", 14),
            )])
            .map_err(e2s)?;
    }
    root.present().map_err(e2s)
}

/// Bars of the mean slowdown ×native per model · backend · variant, with a
/// line at 1× (as fast as native).
fn slowdown<DB: DrawingBackend>(root: &Area<DB>, bars: &[(String, f64, usize)]) -> Res {
    if bars.is_empty() {
        return no_data(
            root,
            "Slowdown vs native",
            "no native baseline matched (pass --baseline with native traces)",
        );
    }
    root.fill(&WHITE).map_err(e2s)?;
    let max = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.2;
    let n = bars.len();
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let mut chart = rows_chart(
        root,
        "Slowdown vs native (browser p50 / native p50)",
        &names,
        max,
        "× native",
    )?;
    for (i, (_, x, _)) in bars.iter().enumerate() {
        let y = i as f64;
        chart
            .draw_series([Rectangle::new(
                [(0.0, y - 0.3), (*x, y + 0.3)],
                Palette99::pick(i).filled(),
            )])
            .map_err(e2s)?;
        chart
            .draw_series([Text::new(
                format!("{x:.2}×"),
                (*x, y - 0.1),
                ("sans-serif", 16),
            )])
            .map_err(e2s)?;
    }
    chart
        .draw_series([PathElement::new(
            vec![(1.0, -0.5), (1.0, n as f64 - 0.5)],
            RED.stroke_width(2),
        )])
        .map_err(e2s)?;
    chart
        .draw_series([Text::new(
            "← 1× = native speed",
            (1.0 + max * 0.01, n as f64 - 0.55),
            ("sans-serif", 14).into_font().color(&RED),
        )])
        .map_err(e2s)?;
    root.present().map_err(e2s)
}

/// Draws the series labels at `pos` and presents the chart.
fn legend_and_present<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    root: &Area<DB>,
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Res {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(e2s)?;
    root.present().map_err(e2s)
}

fn shade_windows<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    windows: &[(f64, f64)],
    y_max: f64,
) -> Res {
    chart
        .draw_series(windows.iter().map(|&(a, b)| {
            Rectangle::new(
                [(a / 1000.0, 0.0), (b / 1000.0, y_max)],
                RGBColor(255, 160, 60).mix(0.25).filled(),
            )
        }))
        .map_err(e2s)?
        .label("inference running")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 6), (x + 20, y + 6)],
                RGBColor(255, 160, 60).mix(0.4).filled(),
            )
        });
    Ok(())
}

/// Instantaneous frame rate (1000 / frame interval) over time, inference
/// windows shaded.
fn fps<DB: DrawingBackend>(root: &Area<DB>, t: Option<&Timeline>) -> Res {
    let Some(t) = t.filter(|t| t.frames.len() >= 2) else {
        return no_data(
            root,
            "Frame rate over time",
            "no session with requestAnimationFrame frames and inferences",
        );
    };
    root.fill(&WHITE).map_err(e2s)?;
    // the first FPS_SPAN_MS from shortly before the first inference, so single frames stay visible
    let from = t
        .windows
        .first()
        .map(|w| w.0 - 250.0)
        .unwrap_or(t.frames[0])
        .max(t.frames[0]);
    let to = from + FPS_SPAN_MS;
    let pts: Vec<(f64, f64)> = t
        .frames
        .windows(2)
        .filter(|w| w[1] > w[0] && w[1] >= from && w[1] <= to)
        .map(|w| (w[1] / 1000.0, 1000.0 / (w[1] - w[0])))
        .collect();
    let (x0, x1) = (from / 1000.0, to.min(t.frames[t.frames.len() - 1]) / 1000.0);
    let windows: Vec<(f64, f64)> = t
        .windows
        .iter()
        .filter(|w| w.1 >= from && w.0 <= to)
        .map(|w| (w.0.max(from), w.1.min(to)))
        .collect();
    let y_max = pts.iter().map(|p| p.1).fold(0.0, f64::max).min(240.0) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Frame rate — session {} (first {:.0} s of inference)",
                t.title,
                FPS_SPAN_MS / 1000.0
            ),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-3), 0.0..y_max.max(1.0))
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("time since time origin (s)")
        .y_desc("frames per second")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(e2s)?;
    shade_windows(&mut chart, &windows, y_max)?;
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|&(x, y)| (x, y.min(y_max))),
            BLUE.stroke_width(1),
        ))
        .map_err(e2s)?
        .label("1000 / frame interval")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    legend_and_present(root, &mut chart, SeriesLabelPosition::LowerRight)
}

/// Memory of each source over time (MB) with the model size as a dashed line.
fn memory<DB: DrawingBackend>(root: &Area<DB>, t: Option<&Timeline>) -> Res {
    let Some(t) = t.filter(|t| !t.mem.is_empty()) else {
        return no_data(
            root,
            "Memory over time",
            "no session with mem samples and model_load bytes",
        );
    };
    root.fill(&WHITE).map_err(e2s)?;
    const MB: f64 = 1024.0 * 1024.0;
    let x0 = t.mem.iter().map(|m| m.0).fold(f64::INFINITY, f64::min) / 1000.0;
    let x1 = t.mem.iter().map(|m| m.0).fold(f64::NEG_INFINITY, f64::max) / 1000.0;
    let model_mb = t.model_bytes.unwrap_or(0.0) / MB;
    let y_max = t.mem.iter().map(|m| m.2 / MB).fold(model_mb, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Memory over time — session {}", t.title),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-3), 0.0..y_max.max(1e-3))
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("time since time origin (s)")
        .y_desc("MiB")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(e2s)?;
    let mut sources: Vec<&str> = t.mem.iter().map(|m| m.1).collect();
    sources.sort();
    sources.dedup();
    for (i, src) in sources.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                t.mem
                    .iter()
                    .filter(|m| m.1 == *src)
                    .map(|m| (m.0 / 1000.0, m.2 / MB)),
                color.stroke_width(2),
            ))
            .map_err(e2s)?
            .label(*src)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    if model_mb > 0.0 {
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, model_mb), (x1, model_mb)],
                8,
                6,
                BLACK.stroke_width(2),
            ))
            .map_err(e2s)?
            .label(format!("model size {model_mb:.1} MiB"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    legend_and_present(root, &mut chart, SeriesLabelPosition::UpperLeft)
}

/// Smallest delay drawn on the log axis (ms).
const X_MIN: f64 = 0.1;

/// Empirical CDFs of main-thread probe delay inside vs outside inference.
fn responsiveness<DB: DrawingBackend>(root: &Area<DB>, s: &Series) -> Res {
    let mut inside = s.probes_inside.values.clone();
    let mut outside = s.probes_outside.values.clone();
    if inside.is_empty() && outside.is_empty() {
        return no_data(root, "Main-thread responsiveness", "no probe records");
    }
    inside.sort_by(f64::total_cmp);
    outside.sort_by(f64::total_cmp);
    root.fill(&WHITE).map_err(e2s)?;
    let x_max = [inside.last(), outside.last()]
        .into_iter()
        .flatten()
        .fold(1.0, |a: f64, b| a.max(*b))
        * 1.2;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Probe delay CDF, inside vs outside inference",
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((X_MIN..x_max).log_scale(), 0.0..1.0)
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|x| format!("{x}"))
        .x_desc("probe delay (ms, log scale; delays below 0.1 ms drawn at 0.1)")
        .y_desc("share of probes ≤ x")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(e2s)?;
    for (name, v, color) in [
        ("inside inference", &inside, RED),
        ("outside inference", &outside, BLUE),
    ] {
        if v.is_empty() {
            continue;
        }
        let n = v.len() as f64;
        let step = (v.len() / 2000).max(1);
        let mut pts: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .step_by(step)
            .map(|(i, &x)| (x.max(X_MIN), (i + 1) as f64 / n))
            .collect();
        pts.push((v[v.len() - 1].max(X_MIN), 1.0));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(e2s)?
            .label(format!("{name} (n={})", v.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    legend_and_present(root, &mut chart, SeriesLabelPosition::LowerRight)
}

/// The chart names, titles and drawing functions, in report order.
fn draw_on<DB: DrawingBackend>(
    name: &str,
    root: &Area<DB>,
    s: &Series,
    bars: &[(String, f64, usize)],
) -> Res {
    match name {
        "latency" => latency(root, s),
        "slowdown" => slowdown(root, bars),
        "fps-timeline" => fps(root, s.fps.as_ref()),
        "memory-timeline" => memory(root, s.memory.as_ref()),
        _ => responsiveness(root, s),
    }
}

/// Every chart: (file stem, title).
pub const CHARTS: &[(&str, &str)] = &[
    ("latency", "Prediction latency per model and backend"),
    ("slowdown", "Slowdown vs native"),
    ("fps-timeline", "Frame rate with inference spans shaded"),
    ("memory-timeline", "Memory over time with the model size"),
    (
        "responsiveness-cdf",
        "Probe delay inside vs outside inference",
    ),
];

/// Draws every chart as SVG.
pub fn draw_svgs(s: &Series, bars: &[(String, f64, usize)]) -> Result<Vec<Chart>, Error> {
    ensure_font()?;
    let mut out = Vec::new();
    for (name, title) in CHARTS {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            draw_on(name, &root, s, bars).map_err(|message| Error::Chart {
                name: name.to_string(),
                message,
            })?;
        }
        out.push(Chart { name, title, svg });
    }
    Ok(out)
}

/// Draws every chart as PNG into `dir`.
pub fn draw_pngs(
    s: &Series,
    bars: &[(String, f64, usize)],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, Error> {
    ensure_font()?;
    let mut out = Vec::new();
    for (name, _) in CHARTS {
        let path = dir.join(format!("{name}.png"));
        {
            let root = BitMapBackend::new(&path, SIZE).into_drawing_area();
            draw_on(name, &root, s, bars).map_err(|message| Error::Chart {
                name: name.to_string(),
                message,
            })?;
        }
        out.push(path);
    }
    Ok(out)
}
