//! The charts, drawn with plotters as SVG (and PNG): latency distribution,
//! slowdown ×native, frame rate per frame interval (steps, inference spans
//! shaded), memory with one panel per source and the model size as a
//! reference line, the responsiveness CDF, and grouped bars with 95% CIs
//! for comparisons across page groups. Every chart's title names its unit
//! and the session or group it shows. A chart with no data says so in
//! words instead of drawing an empty frame.
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
    /// File stem and HTML id, e.g. "latency" or "p1-fps".
    pub name: String,
    /// Title shown above it in reports.
    pub title: String,
    /// A text alternative: what the chart shows, in one or two sentences.
    pub alt: String,
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
    let mut builder = ChartBuilder::on(root);
    if !caption.is_empty() {
        builder.caption(caption, ("sans-serif", 24));
    }
    let mut chart = builder
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_w.min(420))
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
fn latency<DB: DrawingBackend>(root: &Area<DB>, s: &Series, caption: &str) -> Res {
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
    let mut chart = rows_chart(root, caption, &names, max.max(1e-3), "ms")?;
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

/// The frame intervals `(a, b, fps)` drawn by [`fps`]: the first
/// [`FPS_SPAN_MS`] from 250 ms before the first inference, fps = 1000 / (b − a).
pub fn fps_steps(t: &Timeline) -> Vec<(f64, f64, f64)> {
    let Some(&first) = t.frames.first() else {
        return Vec::new();
    };
    let from = t
        .windows
        .first()
        .map(|w| w.0 - 250.0)
        .unwrap_or(first)
        .max(first);
    let to = from + FPS_SPAN_MS;
    t.frames
        .windows(2)
        .filter(|w| w[1] > w[0] && w[0] >= from && w[1] <= to)
        .map(|w| (w[0], w[1], 1000.0 / (w[1] - w[0])))
        .collect()
}

/// Frame rate per frame interval over time: each interval [tᵢ, tᵢ₊₁] is a
/// horizontal step at 1000 / (tᵢ₊₁ − tᵢ) fps spanning exactly that
/// interval (a long frame is a long, low step; nothing is interpolated),
/// inference windows shaded.
fn fps<DB: DrawingBackend>(root: &Area<DB>, t: Option<&Timeline>, caption: &str) -> Res {
    let steps = t.map(fps_steps).unwrap_or_default();
    let Some(t) = t.filter(|_| !steps.is_empty()) else {
        return no_data(
            root,
            "Frame rate over time",
            "no session with requestAnimationFrame frames and inferences",
        );
    };
    root.fill(&WHITE).map_err(e2s)?;
    let x0 = steps[0].0 / 1000.0;
    let x1 = steps[steps.len() - 1].1 / 1000.0;
    let windows: Vec<(f64, f64)> = t
        .windows
        .iter()
        .filter(|w| w.1 >= steps[0].0 && w.0 <= steps[steps.len() - 1].1)
        .map(|w| (w.0.max(steps[0].0), w.1.min(steps[steps.len() - 1].1)))
        .collect();
    let y_max = steps.iter().map(|p| p.2).fold(0.0, f64::max).min(240.0) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 22))
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
        .draw_series(steps.iter().map(|&(a, b, f)| {
            PathElement::new(
                vec![(a / 1000.0, f.min(y_max)), (b / 1000.0, f.min(y_max))],
                BLUE.stroke_width(2),
            )
        }))
        .map_err(e2s)?
        .label("one frame interval: 1000 / its length")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    legend_and_present(root, &mut chart, SeriesLabelPosition::LowerRight)
}

/// Panel names of the memory sources, in panel order.
pub const MEM_PANELS: &[(&str, &str)] = &[
    ("js_heap_used", "JS heap used"),
    ("wasm_bytes", "wasm memory"),
    ("tf_bytes", "TF.js tensor bytes"),
    ("tf_gpu_bytes", "TF.js GPU bytes"),
    ("ua_bytes", "UA-specific memory"),
    ("renderer_rss", "renderer process RSS"),
    ("rss", "whole-browser RSS (all processes, context)"),
];

/// The memory sources a timeline has, in [`MEM_PANELS`] order.
pub fn mem_sources(t: &Timeline) -> Vec<(&'static str, &'static str)> {
    MEM_PANELS
        .iter()
        .filter(|(k, _)| t.mem.iter().any(|m| m.1 == *k))
        .copied()
        .collect()
}

/// Height of a memory chart with `n` panels.
fn memory_height(n: usize) -> u32 {
    60 + 170 * n.max(1) as u32
}

