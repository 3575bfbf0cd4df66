//! The metrics table: one row per session × model × backend (a session
//! without inferences gets one row with empty model and backend), counting
//! inferences by the attribution rules ([`crate::attribution`]). Session-
//! level metrics (memory, smoothness, responsiveness, rendering) repeat on
//! each row of their session and are also given once per session by
//! [`page_row`]. Turned into a polars `DataFrame` for grouping and for
//! CSV/Parquet output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use polars::prelude::*;

use crate::metrics::{
    generation, latency, memory, qoe, rendering, responsiveness, slowdown, smoothness,
    windows::Windows,
};
use crate::session::{Infer, SessionData};
use crate::{attribution, identity};

/// Grouping/identity columns of a row, in this order.
pub const KEYS: &[&str] = &[
    "sid",
    "label",
    "variant",
    "browser",
    "browser_version",
    "source",
    "framework",
    "model",
    "backend",
    "sha256",
    "page",
    "role",
];

/// The keys of a model row that a session-level (page) row leaves empty.
pub const MODEL_KEYS: &[&str] = &["framework", "model", "backend", "sha256", "role"];

macro_rules! metrics_enum {
    ($($v:ident => $name:literal, $title:literal, $unit:literal;)*) => {
        /// A numeric metric column.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum M { $(
            #[doc = $title]
            $v,
        )* }
        impl M {
            /// Every metric, in column order.
            pub const ALL: &'static [M] = &[$(M::$v),*];
            /// Column name.
            pub fn name(self) -> &'static str { match self { $(M::$v => $name),* } }
            /// Human title.
            pub fn title(self) -> &'static str { match self { $(M::$v => $title),* } }
            /// Unit ("ms", "B", "×", "%", "/s", "" …).
            pub fn unit(self) -> &'static str { match self { $(M::$v => $unit),* } }
        }
    };
}

metrics_enum! {
    SetupMs => "setup_ms", "Setup (model_load dur)", "ms";
    WarmupMs => "warmup_ms", "Warm-up (call 1 dur)", "ms";
    InferN => "infer_n", "Inferences (calls)", "";
    PredN => "pred_n", "Later calls (call > 1)", "";
    PredP50 => "pred_p50_ms", "Prediction p50", "ms";
    PredP90 => "pred_p90_ms", "Prediction p90", "ms";
    PredP99 => "pred_p99_ms", "Prediction p99", "ms";
    PredMean => "pred_mean_ms", "Prediction mean", "ms";
    PredStd => "pred_std_ms", "Prediction std", "ms";
    InferPerS => "infer_per_s", "Inferences per second", "/s";
    NativeP50 => "native_p50_ms", "Native prediction p50", "ms";
    SlowdownX => "slowdown_x", "Slowdown vs native", "×";
    GenN => "gen_n", "Generation requests", "";
    GenTokensPerS => "gen_tokens_per_s", "Output tokens per second", "/s";
    GenTtftP50 => "gen_ttft_p50_ms", "Time to first token p50", "ms";
    GenTpotP50 => "gen_tpot_p50_ms", "Time per output token p50", "ms";
    GenOutputTokens => "gen_output_tokens", "Output tokens per request", "";
    ModelBytes => "model_bytes", "Model bytes", "B";
    PeakJsHeap => "peak_js_heap_used", "Peak JS heap used", "B";
    PeakWasm => "peak_wasm_bytes", "Peak wasm memory", "B";
    PeakTf => "peak_tf_bytes", "Peak TF.js bytes", "B";
    PeakTfGpu => "peak_tf_gpu_bytes", "Peak TF.js GPU bytes", "B";
    PeakUa => "peak_ua_bytes", "Peak UA-specific memory", "B";
    PeakRss => "peak_rss", "Peak RSS", "B";
    MemOverheadX => "mem_overhead_x", "Memory overhead (max peak / model bytes)", "×";
    MemGrowth => "mem_growth", "Memory growth for inference (JS heap + wasm + GPU)", "B";
    MemGrowthX => "mem_growth_x", "Memory growth / model bytes", "×";
    RendererRssGrowth => "renderer_rss_growth", "Renderer RSS growth", "B";
    BrowserRssGrowth => "browser_rss_growth", "Whole-browser RSS growth (context)", "B";
    FpsInside => "fps_inside", "FPS inside inference", "fps";
    FpsOutside => "fps_outside", "FPS outside inference", "fps";
    DroppedInside => "dropped_inside", "Dropped-frame share inside", "share";
    DroppedOutside => "dropped_outside", "Dropped-frame share outside", "share";
    LongTasks => "longtasks", "Long tasks", "";
    TbtMs => "tbt_ms", "Total blocking time", "ms";
    LoafBlockingMs => "loaf_blocking_ms", "LoAF blocking", "ms";
    VideoFps => "video_fps", "Video FPS", "fps";
    ProbeP50Inside => "probe_p50_inside_ms", "Probe delay p50 inside", "ms";
    ProbeP95Inside => "probe_p95_inside_ms", "Probe delay p95 inside", "ms";
    ProbeP50Outside => "probe_p50_outside_ms", "Probe delay p50 outside", "ms";
    ProbeP95Outside => "probe_p95_outside_ms", "Probe delay p95 outside", "ms";
    InputDelayP95 => "input_delay_p95_ms", "Input delay p95", "ms";
    InputDelayP95Inside => "input_delay_p95_inside_ms", "Input delay p95 inside", "ms";
    InputDelayP95Outside => "input_delay_p95_outside_ms", "Input delay p95 outside", "ms";
    InteractionP98 => "interaction_p98_ms", "Interaction duration p98", "ms";
    FcpMs => "fcp_ms", "First contentful paint", "ms";
    LcpMs => "lcp_ms", "Largest contentful paint", "ms";
    FrameTimeIncrease => "frame_time_increase", "Frame-time increase under inference", "share";
    QoeCoverage => "qoe_coverage", "Video frames with their own inference", "share";
    QoeAgeMean => "qoe_age_mean", "Prediction age mean", "frames";
    QoeAgeP95 => "qoe_age_p95", "Prediction age p95", "frames";
    Records => "records", "Records read", "";
    LostRecords => "lost_records", "Lost records (seq gaps)", "";
    FoldedRecords => "folded_records", "Infer records folded (same call, lower layer)", "";
    HelperInfers => "helper_infers", "Helper-graph runs", "";
}

