//! The report for people: one section per page group (the `--group-by`
//! keys without the model keys, e.g. one audit run's label · variant ·
//! browser) with a headline strip of the few numbers that matter, each
//! with a plain-language line, the chart beside the number it explains,
//! one narrow row per model and the session metrics once; a comparison
//! across page groups as grouped bars with 95% CIs when there is more than
//! one group or repeats. The HTML and Markdown writers render the same
//! [`Document`] in the same order.

use crate::aggregate::{Cell, Group};
use crate::analysis::Analysis;
use crate::series::{short_model, Series};
use crate::table::M;
use crate::Error;

use super::charts::{self, Bars, Chart, Plot};
use super::{fmt_cell, fmt_value, Section};

/// One headline number.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// What it is, e.g. "Prediction p50 · model.onnx · wasm".
    pub label: String,
    /// The number, formatted with its unit (mean ± 95% CI over sessions).
    pub value: String,
    /// What it means, in plain words.
    pub line: String,
    /// The chart that explains it ([`Chart::name`]), if drawn.
    pub chart: Option<String>,
}

/// One page group's section.
#[derive(Debug, Clone)]
pub struct PageReport {
    /// HTML id and chart-name prefix, e.g. "p1".
    pub id: String,
    /// The group's key values joined with " · ".
    pub title: String,
    /// Sessions in the group.
    pub sessions: u32,
    /// The headline strip.
    pub tiles: Vec<Tile>,
    /// The page's charts (only those with data).
    pub charts: Vec<Chart>,
    /// One row per model of the page.
    pub models: Section,
    /// The session-level metrics, once: metric, value, column.
    pub session: Section,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Document {
    /// The input summary lines.
    pub summary: Vec<String>,
    /// Comparison charts across page groups (empty with one group of one session).
    pub comparison: Vec<Chart>,
    /// One section per page group.
    pub pages: Vec<PageReport>,
    /// The full tables (every metric), for the collapsible appendix.
    pub appendix: Vec<Section>,
}

impl Document {
    /// Every chart of the document, in document order.
    pub fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.comparison
            .iter()
            .chain(self.pages.iter().flat_map(|p| p.charts.iter()))
    }
}

/// "inference halves the frame rate" and similar: r = inside / outside;
/// r ≥ 0.95 → "barely changes" (or "is higher" above 1.05); r within 10%
/// of 1/k for k = 2…10 → "halves", "cuts … to a third", …; else "cuts … by
/// (1 − r) · 100 %".
pub fn fps_words(outside: f64, inside: f64) -> String {
    if outside <= 0.0 {
        return "no frames outside inference to compare with".into();
    }
    let r = inside / outside;
    if r > 1.05 {
        return "the frame rate is higher while inferring".into();
    }
    if r >= 0.95 {
        return "inference barely changes the frame rate".into();
    }
    let k = (1.0 / r.max(1e-9)).round();
    const NAMES: [&str; 9] = [
        "",
        "a third",
        "a quarter",
        "a fifth",
        "a sixth",
        "a seventh",
        "an eighth",
        "a ninth",
        "a tenth",
    ];
    if (2.0..=10.0).contains(&k) && (r * k - 1.0).abs() <= 0.1 {
        if k == 2.0 {
            return "inference halves the frame rate".into();
        }
        return format!("inference cuts the frame rate to {}", NAMES[k as usize - 2]);
    }
    format!("inference cuts the frame rate by {:.0}%", (1.0 - r) * 100.0)
}

/// The probe-delay line: inside ≤ 1.2 × outside + 1 ms → "barely delays";
/// else "main-thread tasks wait up to `inside` (p95) while a model runs,
/// inside / outside × as long as otherwise".
pub fn delay_words(inside: f64, outside: f64) -> String {
    if inside <= outside * 1.2 + 1.0 {
        return format!(
            "inference barely delays the main thread (p95 {} vs {} otherwise)",
            fmt_value(M::ProbeP95Inside, inside),
            fmt_value(M::ProbeP95Outside, outside)
        );
    }
    let ratio = if outside > 0.0 {
        format!(", {:.0}× as long as otherwise", inside / outside)
    } else {
        String::new()
    };
    format!(
        "main-thread tasks wait up to {} (p95) while a model runs{ratio}",
        fmt_value(M::ProbeP95Inside, inside)
    )
}