/// Memory over time, one panel per source with its own MiB axis from 0
/// (so a small source is not flattened by the browser's RSS), the samples
/// as points joined by thin lines, the model size as a dashed reference
/// line, inference windows shaded.
fn memory<DB: DrawingBackend>(root: &Area<DB>, t: Option<&Timeline>, caption: &str) -> Res {
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
    let x1 = x1.max(x0 + 1e-3);
    let model_mb = t.model_bytes.unwrap_or(0.0) / MB;
    let sources = mem_sources(t);
    let body = root.titled(caption, ("sans-serif", 22)).map_err(e2s)?;
    let panels = body.split_evenly((sources.len(), 1));
    for (i, ((src, name), area)) in sources.iter().zip(&panels).enumerate() {
        let pts: Vec<(f64, f64)> = t
            .mem
            .iter()
            .filter(|m| m.1 == *src)
            .map(|m| (m.0 / 1000.0, m.2 / MB))
            .collect();
        let peak = pts.iter().map(|p| p.1).fold(0.0, f64::max);
        let y_max = peak.max(model_mb) * 1.15;
        let last = i + 1 == sources.len();
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{name} (MiB), peak {peak:.1} MiB"),
                ("sans-serif", 16),
            )
            .margin_left(16)
            .margin_right(16)
            .x_label_area_size(if last { 44 } else { 22 })
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, 0.0..y_max.max(1e-3))
            .map_err(e2s)?;
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(TRANSPARENT)
            .y_desc("MiB")
            .y_labels(4)
            .label_style(("sans-serif", 13));
        if last {
            mesh.x_desc("time since time origin (s)");
        }
        mesh.draw().map_err(e2s)?;
        chart
            .draw_series(t.windows.iter().map(|&(a, b)| {
                Rectangle::new(
                    [((a / 1000.0).max(x0), 0.0), ((b / 1000.0).min(x1), y_max)],
                    RGBColor(255, 160, 60).mix(0.25).filled(),
                )
            }))
            .map_err(e2s)?;
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(1)))
            .map_err(e2s)?;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(e2s)?;
        if model_mb > 0.0 {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, model_mb), (x1, model_mb)],
                    8,
                    6,
                    BLACK.stroke_width(2),
                ))
                .map_err(e2s)?;
            chart
                .draw_series([Text::new(
                    format!("model size {model_mb:.1} MiB"),
                    (x0, model_mb),
                    ("sans-serif", 13).into_font(),
                )])
                .map_err(e2s)?;
        }
    }
    root.present().map_err(e2s)
}

/// Smallest delay drawn on the log axis (ms).
const X_MIN: f64 = 0.1;

/// Empirical CDFs of main-thread probe delay inside vs outside inference,
/// drawn as steps (share of probes ≤ x), log delay axis.
fn responsiveness<DB: DrawingBackend>(root: &Area<DB>, s: &Series, caption: &str) -> Res {
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
        .caption(caption, ("sans-serif", 22))
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
        // the empirical CDF is a step function: flat between delays, a
        // vertical rise at each (at most 2000 steps drawn)
        let n = v.len() as f64;
        let step = (v.len() / 2000).max(1);
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let mut below = 0.0;
        for (i, &x) in v.iter().enumerate().step_by(step) {
            let x = x.max(X_MIN);
            pts.push((x, below));
            below = (i + 1) as f64 / n;
            pts.push((x, below));
        }
        pts.push((v[v.len() - 1].max(X_MIN), 1.0));
        pts.push((x_max, 1.0));
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

/// One bar: mean, 95% CI half-width, the label written beside it.
pub type Bar = (f64, Option<f64>, String);

/// Grouped horizontal bars: one band per category, one bar per series in
/// it (same colour per series across bands, legend), each bar the mean
/// with its 95% CI half-width as a whisker.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Chart title (with the unit).
    pub title: String,
    /// The x-axis description (the unit).
    pub x_desc: String,
    /// Band labels, top to bottom.
    pub categories: Vec<String>,
    /// Series names (legend), in bar order within a band.
    pub series: Vec<String>,
    /// `values[category][series]`: (mean, CI half-width, label) or none.
    pub values: Vec<Vec<Option<Bar>>>,
    /// A vertical reference line: (x, label), e.g. 1× = native speed.
    pub reference: Option<(f64, String)>,
}

impl Bars {
    /// Bars with a value.
    pub fn count(&self) -> usize {
        self.values.iter().flatten().filter(|v| v.is_some()).count()
    }