/// One row of the metrics table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Values of [`KEYS`], in order ("" when unknown).
    pub keys: Vec<String>,
    /// Values of [`M::ALL`], in order.
    pub values: Vec<Option<f64>>,
}

impl Row {
    /// A metric value.
    pub fn get(&self, m: M) -> Option<f64> {
        self.values[m as usize]
    }

    fn set(&mut self, m: M, v: Option<f64>) {
        self.values[m as usize] = v;
    }

    /// A key value by name ("" if unknown).
    pub fn key(&self, name: &str) -> &str {
        KEYS.iter()
            .position(|k| *k == name)
            .map(|i| self.keys[i].as_str())
            .unwrap_or("")
    }
}

/// A session's inferences after the attribution rules
/// ([`crate::attribution`]).
#[derive(Debug, Clone)]
pub struct Attributed<'a> {
    /// The `infer` records that count, in start order (app models and helpers).
    pub infers: Vec<&'a Infer>,
    /// Models classed as helper graphs.
    pub helpers: BTreeSet<Arc<str>>,
    /// Records folded into a higher layer's record of the same call.
    pub folded: usize,
}

impl Attributed<'_> {
    /// The app models (not helpers) that ran, in name order.
    pub fn app_models(&self) -> BTreeSet<Arc<str>> {
        self.infers
            .iter()
            .filter(|i| !self.helpers.contains(&i.model))
            .map(|i| i.model.clone())
            .collect()
    }
}

/// Applies [`attribution::fold_layers`] and [`attribution::helper_models`]
/// to a session.
pub fn attribute(s: &SessionData) -> Attributed<'_> {
    let keep = attribution::fold_layers(&s.infers);
    let infers: Vec<&Infer> = s
        .infers
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect();
    let helpers = attribution::helper_models(&infers, &s.model_loads);
    Attributed {
        folded: s.infers.len() - infers.len(),
        infers,
        helpers,
    }
}

/// The session-level key values of a session (the [`KEYS`] that do not
/// depend on the model), from its merged `session` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionKeys {
    /// The run label, else the page ([`identity::page_of`] of the session URL).
    pub label: String,
    /// `variant` ("" when absent).
    pub variant: String,
    /// `session.browser.name`, else `native-<engine>` for a native run, else
    /// the browser parsed from the user agent ([`identity::parse_user_agent`]).
    pub browser: String,
    /// `session.browser.version`, else `engine_version`, else the user agent's.
    pub browser_version: String,
    /// `source` (page, worker, native; "" when absent).
    pub source: String,
    /// Origin + path of the session URL.
    pub page: String,
}

