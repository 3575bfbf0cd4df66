//! Output: Markdown and self-contained HTML reports, the metrics as CSV
//! and Parquet, and the charts as SVG and PNG files.
//!
//! [`page::document`] turns an [`Analysis`] into the report once (one
//! section per page group with its headline strip, charts and narrow
//! tables; the comparison across groups; [`sections`], the full tables, as
//! the appendix); the Markdown and HTML writers only render it.

pub mod charts;
pub mod html;
pub mod markdown;
pub mod page;
pub mod tables;

use std::path::{Path, PathBuf};

use crate::aggregate::{aggregate, Aggregate, Cell};
use crate::analysis::{slowdown_bars, Analysis};
use crate::table::{to_frame, M};
use crate::Error;

/// Output formats of `--format`.
pub const FORMATS: &[&str] = &["md", "html", "csv", "parquet", "svg", "png"];

/// A table of formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// One line under the heading.
    pub note: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of formatted cells (empty when there is no data).
    pub rows: Vec<Vec<String>>,
}

/// Whether a family is computed per model row or once per session (page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Per session × model × backend, grouped by every `--group-by` key.
    Model,
    /// Once per session, grouped by the `--group-by` keys that are not model
    /// keys (`framework`, `model`, `backend`, `sha256`, `role`).
    Page,
}

/// The metric families, in report order.
pub const FAMILIES: &[(&str, &str, Scope, &[M])] = &[
    ("Latency", "Per session × model × backend; prediction statistics over later calls (call > 1). Helper graphs are listed apart (below).", Scope::Model, &[
        M::InferN, M::SetupMs, M::WarmupMs, M::PredP50, M::PredP90, M::PredP99, M::PredMean, M::PredStd, M::InferPerS, M::PredN,
    ]),
    ("Generation", "LLM requests (gen records) per session × model; over later requests (call > 1) when a model had several.", Scope::Model, &[
        M::GenN, M::GenTokensPerS, M::GenTtftP50, M::GenTpotP50, M::GenOutputTokens,
    ]),
    ("Video QoE", "Coverage = presented video frames with an inference of their own; age = frames between the frame on screen and the frame of the newest finished prediction.", Scope::Model, &[
        M::QoeCoverage, M::QoeAgeMean, M::QoeAgeP95,
    ]),
    ("Memory", "Once per page. Growth = (JS heap + wasm memory + TF.js GPU bytes) from before the first model load to the peak; renderer RSS growth when the trace has it; whole-browser RSS and the peaks as context. Ratios over Σ model_load bytes of the page's models (helper graphs excluded).", Scope::Page, &[
        M::ModelBytes, M::MemGrowth, M::MemGrowthX, M::RendererRssGrowth, M::BrowserRssGrowth, M::PeakJsHeap, M::PeakWasm, M::PeakTf, M::PeakTfGpu, M::PeakUa, M::PeakRss, M::MemOverheadX,
    ]),
    ("Smoothness", "Once per page. Frame intervals overlapping an inference are inside; dropped = interval > 1.5 × the session median.", Scope::Page, &[
        M::FpsInside, M::FpsOutside, M::DroppedInside, M::DroppedOutside, M::LongTasks, M::TbtMs, M::LoafBlockingMs, M::VideoFps,
    ]),
    ("Responsiveness", "Once per page. Probe delay inside vs outside inference; input delay = processing_start − start; interaction = max dur per interaction_id.", Scope::Page, &[
        M::ProbeP50Inside, M::ProbeP95Inside, M::ProbeP50Outside, M::ProbeP95Outside, M::InputDelayP95, M::InputDelayP95Inside, M::InputDelayP95Outside, M::InteractionP98,
    ]),
    ("Rendering", "Once per page. Paint timings and the frame-time increase under inference (mean interval inside vs outside).", Scope::Page, &[
        M::FcpMs, M::LcpMs, M::FrameTimeIncrease,
    ]),
    ("Trace quality", "Once per page. Records read, records lost (gaps in seq per writer), infer records folded into another layer's record of the same call, helper-graph runs.", Scope::Page, &[M::Records, M::LostRecords, M::FoldedRecords, M::HelperInfers]),
];