    /// Bar slots per band: the most series with a value in one category.
    fn slots(&self) -> usize {
        self.values
            .iter()
            .map(|row| row.iter().filter(|v| v.is_some()).count())
            .max()
            .unwrap_or(0)
            .max(1)
    }

    fn height(&self) -> u32 {
        let per = self.slots() as u32 * 22 + 14;
        (130 + per * self.categories.len() as u32).max(260) + legend_height(self.series.len())
    }
}

/// Series colours of grouped bars (Tableau 10, distinguishable with the
/// common colour-vision deficiencies): blue first, then orange, the colour
/// of the shaded inference spans, so "outside / inside inference" reads the
/// same on every chart.
const SERIES_COLORS: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

fn series_color(j: usize) -> RGBColor {
    SERIES_COLORS[j % SERIES_COLORS.len()]
}

/// Height of the legend strip under grouped bars.
fn legend_height(series: usize) -> u32 {
    16 + 20 * series as u32
}

fn bars<DB: DrawingBackend>(root: &Area<DB>, b: &Bars) -> Res {
    if b.count() == 0 {
        return no_data(root, &b.title, "no group has a value");
    }
    root.fill(&WHITE).map_err(e2s)?;
    let hi = b
        .values
        .iter()
        .flatten()
        .flatten()
        .map(|(m, ci, _)| m + ci.unwrap_or(0.0))
        .fold(b.reference.as_ref().map_or(0.0, |r| r.0), f64::max);
    // room on the right of the longest bar for its value label
    let x_max = (hi * 1.25).max(1e-3);
    let body = root.titled(&b.title, ("sans-serif", 22)).map_err(e2s)?;
    // the legend in its own strip under the bars, so it never covers one
    let (_, body_h) = body.dim_in_pixel();
    let (plot, legend) =
        body.split_vertically(body_h.saturating_sub(legend_height(b.series.len())));
    for (j, name) in b.series.iter().enumerate() {
        let y = 8 + j as i32 * 20;
        legend
            .draw(&Rectangle::new(
                [(40, y), (56, y + 12)],
                series_color(j).filled(),
            ))
            .map_err(e2s)?;
        legend
            .draw(&Text::new(name.clone(), (62, y), ("sans-serif", 13)))
            .map_err(e2s)?;
    }
    // the first category on top: category i sits at row n − 1 − i; within a
    // band only the series with a value take a slot, in series order
    let n = b.categories.len();
    let names: Vec<String> = b.categories.iter().rev().cloned().collect();
    let mut chart = rows_chart(&plot, "", &names, x_max, &b.x_desc)?;
    let slots = b.slots();
    let h = 0.8 / slots as f64;
    let mut cells: Vec<(usize, f64, f64, Option<f64>, String)> = Vec::new();
    for (i, row) in b.values.iter().enumerate() {
        let filled = row
            .iter()
            .enumerate()
            .filter_map(|(j, v)| Some((j, v.as_ref()?)));
        for (k, (j, (m, ci, label))) in filled.enumerate() {
            let y = (n - 1 - i) as f64 + 0.4 - (k as f64 + 0.5) * h;
            cells.push((j, y, *m, *ci, label.clone()));
        }
    }
    chart
        .draw_series(cells.iter().map(|&(j, y, m, _, _)| {
            Rectangle::new(
                [(0.0, y - h * 0.42), (m, y + h * 0.42)],
                series_color(j).filled(),
            )
        }))
        .map_err(e2s)?;
    for (_, y, m, ci, label) in &cells {
        let mut end = *m;
        if let Some(ci) = ci {
            let (a, c) = ((m - ci).max(0.0), m + ci);
            end = c;
            let w = h * 0.25;
            chart
                .draw_series([
                    PathElement::new(vec![(a, *y), (c, *y)], BLACK.stroke_width(1)),
                    PathElement::new(vec![(a, y - w), (a, y + w)], BLACK.stroke_width(1)),
                    PathElement::new(vec![(c, y - w), (c, y + w)], BLACK.stroke_width(1)),
                ])
                .map_err(e2s)?;
        }
        chart
            .draw_series([Text::new(
                label.clone(),
                (end + x_max * 0.01, *y + h * 0.3),
                ("sans-serif", 13),
            )])
            .map_err(e2s)?;
    }
    if let Some((x, label)) = &b.reference {
        let n = n as f64;
        chart
            .draw_series([PathElement::new(
                vec![(*x, -0.5), (*x, n - 0.5)],
                RED.stroke_width(2),
            )])
            .map_err(e2s)?;
        chart
            .draw_series([Text::new(
                label.clone(),
                (x + x_max * 0.01, n - 0.55),
                ("sans-serif", 14).into_font().color(&RED),
            )])
            .map_err(e2s)?;
    }
    root.present().map_err(e2s)
}