/// The [`SessionKeys`] of merged `session` fields.
pub fn session_keys(meta: &webinfer_format::SessionFields) -> SessionKeys {
    let page = meta
        .url
        .as_deref()
        .map(identity::page_of)
        .unwrap_or_default();
    let ua = meta
        .user_agent
        .as_deref()
        .and_then(identity::parse_user_agent);
    let mut browser = crate::session::browser_key(meta);
    if browser.is_empty() {
        browser = ua.as_ref().map(|u| u.0.clone()).unwrap_or_default();
    }
    let browser_version = meta
        .browser
        .as_ref()
        .and_then(|b| b.version.clone())
        .or_else(|| meta.engine_version.clone())
        .or_else(|| ua.map(|u| u.1))
        .unwrap_or_default();
    SessionKeys {
        label: meta.label.clone().unwrap_or_else(|| page.clone()),
        variant: meta.variant.clone().unwrap_or_default(),
        browser,
        browser_version,
        source: meta
            .source
            .as_ref()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        page,
    }
}

/// The row key values of session `s` for one model ("" where unknown); the
/// session-level ones are [`session_keys`].
fn key_row(
    s: &SessionData,
    framework: &str,
    model: &str,
    backend: &str,
    sha: &str,
    role: &str,
) -> Vec<String> {
    let k = session_keys(&s.meta);
    vec![
        s.sid.clone(),
        k.label,
        k.variant,
        k.browser,
        k.browser_version,
        k.source,
        framework.to_owned(),
        model.to_owned(),
        backend.to_owned(),
        sha.to_owned(),
        k.page,
        role.to_owned(),
    ]
}

/// The session-level metric values (memory, smoothness, responsiveness,
/// rendering, trace quality, attribution counts); model metrics `None`.
fn session_values(s: &SessionData, at: &Attributed<'_>) -> Vec<Option<f64>> {
    let meta = &s.meta;
    let windows = Windows::from_infers(&s.infers);
    let mut base = vec![None; M::ALL.len()];
    let peaks = memory::peaks(&s.mems);
    let app_loads: Vec<_> = s
        .model_loads
        .iter()
        .filter(|l| !at.helpers.contains(&l.model))
        .cloned()
        .collect();
    let model_bytes = memory::model_bytes(&app_loads);
    let t0 = memory::first_model_start(&s.model_loads, &s.infers);
    let growth = t0.and_then(|t0| memory::inference_growth(&s.mems, t0));
    let fs = smoothness::frame_split(&s.frames, &windows);
    let ps = responsiveness::probe_split(&s.probes, &windows);
    let input_split = responsiveness::input_delay_p95_split(&s.inputs, &windows);
    // a page without long tasks has 0 of them; a native run has no page
    let (lt, tbt) = if meta.is_native() {
        (None, None)
    } else {
        let (lt, tbt) = smoothness::long_tasks(&s.longtasks);
        (Some(lt as f64), Some(tbt))
    };
    let lost = s.seq_gaps().iter().map(|g| g.1).sum::<u64>();
    let helper_runs = at
        .infers
        .iter()
        .filter(|i| at.helpers.contains(&i.model))
        .count();
    for (m, v) in [
        (M::ModelBytes, model_bytes),
        (M::PeakJsHeap, peaks.js_heap_used),
        (M::PeakWasm, peaks.wasm_bytes),
        (M::PeakTf, peaks.tf_bytes),
        (M::PeakTfGpu, peaks.tf_gpu_bytes),
        (M::PeakUa, peaks.ua_bytes),
        (M::PeakRss, peaks.rss),
        (M::MemOverheadX, memory::overhead(peaks.max(), model_bytes)),
        (M::MemGrowth, growth),
        (M::MemGrowthX, memory::overhead(growth, model_bytes)),
        (
            M::RendererRssGrowth,
            t0.and_then(|t0| memory::renderer_rss_growth(&s.mems, t0)),
        ),
        (
            M::BrowserRssGrowth,
            t0.and_then(|t0| memory::browser_rss_growth(&s.mems, t0)),
        ),
        (M::FpsInside, fs.fps_inside),
        (M::FpsOutside, fs.fps_outside),
        (M::DroppedInside, fs.dropped_inside),
        (M::DroppedOutside, fs.dropped_outside),
        (M::LongTasks, lt),
        (M::TbtMs, tbt),
        (
            M::LoafBlockingMs,
            (!s.loafs.is_empty()).then(|| smoothness::loaf_blocking(&s.loafs)),
        ),
        (M::VideoFps, smoothness::video_fps(&s.video)),
        (M::ProbeP50Inside, ps.p50_inside),
        (M::ProbeP95Inside, ps.p95_inside),
        (M::ProbeP50Outside, ps.p50_outside),
        (M::ProbeP95Outside, ps.p95_outside),
        (M::InputDelayP95, responsiveness::input_delay_p95(&s.inputs)),
        (M::InputDelayP95Inside, input_split.0),
        (M::InputDelayP95Outside, input_split.1),
        (
            M::InteractionP98,
            responsiveness::interaction_p98(&s.inputs),
        ),
        (M::FcpMs, rendering::fcp(&s.paints)),
        (M::LcpMs, rendering::lcp(&s.paints)),
        (
            M::FrameTimeIncrease,
            rendering::frame_time_increase(fs.mean_inside, fs.mean_outside),
        ),
        (M::Records, Some(s.records as f64)),
        (M::LostRecords, Some(lost as f64)),
        (M::FoldedRecords, Some(at.folded as f64)),
        (M::HelperInfers, Some(helper_runs as f64)),
    ] {
        base[m as usize] = v;
    }
    base
}