/// One-line definitions of every metric (also in docs/analyzer.md).
pub const DEFINITIONS: &[(M, &str)] = &[
    (M::InferN, "number of infer records of the model that count (docs/analyzer.md \"Attribution rules\": one per library call)"),
    (M::SetupMs, "dur of the model's earliest model_load (download + parse + session creation)"),
    (M::WarmupMs, "dur of the infer with call = 1"),
    (M::PredP50, "median dur over infers with call > 1 (percentiles interpolate between ranks, R type 7)"),
    (M::PredP90, "90th percentile dur over call > 1"),
    (M::PredP99, "99th percentile dur over call > 1"),
    (M::PredMean, "mean dur over call > 1"),
    (M::PredStd, "sample standard deviation (n − 1) of dur over call > 1"),
    (M::InferPerS, "n / ((max(start + dur) − min(start)) / 1000) over call > 1"),
    (M::NativeP50, "median of the matched native sessions' p50 (match on sha256, then model id, then file name)"),
    (M::SlowdownX, "browser p50 / native p50"),
    (M::GenN, "number of gen records (generation requests) of the model"),
    (M::GenTokensPerS, "Σ output_tokens / (Σ dur / 1000) over gen records with call > 1 (all if only one)"),
    (M::GenTtftP50, "median ttft (request start → first output token available) over the same requests"),
    (M::GenTpotP50, "median of each request's tpot_p50 (p50 interval between consecutive output tokens)"),
    (M::GenOutputTokens, "mean output_tokens per request over the same requests"),
    (M::ModelBytes, "Σ bytes of the session's model_load records"),
    (M::PeakJsHeap, "max js_heap_used over mem samples (same for each source below)"),
    (M::MemOverheadX, "max over sources of the peak / model bytes (on a model row only when its session ran one model)"),
    (M::MemGrowth, "max over samples from the last one before the first model load of (js_heap_used + wasm_bytes + tf_gpu_bytes, each carried forward) − that sample's value"),
    (M::MemGrowthX, "mem_growth / model bytes (on a model row only when its session ran one model)"),
    (M::RendererRssGrowth, "the same growth of mem.renderer_rss (the page's renderer process alone)"),
    (M::BrowserRssGrowth, "the same growth of mem.rss (every process of the browser: context only)"),
    (M::FpsInside, "1000 / mean frame interval, intervals [tᵢ, tᵢ₊₁] overlapping an infer window [start, start + dur]"),
    (M::FpsOutside, "1000 / mean frame interval of the intervals overlapping no infer window"),
    (M::DroppedInside, "share of inside intervals longer than 1.5 × the session's median interval"),
    (M::DroppedOutside, "the same for outside intervals"),
    (M::LongTasks, "number of longtask records"),
    (M::TbtMs, "Σ max(0, dur − 50) over longtask records"),
    (M::LoafBlockingMs, "Σ blocking_dur over loaf records"),
    (M::VideoFps, "(presented_last − presented_first) / ((t_last − t_first) / 1000) over video frames"),
    (M::ProbeP50Inside, "median delay of probes whose [start, start + delay] overlaps an infer window"),
    (M::ProbeP95Inside, "95th percentile of those delays"),
    (M::ProbeP50Outside, "median delay of the other probes"),
    (M::ProbeP95Outside, "95th percentile of the other probes' delays"),
    (M::InputDelayP95, "95th percentile of processing_start − start over input records"),
    (M::InputDelayP95Inside, "95th percentile of processing_start − start over inputs whose [start, processing_start] overlaps an infer window"),
    (M::InputDelayP95Outside, "the same over the other inputs"),
    (M::InteractionP98, "98th percentile over interactions of the max dur per interaction_id (> 0)"),
    (M::FcpMs, "start of first-contentful-paint"),
    (M::LcpMs, "start of the last largest-contentful-paint candidate"),
    (M::FrameTimeIncrease, "(mean frame interval inside − mean outside) / mean outside"),
    (M::QoeCoverage, "video frames j with an infer starting in [tⱼ, tⱼ₊₁), over presented frames P_last − P_first"),
    (M::QoeAgeMean, "mean over video frames of P(frame on screen) − P(frame the newest finished infer started on)"),
    (M::QoeAgeP95, "95th percentile of that age"),
    (M::LostRecords, "Σ over writers (sid, by) of (max seq + 1 − distinct seqs)"),
    (M::FoldedRecords, "infer records overlapping a record of the same session at a higher layer (model › handler › ops › wasm), not counted"),
    (M::HelperInfers, "infer records of helper graphs (generated models ≤ 16 KiB beside a real model)"),
];