/// What a chart draws.
#[derive(Debug, Clone, Copy)]
pub enum Plot<'a> {
    /// Box plots of prediction latency per model · backend.
    Latency(&'a Series),
    /// Slowdown bars (model · backend · variant, mean ×native, rows).
    Slowdown(&'a [(String, f64, usize)]),
    /// Frame-rate steps of a timeline.
    Fps(Option<&'a Timeline>),
    /// Memory panels of a timeline.
    Memory(Option<&'a Timeline>),
    /// Probe-delay CDFs inside vs outside inference.
    Probes(&'a Series),
    /// Grouped bars with CIs.
    Bars(&'a Bars),
}

impl Plot<'_> {
    /// Size in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Plot::Memory(Some(t)) => (SIZE.0, memory_height(mem_sources(t).len())),
            Plot::Bars(b) => (SIZE.0, b.height()),
            Plot::Latency(s) => (
                SIZE.0,
                (140 + 60 * s.latency.len() as u32).clamp(300, SIZE.1),
            ),
            _ => SIZE,
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>, caption: &str) -> Res {
        match self {
            Plot::Latency(s) => latency(root, s, caption),
            Plot::Slowdown(b) => slowdown(root, b),
            Plot::Fps(t) => fps(root, *t, caption),
            Plot::Memory(t) => memory(root, *t, caption),
            Plot::Probes(s) => responsiveness(root, s, caption),
            Plot::Bars(b) => bars(root, b),
        }
    }
}

/// Draws one chart as an SVG document; `caption` is the title drawn on it.
pub fn svg(name: &str, plot: Plot<'_>, caption: &str) -> Result<String, Error> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, plot.size()).into_drawing_area();
        plot.draw(&root, caption).map_err(|message| Error::Chart {
            name: name.to_string(),
            message,
        })?;
    }
    Ok(svg)
}

/// Draws one chart as a PNG file.
pub fn png(name: &str, plot: Plot<'_>, caption: &str, path: &std::path::Path) -> Result<(), Error> {
    ensure_font()?;
    let root = BitMapBackend::new(path, plot.size()).into_drawing_area();
    plot.draw(&root, caption).map_err(|message| Error::Chart {
        name: name.to_string(),
        message,
    })
}

/// The whole-run charts (`--format svg,png` files): (file stem, title, plot).
pub fn overall<'a>(
    s: &'a Series,
    bars: &'a [(String, f64, usize)],
) -> Vec<(&'static str, String, Plot<'a>)> {
    let session =
        |t: Option<&Timeline>| t.map_or(String::new(), |t| format!(" — session {}", t.title));
    vec![
        (
            "latency",
            "Prediction latency per model · backend, all sessions (ms, later calls)".to_owned(),
            Plot::Latency(s),
        ),
        (
            "slowdown",
            "Slowdown vs native (browser p50 / native p50, ×)".to_owned(),
            Plot::Slowdown(bars),
        ),
        (
            "fps-timeline",
            format!(
                "Frame rate (fps) per frame interval, inference shaded{}",
                session(s.fps.as_ref())
            ),
            Plot::Fps(s.fps.as_ref()),
        ),
        (
            "memory-timeline",
            format!(
                "Memory per source (MiB), model size dashed{}",
                session(s.memory.as_ref())
            ),
            Plot::Memory(s.memory.as_ref()),
        ),
        (
            "responsiveness-cdf",
            "Probe delay CDF inside vs outside inference, all sessions (ms)".to_owned(),
            Plot::Probes(s),
        ),
    ]
}

/// Writes the whole-run charts as SVG documents.
pub fn draw_svgs(s: &Series, bars: &[(String, f64, usize)]) -> Result<Vec<Chart>, Error> {
    overall(s, bars)
        .into_iter()
        .map(|(name, title, plot)| {
            Ok(Chart {
                name: name.to_owned(),
                alt: title.clone(),
                svg: svg(name, plot, &title)?,
                title,
            })
        })
        .collect()
}

/// Draws the whole-run charts as PNG into `dir`.
pub fn draw_pngs(
    s: &Series,
    bars: &[(String, f64, usize)],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut out = Vec::new();
    for (name, title, plot) in overall(s, bars) {
        let path = dir.join(format!("{name}.png"));
        png(name, plot, &title, &path)?;
        out.push(path);
    }
    Ok(out)
}