/// The session-level (page) row of a finished session: [`KEYS`] with the
/// [`MODEL_KEYS`] empty, the session-level metrics (memory, smoothness,
/// responsiveness, rendering, trace quality) once, model metrics empty.
pub fn page_row(s: &SessionData) -> Row {
    rows_of(s).1
}

/// [`session_rows`] and [`page_row`] of a session, attributing once.
pub fn rows_of(s: &SessionData) -> (Vec<Row>, Row) {
    let at = attribute(s);
    let base = session_values(s, &at);
    let page = Row {
        keys: key_row(s, "", "", "", "", ""),
        values: base.clone(),
    };
    (model_rows(s, &at, base), page)
}

/// The metric rows of one finished session: one per model × backend of the
/// inferences that count ([`attribute`]; `role` = `model`, or `helper` for
/// a helper graph), with the session-level metrics repeated on each. The
/// memory ratios (`mem_overhead_x`, `mem_growth_x`) stay on model rows only
/// when the session ran one app model; otherwise they are per page
/// ([`page_row`]).
pub fn session_rows(s: &SessionData) -> Vec<Row> {
    rows_of(s).0
}

fn model_rows(s: &SessionData, at: &Attributed<'_>, base: Vec<Option<f64>>) -> Vec<Row> {
    let one_model = at.app_models().len() <= 1;

    // (model, backend) groups in order of first inference
    let mut groups: BTreeMap<(Arc<str>, Arc<str>), Vec<&Infer>> = BTreeMap::new();
    for inf in &at.infers {
        groups
            .entry((inf.model.clone(), s.backend_of(inf)))
            .or_default()
            .push(inf);
    }
    if groups.is_empty() {
        let fw = s
            .model_loads
            .first()
            .map(|l| l.framework.to_string())
            .unwrap_or_default();
        let model = s
            .model_loads
            .first()
            .map(|l| l.model.to_string())
            .unwrap_or_default();
        let sha = s.model_sha256(&model).unwrap_or_default();
        let role = if model.is_empty() { "" } else { "model" };
        let mut row = Row {
            keys: key_row(s, &fw, &model, "", &sha, role),
            values: base,
        };
        let loads: Vec<_> = s
            .model_loads
            .iter()
            .filter(|l| *l.model == *model)
            .collect();
        row.set(M::SetupMs, latency::setup_ms(&loads));
        if s.gens.is_empty() {
            return vec![row];
        }
        if !model.is_empty() {
            set_generation(&mut row, s, &model);
        }
        let mut rows = vec![row];
        let mut seen: Vec<Arc<str>> = Vec::new();
        for g in &s.gens {
            if *g.model == *model || seen.contains(&g.model) {
                continue;
            }
            seen.push(g.model.clone());
            let sha = s.model_sha256(&g.model).unwrap_or_default();
            let mut r = Row {
                keys: key_row(s, &g.framework, &g.model, "", &sha, "model"),
                values: rows[0].values.clone(),
            };
            r.set(M::SetupMs, None);
            set_generation(&mut r, s, &g.model);
            rows.push(r);
        }
        return rows;
    }
    let mut rows = Vec::new();
    for ((model, backend), infers) in groups {
        let loads: Vec<_> = s.model_loads.iter().filter(|l| l.model == model).collect();
        let sha = s.model_sha256(&model).unwrap_or_default();
        let helper = at.helpers.contains(&model);
        let role = if helper { "helper" } else { "model" };
        let mut row = Row {
            keys: key_row(s, &infers[0].framework, &model, &backend, &sha, role),
            values: base.clone(),
        };
        if helper || !one_model {
            row.set(M::MemOverheadX, None);
            row.set(M::MemGrowthX, None);
        }
        if helper {
            let size = attribution::model_size(&model, &infers, &s.model_loads);
            row.set(M::ModelBytes, size);
        }
        row.set(M::SetupMs, latency::setup_ms(&loads));
        row.set(M::WarmupMs, latency::warmup_ms(&infers));
        row.set(M::InferN, Some(infers.len() as f64));
        let p = latency::prediction(&infers);
        row.set(M::PredN, Some(p.n as f64));
        row.set(M::PredP50, p.p50);
        row.set(M::PredP90, p.p90);
        row.set(M::PredP99, p.p99);
        row.set(M::PredMean, p.mean);
        row.set(M::PredStd, p.std);
        row.set(M::InferPerS, latency::inferences_per_s(&infers));
        if s.video.len() >= 2 {
            row.set(M::QoeCoverage, qoe::coverage(&s.video, &infers));
            let ages = qoe::prediction_ages(&s.video, &infers);
            row.set(M::QoeAgeMean, crate::stats::mean(&ages));
            row.set(M::QoeAgeP95, crate::stats::percentile(&ages, 0.95));
        }
        set_generation(&mut row, s, &model);
        rows.push(row);
    }
    // generation requests of models no infer row carries (e.g. a WebLLM engine whose forward
    // passes run where the hook does not see them)
    let mut gen_only: BTreeMap<Arc<str>, Arc<str>> = BTreeMap::new();
    for g in &s.gens {
        if !rows.iter().any(|r| r.key("model") == &*g.model) {
            gen_only
                .entry(g.model.clone())
                .or_insert(g.framework.clone());
        }
    }
    for (model, fw) in gen_only {
        let sha = s.model_sha256(&model).unwrap_or_default();
        let mut row = Row {
            keys: key_row(s, &fw, &model, "", &sha, "model"),
            values: base.clone(),
        };
        set_generation(&mut row, s, &model);
        rows.push(row);
    }
    rows
}