/// Formats a value by the metric's unit.
pub fn fmt_value(m: M, v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0.0"
    match m.unit() {
        "ms" => format!("{v:.1} ms"),
        "B" => format!("{:.1} MiB", v / 1048576.0),
        "×" => format!("{v:.2}×"),
        "share" => format!("{:+.1}%", v * 100.0)
            .trim_start_matches('+')
            .to_string(),
        "fps" | "/s" => format!("{v:.1}"),
        "frames" => format!("{v:.2}"),
        _ => format!("{v:.0}"),
    }
}

/// "mean ± ci" (or "mean" for a single value, "–" for none).
pub fn fmt_cell(m: M, c: Cell) -> String {
    match (c.mean, c.ci95) {
        (None, _) => "–".into(),
        (Some(mean), Some(ci)) => format!(
            "{} ± {}",
            fmt_value(m, mean),
            fmt_value(m, ci)
                .trim_end_matches(" ms")
                .trim_end_matches(" MiB")
        ),
        (Some(mean), None) => fmt_value(m, mean),
    }
}

/// The report tables.
pub fn sections(a: &Analysis) -> Result<Vec<Section>, Error> {
    let mut out = Vec::new();
    let agg = &a.aggregate;
    let key_headers: Vec<String> = agg.keys.clone();
    let page_headers: Vec<String> = a.page_aggregate.keys.clone();
    for (title, note, scope, metrics) in FAMILIES {
        match scope {
            Scope::Model => out.push(family(title, note, metrics, agg, &key_headers)),
            Scope::Page => out.push(family(
                title,
                note,
                metrics,
                &a.page_aggregate,
                &page_headers,
            )),
        }
        if *title == "Latency" {
            out.push(helper_section(a));
            out.push(slowdown_section(a)?);
            if !a.native_failures.is_empty() {
                out.push(native_failures_section(a));
            }
        }
    }
    Ok(out)
}

fn family(title: &str, note: &str, metrics: &[M], agg: &Aggregate, keys: &[String]) -> Section {
    let mut headers: Vec<String> = keys.to_vec();
    headers.push("sessions".into());
    headers.extend(metrics.iter().map(|m| m.title().to_string()));
    let rows: Vec<Vec<String>> = agg
        .groups
        .iter()
        .filter(|g| metrics.iter().any(|m| g.cell(*m).n > 0))
        .map(|g| {
            let mut r: Vec<String> = g
                .keys
                .iter()
                .map(|k| {
                    if k.is_empty() {
                        "–".into()
                    } else {
                        crate::series::short_model(k)
                    }
                })
                .collect();
            r.push(g.sessions.to_string());
            r.extend(metrics.iter().map(|m| fmt_cell(*m, g.cell(*m))));
            r
        })
        .collect();
    Section {
        title: title.into(),
        note: note.into(),
        headers,
        rows,
    }
}

/// The helper graphs, one row per session × helper model (never aggregated).
fn helper_section(a: &Analysis) -> Section {
    let headers = ["label", "model", "backend", "runs", "model bytes", "p50"]
        .map(String::from)
        .to_vec();
    let dash = |s: &str| {
        if s.is_empty() {
            "–".to_owned()
        } else {
            crate::series::short_model(s)
        }
    };
    let v = |r: &crate::table::Row, m: M| r.get(m).map_or("–".to_owned(), |x| fmt_value(m, x));
    let rows = a
        .helper_rows
        .iter()
        .map(|r| {
            vec![
                dash(r.key("label")),
                dash(r.key("model")),
                dash(r.key("backend")),
                v(r, M::InferN),
                r.get(M::ModelBytes)
                    .map_or("–".to_owned(), |b| format!("{b:.0} B")),
                v(r, M::PredP50),
            ]
        })
        .collect();
    Section {
        title: "Helper graphs".into(),
        note: format!(
            "Small models built in the page (model_origin \"generated\", or an onnx:<n>B buffer no fetched resource matched; at most {} KiB) run beside the page's own model, e.g. a library's pre/post-processing graphs: kept out of every other table.",
            crate::attribution::HELPER_MAX_BYTES / 1024.0
        ),
        headers,
        rows,
    }
}