/// The ×native line: x < 0.9 → faster than native; x ≤ 1.1 → "about
/// native speed"; else "x× slower than native (native p50)".
pub fn slowdown_words(x: f64, native_p50: Option<f64>) -> String {
    let native = native_p50.map_or(String::new(), |n| {
        format!(" ({} natively)", fmt_value(M::NativeP50, n))
    });
    if x < 0.9 {
        format!("faster than native: {x:.2}×{native}")
    } else if x <= 1.1 {
        format!("about native speed: {x:.2}×{native}")
    } else {
        format!("{x:.1}× slower than native{native}")
    }
}

/// The memory line: growth for inference against the model size, and the
/// renderer's RSS growth when known.
pub fn memory_words(growth: f64, model: Option<f64>, renderer: Option<f64>) -> String {
    let mut l =
        "JS heap + wasm + GPU memory from before the first model load to the peak".to_owned();
    if let Some(m) = model.filter(|m| *m > 0.0) {
        l.push_str(&format!(
            ": {:.1}× the model's {}",
            growth / m,
            fmt_value(M::ModelBytes, m)
        ));
    }
    if let Some(r) = renderer {
        l.push_str(&format!(
            "; the page's renderer process grew by {}",
            fmt_value(M::RendererRssGrowth, r)
        ));
    }
    l
}

/// The group's display name: non-empty key values joined with " · ".
pub fn group_name(keys: &[String]) -> String {
    let parts: Vec<&str> = keys
        .iter()
        .filter(|k| !k.is_empty())
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        "all sessions".into()
    } else {
        parts.join(" · ")
    }
}

/// The model groups of `a.aggregate` that belong to page group `g`.
fn model_groups<'a>(a: &'a Analysis, g: &Group) -> Vec<&'a Group> {
    let idx: Vec<Option<usize>> = a
        .page_aggregate
        .keys
        .iter()
        .map(|k| a.aggregate.keys.iter().position(|x| x == k))
        .collect();
    a.aggregate
        .groups
        .iter()
        .filter(|mg| {
            idx.iter()
                .zip(&g.keys)
                .all(|(i, k)| i.is_none_or(|i| &mg.keys[i] == k))
        })
        .filter(|mg| mg.cell(M::InferN).mean.is_some() || mg.cell(M::GenN).mean.is_some())
        .collect()
}

/// "model · backend" of a model group (the keys that are not page keys).
fn model_name(a: &Analysis, mg: &Group) -> String {
    let key = |name: &str| {
        a.aggregate
            .keys
            .iter()
            .position(|k| k == name)
            .map(|i| mg.keys[i].as_str())
            .filter(|v| !v.is_empty())
    };
    let mut parts = vec![key("model").map_or("model".to_owned(), short_model)];
    if let Some(b) = key("backend") {
        parts.push(b.to_owned());
    }
    parts.join(" · ")
}

fn value(m: M, c: Cell) -> Option<String> {
    c.mean.map(|_| fmt_cell(m, c))
}