/// Fills the generation metrics of `row` from the session's `gen` records of `model`.
fn set_generation(row: &mut Row, s: &SessionData, model: &str) {
    let gens: Vec<_> = s.gens.iter().filter(|g| &*g.model == model).collect();
    if gens.is_empty() {
        return;
    }
    row.set(M::GenN, Some(gens.len() as f64));
    row.set(M::GenTokensPerS, generation::tokens_per_s(&gens));
    row.set(M::GenTtftP50, generation::ttft_p50(&gens));
    row.set(M::GenTpotP50, generation::tpot_p50(&gens));
    row.set(M::GenOutputTokens, generation::output_tokens_mean(&gens));
}

/// Splits rows into browser rows and native baselines (`source == "native"`,
/// from `--baseline` or anywhere) and fills `native_p50_ms` and `slowdown_x`
/// of every browser row from the native rows ([`slowdown::native_p50`]).
pub fn apply_baselines(rows: &mut [Row], baselines: &[Row]) {
    let natives: Vec<(slowdown::ModelKey, f64)> = baselines
        .iter()
        .chain(rows.iter())
        .filter(|r| r.key("source") == "native")
        .filter_map(|r| {
            let key = slowdown::ModelKey {
                sha256: Some(r.key("sha256").to_owned()).filter(|x| !x.is_empty()),
                model: r.key("model").to_owned(),
            };
            r.get(M::PredP50).map(|p| (key, p))
        })
        .collect();
    if natives.is_empty() {
        return;
    }
    for r in rows
        .iter_mut()
        .filter(|r| r.key("source") != "native" && !r.key("model").is_empty())
    {
        let key = slowdown::ModelKey {
            sha256: Some(r.key("sha256").to_owned()).filter(|x| !x.is_empty()),
            model: r.key("model").to_owned(),
        };
        if let Some((native, _)) = slowdown::native_p50(&key, &natives) {
            r.set(M::NativeP50, Some(native));
            r.set(
                M::SlowdownX,
                r.get(M::PredP50)
                    .and_then(|b| slowdown::slowdown(b, native)),
            );
        }
    }
}

/// The rows as a `DataFrame`: [`KEYS`] as string columns, then every metric
/// as a nullable float column.
pub fn to_frame(rows: &[Row]) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Column> = Vec::new();
    for (i, k) in KEYS.iter().enumerate() {
        let v: Vec<&str> = rows.iter().map(|r| r.keys[i].as_str()).collect();
        cols.push(Column::new((*k).into(), v));
    }
    for m in M::ALL {
        let v: Vec<Option<f64>> = rows.iter().map(|r| r.get(*m)).collect();
        cols.push(Column::new(m.name().into(), v));
    }
    DataFrame::new_infer_height(cols)
}