/// Models a native run could not load or run, with the runner's reason (its
/// `end.error`, which names the model file).
fn native_failures_section(a: &Analysis) -> Section {
    Section {
        title: "Models without a native baseline".into(),
        note: "A native run of these models failed, so their rows have no ×native; the reason is the native runner's.".into(),
        headers: vec!["native session".into(), "why".into()],
        rows: a
            .native_failures
            .iter()
            .map(|(sid, why)| vec![sid.clone(), why.clone()])
            .collect(),
    }
}

fn slowdown_section(a: &Analysis) -> Result<Section, Error> {
    let rows: Vec<_> = a
        .rows
        .iter()
        .filter(|r| r.get(M::SlowdownX).is_some())
        .cloned()
        .collect();
    let keys: Vec<String> = ["model", "backend", "variant"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let metrics = [M::PredP50, M::NativeP50, M::SlowdownX];
    let note = if a.baseline_rows.is_empty() && rows.is_empty() {
        "No native baseline: pass native traces with --baseline (session.source = \"native\")."
    } else {
        "Browser prediction p50 / native p50 of the same model (matched on sha256 — from the page's model_load or the proxy's net record of the model URL — then model id, then file name), per model, backend, variant."
    };
    if rows.is_empty() {
        return Ok(Section {
            title: "Slowdown ×native".into(),
            note: note.into(),
            headers: vec![],
            rows: vec![],
        });
    }
    let agg = aggregate(&to_frame(&rows)?, &keys)?;
    let mut s = family("Slowdown ×native", note, &metrics, &agg, &keys);
    s.title = "Slowdown ×native".into();
    Ok(s)
}

/// The headline of text generation, when any `gen` rows exist: per model, the median over
/// rows of output tokens/s and of TTFT p50.
pub fn generation_headline(a: &Analysis) -> Option<String> {
    let mut by: std::collections::BTreeMap<String, (Vec<f64>, Vec<f64>, f64)> = Default::default();
    for r in a.rows.iter().filter(|r| r.get(M::GenN).is_some()) {
        let e = by
            .entry(crate::series::short_model(r.key("model")))
            .or_default();
        if let Some(x) = r.get(M::GenTokensPerS) {
            e.0.push(x);
        }
        if let Some(x) = r.get(M::GenTtftP50) {
            e.1.push(x);
        }
        e.2 += r.get(M::GenN).unwrap_or(0.0);
    }
    if by.is_empty() {
        return None;
    }
    let parts: Vec<String> = by
        .iter()
        .map(|(m, (tps, ttft, n))| {
            let t = crate::stats::percentile(tps, 0.5)
                .map_or("–".to_owned(), |x| format!("{x:.1} tokens/s"));
            let f = crate::stats::percentile(ttft, 0.5)
                .map_or("TTFT –".to_owned(), |x| format!("TTFT {x:.1} ms"));
            format!("{m}: {t}, {f} ({n} requests)")
        })
        .collect();
    Some(format!("Text generation: {}.", parts.join("; ")))
}

/// The attribution summary: inferences counted, records folded, helper-graph runs.
pub fn inference_line(a: &Analysis) -> String {
    let sum =
        |rows: &[crate::table::Row], m: M| -> f64 { rows.iter().filter_map(|r| r.get(m)).sum() };
    let app = sum(&a.rows, M::InferN);
    let folded = sum(&a.page_rows, M::FoldedRecords);
    let helpers: std::collections::BTreeSet<&str> =
        a.helper_rows.iter().map(|r| r.key("model")).collect();
    let mut line = format!("Inferences: {app:.0} (one per library call)");
    if folded > 0.0 {
        line.push_str(&format!(
            "; {folded:.0} infer records folded into a higher layer's record of the same call"
        ));
    }
    if !helpers.is_empty() {
        line.push_str(&format!(
            "; {:.0} runs of {} helper graph(s) listed apart ({})",
            sum(&a.helper_rows, M::InferN),
            helpers.len(),
            helpers
                .iter()
                .map(|m| crate::series::short_model(m))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    line.push('.');
    line
}

/// The input summary lines (files, records, skipped lines, lost records).
pub fn summary_lines(a: &Analysis) -> Vec<String> {
    let st = &a.stats;
    let sessions: std::collections::BTreeSet<&str> = a.rows.iter().map(|r| r.key("sid")).collect();
    let mut v = vec![format!(
        "Read {} files, {} records of {} sessions ({:.1} MiB); {}.",
        st.files,
        st.records,
        sessions.len(),
        st.bytes as f64 / 1048576.0,
        st
    )];
    if let Some(b) = &a.baseline_stats {
        let bs: std::collections::BTreeSet<&str> =
            a.baseline_rows.iter().map(|r| r.key("sid")).collect();
        v.push(format!(
            "Baselines: {} files, {} records of {} native sessions; {}.",
            b.files,
            b.records,
            bs.len(),
            b
        ));
    }
    v.push(inference_line(a));
    if let Some(line) = generation_headline(a) {
        v.push(line);
    }
    if a.gaps.is_empty() {
        v.push("No lost records (no gaps in any writer's seq).".into());
    } else {
        let list: Vec<String> = a
            .gaps
            .iter()
            .take(10)
            .map(|(s, by, n)| format!("{s} ({by}): {n}"))
            .collect();
        let total: u64 = a.gaps.iter().map(|g| g.2).sum();
        v.push(format!(
            "Lost records (seq gaps): {total} in {} writer(s): {}{}.",
            a.gaps.len(),
            list.join(", "),
            if a.gaps.len() > 10 { ", …" } else { "" }
        ));
    }
    if !a.unended.is_empty() {
        v.push(format!(
            "{} session(s) have no `end` record (cut short or still running).",
            a.unended.len()
        ));
    }
    v.push(format!(
        "Grouped by: {}. Cells are mean ± 95% CI half-width (Student t) over rows.",
        if a.aggregate.keys.is_empty() {
            "nothing".to_string()
        } else {
            a.aggregate.keys.join(", ")
        }
    ));
    v
}

/// Writes the requested outputs into `dir`; returns the files written.
pub fn write_all(a: &Analysis, dir: &Path, formats: &[String]) -> Result<Vec<PathBuf>, Error> {
    for f in formats {
        if !FORMATS.contains(&f.as_str()) {
            return Err(Error::Usage(format!(
                "unknown --format `{f}` (known: {})",
                FORMATS.join(", ")
            )));
        }
    }
    let want = |f: &str| formats.iter().any(|x| x == f);
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut written = Vec::new();
    let bars = slowdown_bars(&a.rows);
    let write = |name: &str, text: &str, written: &mut Vec<PathBuf>| -> Result<(), Error> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(Error::io(&p))?;
        written.push(p);
        Ok(())
    };
    let doc = if want("md") || want("html") || want("svg") {
        Some(page::document(a)?)
    } else {
        None
    };
    if want("svg") || want("md") {
        for c in charts::draw_svgs(&a.series, &bars)? {
            write(&format!("{}.svg", c.name), &c.svg, &mut written)?;
        }
        for c in doc.iter().flat_map(|d| d.charts()) {
            write(&format!("{}.svg", c.name), &c.svg, &mut written)?;
        }
    }
    if want("png") {
        written.extend(charts::draw_pngs(&a.series, &bars, dir)?);
    }
    if let Some(d) = &doc {
        if want("md") {
            write("report.md", &markdown::render(d), &mut written)?;
        }
        if want("html") {
            write("report.html", &html::render(d), &mut written)?;
        }
    }
    if want("csv") {
        written.extend(tables::write_csv(a, dir)?);
    }
    if want("parquet") {
        written.push(tables::write_parquet(a, dir)?);
    }
    Ok(written)
}