/// The headline strip of one page group.
fn tiles(a: &Analysis, g: &Group, charts: &[Chart], id: &str) -> Vec<Tile> {
    let has = |suffix: &str| {
        let name = format!("{id}-{suffix}");
        charts.iter().any(|c| c.name == name).then_some(name)
    };
    let mut out = Vec::new();
    for mg in model_groups(a, g) {
        let name = model_name(a, mg);
        let n = mg.cell(M::InferN).mean.unwrap_or(0.0);
        if let Some(p50) = value(M::PredP50, mg.cell(M::PredP50)) {
            let mut line = match mg.cell(M::SlowdownX).mean {
                Some(x) => slowdown_words(x, mg.cell(M::NativeP50).mean),
                None => "no native baseline matched (pass --baseline)".into(),
            };
            line.push_str(&format!("; {n:.0} inferences per session"));
            out.push(Tile {
                label: format!("Prediction p50 · {name}"),
                value: p50,
                line,
                chart: has("latency"),
            });
        } else if n > 0.0 {
            out.push(Tile {
                label: format!("Inferences · {name}"),
                value: format!("{n:.0}"),
                line: "only a first call: no later calls for a typical latency".into(),
                chart: None,
            });
        }
        let setup = mg.cell(M::SetupMs).mean;
        let warm = mg.cell(M::WarmupMs).mean;
        if setup.is_some() || warm.is_some() {
            let mut parts = Vec::new();
            if let Some(s) = setup {
                parts.push(format!(
                    "loading the model took {}",
                    fmt_value(M::SetupMs, s)
                ));
            }
            if let Some(w) = warm {
                let mut l = format!("the first call {}", fmt_value(M::WarmupMs, w));
                if let Some(p) = mg.cell(M::PredP50).mean.filter(|p| *p > 0.0) {
                    l.push_str(&format!(", {:.1}× a typical call", w / p));
                }
                parts.push(l);
            }
            let (label, value) = match (setup, warm) {
                (Some(s), Some(w)) => (
                    "Setup + warm-up",
                    format!(
                        "{} + {}",
                        fmt_value(M::SetupMs, s),
                        fmt_value(M::WarmupMs, w)
                    ),
                ),
                (Some(s), None) => ("Setup", fmt_value(M::SetupMs, s)),
                (None, w) => (
                    "Warm-up (no model_load seen)",
                    fmt_value(M::WarmupMs, w.unwrap_or(0.0)),
                ),
            };
            out.push(Tile {
                label: format!("{label} · {name}"),
                value,
                line: parts.join("; "),
                chart: None,
            });
        }
        if let Some(t) = value(M::GenTokensPerS, mg.cell(M::GenTokensPerS)) {
            let ttft = mg.cell(M::GenTtftP50).mean.map_or(String::new(), |x| {
                format!("; first token after {}", fmt_value(M::GenTtftP50, x))
            });
            out.push(Tile {
                label: format!("Generation · {name}"),
                value: format!("{t} tokens/s"),
                line: format!("output tokens per second of generation{ttft}"),
                chart: None,
            });
        }
    }
    if let (Some(o), Some(i)) = (g.cell(M::FpsOutside).mean, g.cell(M::FpsInside).mean) {
        out.push(Tile {
            label: "Frame rate outside → inside inference".into(),
            value: format!(
                "{} → {} fps",
                fmt_cell(M::FpsOutside, g.cell(M::FpsOutside)),
                fmt_cell(M::FpsInside, g.cell(M::FpsInside))
            ),
            line: fps_words(o, i),
            chart: has("fps"),
        });
    }
    if let (Some(i), Some(o)) = (
        g.cell(M::ProbeP95Inside).mean,
        g.cell(M::ProbeP95Outside).mean,
    ) {
        out.push(Tile {
            label: "Main-thread delay under inference (probe p95)".into(),
            value: fmt_cell(M::ProbeP95Inside, g.cell(M::ProbeP95Inside)),
            line: delay_words(i, o),
            chart: has("probes"),
        });
    }
    if let Some(d) = value(M::InputDelayP95Inside, g.cell(M::InputDelayP95Inside)) {
        let other = g.cell(M::InputDelayP95Outside).mean.map_or(
            "no input outside inference to compare with".to_owned(),
            |o| format!("{} otherwise", fmt_value(M::InputDelayP95Outside, o)),
        );
        out.push(Tile {
            label: "Input delay under inference (p95)".into(),
            value: d,
            line: format!(
                "input events that arrived while a model ran waited this long before their handlers ran; {other}"
            ),
            chart: None,
        });
    } else if let Some(d) = value(M::InputDelayP95, g.cell(M::InputDelayP95)) {
        out.push(Tile {
            label: "Input delay p95".into(),
            value: d,
            line: "how long input events waited before their handlers ran (p95); none arrived during inference".into(),
            chart: None,
        });
    }
    if let Some(gr) = g.cell(M::MemGrowth).mean {
        out.push(Tile {
            label: "Memory attributable to inference".into(),
            value: format!("+{}", fmt_cell(M::MemGrowth, g.cell(M::MemGrowth))),
            line: memory_words(
                gr,
                g.cell(M::ModelBytes).mean,
                g.cell(M::RendererRssGrowth).mean,
            ),
            chart: has("memory"),
        });
    } else if let Some(r) = value(M::RendererRssGrowth, g.cell(M::RendererRssGrowth)) {
        out.push(Tile {
            label: "Renderer RSS growth".into(),
            value: format!("+{r}"),
            line: "the page's renderer process from before the first model load to its peak".into(),
            chart: has("memory"),
        });
    }
    out
}

/// Session metrics shown once per page, in this order.
const PAGE_METRICS: &[M] = &[
    M::ModelBytes,
    M::MemGrowth,
    M::MemGrowthX,
    M::RendererRssGrowth,
    M::BrowserRssGrowth,
    M::PeakJsHeap,
    M::PeakWasm,
    M::PeakTfGpu,
    M::PeakRss,
    M::FpsOutside,
    M::FpsInside,
    M::DroppedOutside,
    M::DroppedInside,
    M::FrameTimeIncrease,
    M::LongTasks,
    M::TbtMs,
    M::LoafBlockingMs,
    M::VideoFps,
    M::ProbeP95Outside,
    M::ProbeP95Inside,
    M::InputDelayP95,
    M::InputDelayP95Outside,
    M::InputDelayP95Inside,
    M::InteractionP98,
    M::FcpMs,
    M::LcpMs,
    M::Records,
    M::LostRecords,
    M::FoldedRecords,
    M::HelperInfers,
];

fn session_table(g: &Group) -> Section {
    let rows = PAGE_METRICS
        .iter()
        .filter(|m| g.cell(**m).n > 0)
        .map(|m| {
            vec![
                m.title().to_owned(),
                fmt_cell(*m, g.cell(*m)),
                m.name().to_owned(),
            ]
        })
        .collect();
    Section {
        title: "Page metrics".into(),
        note: format!(
            "Once per page, mean ± 95% CI over {} session(s); definitions in the appendix.",
            g.sessions
        ),
        headers: ["metric", "value", "column"].map(String::from).to_vec(),
        rows,
    }
}

fn model_table(a: &Analysis, g: &Group) -> Section {
    let groups = model_groups(a, g);
    let mut metrics = vec![
        M::InferN,
        M::SetupMs,
        M::WarmupMs,
        M::PredP50,
        M::PredP90,
        M::SlowdownX,
    ];
    if groups.iter().any(|mg| mg.cell(M::GenN).n > 0) {
        metrics.extend([M::GenTokensPerS, M::GenTtftP50]);
    }
    let mut headers = vec!["model".to_owned(), "sessions".to_owned()];
    headers.extend(metrics.iter().map(|m| short_title(*m).to_owned()));
    let rows = groups
        .iter()
        .map(|mg| {
            let mut r = vec![model_name(a, mg), mg.sessions.to_string()];
            r.extend(metrics.iter().map(|m| fmt_cell(*m, mg.cell(*m))));
            r
        })
        .collect();
    Section {
        title: "Models".into(),
        note: "One row per model · backend; prediction = later calls (call > 1).".into(),
        headers,
        rows,
    }
}

/// A short column header for the narrow model table.
fn short_title(m: M) -> &'static str {
    match m {
        M::InferN => "inferences",
        M::SetupMs => "setup",
        M::WarmupMs => "warm-up",
        M::PredP50 => "p50",
        M::PredP90 => "p90",
        M::SlowdownX => "×native",
        M::GenTokensPerS => "tokens/s",
        M::GenTtftP50 => "TTFT p50",
        _ => m.title(),
    }
}

fn chart(name: String, title: String, alt: String, plot: Plot<'_>) -> Result<Chart, Error> {
    let svg = charts::svg(&name, plot, &title)?;
    Ok(Chart {
        name,
        title,
        alt,
        svg,
    })
}

/// Adds the bar chart `b` named `name` to `out`, unless it has no bars.
fn push_bars(out: &mut Vec<Chart>, name: &str, b: &Bars) -> Result<(), Error> {
    if b.count() > 0 {
        out.push(chart(
            name.into(),
            b.title.clone(),
            bars_alt(b),
            Plot::Bars(b),
        )?);
    }
    Ok(())
}

fn pctl(v: &[f64], p: f64) -> f64 {
    crate::stats::percentile(v, p).unwrap_or(0.0)
}

/// A page's charts, those with data only.
fn page_charts(id: &str, name: &str, s: &Series) -> Result<Vec<Chart>, Error> {
    let mut out = Vec::new();
    let groups: Vec<String> = s
        .latency
        .iter()
        .filter(|(_, r)| !r.values.is_empty())
        .map(|(k, r)| {
            format!(
                "{k}: p50 {:.1} ms, p95 {:.1} ms over {} calls",
                pctl(&r.values, 0.5),
                pctl(&r.values, 0.95),
                r.seen
            )
        })
        .collect();
    if !groups.is_empty() {
        out.push(chart(
            format!("{id}-latency"),
            format!("Prediction latency (ms, later calls) — {name}"),
            format!(
                "Box plots (p25–p75, median line, whiskers p5–p95, dots p1 and p99). {}.",
                groups.join("; ")
            ),
            Plot::Latency(s),
        )?);
    }
    if let Some(t) = s.fps.as_ref() {
        let steps = charts::fps_steps(t);
        if !steps.is_empty() {
            let w = crate::metrics::windows::Windows::from_spans(t.windows.iter().copied());
            let (inside, outside): (Vec<_>, Vec<_>) =
                steps.iter().partition(|(a, b, _)| w.overlaps(*a, *b));
            let med = |v: &[&(f64, f64, f64)]| {
                let f: Vec<f64> = v.iter().map(|x| x.2).collect();
                crate::stats::percentile(&f, 0.5)
                    .map_or("–".to_owned(), |x| format!("{x:.0} fps"))
            };
            out.push(chart(
                format!("{id}-fps"),
                format!(
                    "Frame rate (fps) per frame interval, inference shaded — session {}",
                    t.title
                ),
                format!(
                    "{} frame intervals from {:.1} s to {:.1} s, each a step at 1000 / its length; median {} during inference ({} intervals), {} otherwise ({} intervals).",
                    steps.len(),
                    steps[0].0 / 1000.0,
                    steps[steps.len() - 1].1 / 1000.0,
                    med(&inside),
                    inside.len(),
                    med(&outside),
                    outside.len()
                ),
                Plot::Fps(Some(t)),
            )?);
        }
    }
    if let Some(t) = s.memory.as_ref() {
        let panels: Vec<String> = charts::mem_sources(t)
            .iter()
            .map(|(k, title)| {
                let peak = t
                    .mem
                    .iter()
                    .filter(|m| m.1 == *k)
                    .map(|m| m.2)
                    .fold(0.0, f64::max);
                format!("{title} peak {:.1} MiB", peak / 1048576.0)
            })
            .collect();
        let model = t.model_bytes.map_or(String::new(), |b| {
            format!(" Model size {:.1} MiB (dashed).", b / 1048576.0)
        });
        out.push(chart(
            format!("{id}-memory"),
            format!(
                "Memory per source (MiB, one panel each), model size dashed — session {}",
                t.title
            ),
            format!("{}.{model}", panels.join("; ")),
            Plot::Memory(Some(t)),
        )?);
    }
    let (pi, po) = (&s.probes_inside.values, &s.probes_outside.values);
    if !pi.is_empty() || !po.is_empty() {
        out.push(chart(
            format!("{id}-probes"),
            format!("Probe delay CDF (ms, log axis), inside vs outside inference — {name}"),
            format!(
                "{} probes during inference (p95 {:.1} ms), {} otherwise (p95 {:.1} ms).",
                s.probes_inside.seen,
                pctl(pi, 0.95),
                s.probes_outside.seen,
                pctl(po, 0.95)
            ),
            Plot::Probes(s),
        )?);
    }
    Ok(out)
}

fn cell_bar(m: M, c: Cell) -> Option<(f64, Option<f64>, String)> {
    let mean = c.mean?;
    let scale = if m.unit() == "B" { 1048576.0 } else { 1.0 };
    Some((mean / scale, c.ci95.map(|x| x / scale), fmt_cell(m, c)))
}

fn bars_alt(b: &Bars) -> String {
    let mut parts = Vec::new();
    for (c, row) in b.categories.iter().zip(&b.values) {
        let vals: Vec<String> = b
            .series
            .iter()
            .zip(row)
            .filter_map(|(s, v)| v.as_ref().map(|v| format!("{s} {}", v.2)))
            .collect();
        if !vals.is_empty() {
            parts.push(format!("{c}: {}", vals.join(", ")));
        }
    }
    format!("Bars are means, whiskers 95% CIs. {}.", parts.join("; "))
}

/// The comparison charts across page groups: prediction p50 and ×native
/// per model (bars per page group), FPS and probe delay outside vs inside,
/// memory growth, per page group.
fn comparison(a: &Analysis) -> Result<Vec<Chart>, Error> {
    let pages: Vec<&Group> = a.page_aggregate.groups.iter().collect();
    let repeats = pages.iter().any(|g| g.sessions > 1);
    if pages.len() < 2 && !repeats {
        return Ok(Vec::new());
    }
    let page_names: Vec<String> = pages.iter().map(|g| group_name(&g.keys)).collect();
    let mut out = Vec::new();
    // per model: categories = model · backend, series = page groups
    let mut models: Vec<String> = Vec::new();
    let mut cells: Vec<(usize, usize, &Group)> = Vec::new();
    for (j, g) in pages.iter().enumerate() {
        for mg in model_groups(a, g) {
            let n = model_name(a, mg);
            let i = match models.iter().position(|m| *m == n) {
                Some(i) => i,
                None => {
                    models.push(n);
                    models.len() - 1
                }
            };
            cells.push((i, j, mg));
        }
    }
    let per_model = |m: M| {
        let mut v = vec![vec![None; pages.len()]; models.len()];
        for (i, j, mg) in &cells {
            v[*i][*j] = cell_bar(m, mg.cell(m));
        }
        v
    };
    let specs = [
        (
            "cmp-p50",
            "Prediction p50 (ms) per model, by page group",
            "ms (mean over sessions, whisker = 95% CI)",
            M::PredP50,
            None,
        ),
        (
            "cmp-slowdown",
            "Slowdown ×native (browser p50 / native p50) per model, by page group",
            "× native",
            M::SlowdownX,
            Some((1.0, "1× = native speed".to_owned())),
        ),
    ];
    for (name, title, x_desc, m, reference) in specs {
        let b = Bars {
            title: title.into(),
            x_desc: x_desc.into(),
            categories: models.clone(),
            series: page_names.clone(),
            values: per_model(m),
            reference,
        };
        push_bars(&mut out, name, &b)?;
    }
    // per page group: categories = page groups, series = outside / inside
    let pairs = [
        (
            "cmp-fps",
            "Frame rate (fps) outside vs inside inference, by page group",
            "frames per second (mean over sessions, whisker = 95% CI)",
            [M::FpsOutside, M::FpsInside],
        ),
        (
            "cmp-probes",
            "Main-thread probe delay p95 (ms) outside vs inside inference, by page group",
            "ms (mean over sessions, whisker = 95% CI)",
            [M::ProbeP95Outside, M::ProbeP95Inside],
        ),
    ];
    for (name, title, x_desc, ms) in pairs {
        let b = Bars {
            title: title.into(),
            x_desc: x_desc.into(),
            categories: page_names.clone(),
            series: vec!["outside inference".into(), "inside inference".into()],
            values: pages
                .iter()
                .map(|g| ms.iter().map(|m| cell_bar(*m, g.cell(*m))).collect())
                .collect(),
            reference: None,
        };
        push_bars(&mut out, name, &b)?;
    }
    let b = Bars {
        title: "Memory attributable to inference (MiB, JS heap + wasm + GPU growth), by page group"
            .into(),
        x_desc: "MiB (mean over sessions, whisker = 95% CI)".into(),
        categories: page_names.clone(),
        series: vec!["memory growth".into()],
        values: pages
            .iter()
            .map(|g| vec![cell_bar(M::MemGrowth, g.cell(M::MemGrowth))])
            .collect(),
        reference: None,
    };
    push_bars(&mut out, "cmp-memory", &b)?;
    Ok(out)
}

/// Builds the report document.
pub fn document(a: &Analysis) -> Result<Document, Error> {
    let empty = Series::default();
    let mut pages = Vec::new();
    for (i, g) in a.page_aggregate.groups.iter().enumerate() {
        let id = format!("p{}", i + 1);
        let title = group_name(&g.keys);
        let s = a.page_series.get(&g.keys).unwrap_or(&empty);
        let charts = page_charts(&id, &title, s)?;
        let tiles = tiles(a, g, &charts, &id);
        pages.push(PageReport {
            models: model_table(a, g),
            session: session_table(g),
            id,
            title,
            sessions: g.sessions,
            tiles,
            charts,
        });
    }
    Ok(Document {
        summary: super::summary_lines(a),
        comparison: comparison(a)?,
        pages,
        appendix: super::sections(a)?,
    })
}
