//! Measurement fidelity: do the hook's numbers agree with independent ground truth?
//!
//! One traced run per configuration ([`Config`]: TF.js BlazeFace on wasm and on webgl,
//! ORT-web PP-OCRv4 det on wasm — the demo's models) through the injecting proxy, with a
//! DevTools trace and `Performance.getMetrics` sampled every 100 ms. From it:
//!
//! - **latency**: p50 of the hook's `infer.dur` vs p50 of the framework's own timer
//!   (`tf.time` wallMs; ORT's profiler `model_run` events) and vs p50 of the DevTools trace
//!   span of the same inferences ([`trace_span_ms`]);
//! - **FPS**: the hook's `frames` (rAF timestamps) in the page's idle window vs the DevTools
//!   frame count (`DrawFrame` events of the page's renderer) in the same window;
//! - **JS heap**: each hook `mem.js_heap_used` sample of the idle window vs the `JSHeapUsedSize` sample of
//!   `Performance.getMetrics` nearest in time (≤ 60 ms apart), and vs that plus
//!   `Runtime.getHeapUsage`'s `backingStorageSize` asked right after: the hook reads
//!   Chromium's `performance.memory.usedJSHeapSize`, which counts ArrayBuffer backing stores
//!   besides the V8 heap, while `JSHeapUsedSize` is the V8 heap alone.
//!
//! Clocks: the page marks `webinfer-bench-sync` (user timing) and reports its
//! `performance.now()`; the mark's trace event gives its trace time, so
//! `trace_ms = page_ms + offset` ([`clock_offset_ms`]). `getMetrics`' `Timestamp` is on the
//! trace clock (seconds).

use serde_json::Value;

use crate::harness::{self, Hooks, MetricsSample, RunOptions, RunOutput};

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// TF.js 4.22 UMD, wasm backend, BlazeFace (`GraphModel.predict` inside `tf.time`).
    TfjsWasm,
    /// TF.js on webgl (SwiftShader): `predict` + read of the first output inside `tf.time`.
    TfjsWebgl,
    /// onnxruntime-web 1.30, wasm EP (1 thread), PP-OCRv4 det, `enableProfiling`.
    OrtWasm,
}

impl Config {
    /// All configurations.
    pub const ALL: [Config; 3] = [Config::TfjsWasm, Config::TfjsWebgl, Config::OrtWasm];

    /// `tfjs-wasm`, `tfjs-webgl` or `ort-wasm`.
    pub fn name(self) -> &'static str {
        match self {
            Config::TfjsWasm => "tfjs-wasm",
            Config::TfjsWebgl => "tfjs-webgl",
            Config::OrtWasm => "ort-wasm",
        }
    }

    /// Parses [`Config::name`].
    pub fn parse(s: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Parses a `--config` argument: [`Config::parse`], or an error naming the choices.
    pub fn parse_arg(s: &str) -> Result<Config, String> {
        Config::parse(s)
            .ok_or_else(|| format!("unknown config {s} (tfjs-wasm, tfjs-webgl, ort-wasm)"))
    }

    /// The configurations asked for, or all of them when none was.
    pub fn or_all(asked: Vec<Config>) -> Vec<Config> {
        if asked.is_empty() {
            Config::ALL.to_vec()
        } else {
            asked
        }
    }

    /// The bench page with its query (`n` inferences after `warm` warm-ups, `idle_ms` idle).
    pub fn page(self, n: usize, warm: usize, idle_ms: u64, profiling: bool) -> String {
        let q = format!("n={n}&warm={warm}&idle={idle_ms}");
        match self {
            Config::TfjsWasm => format!("/bench/tfjs.html?backend=wasm&{q}"),
            Config::TfjsWebgl => format!("/bench/tfjs.html?backend=webgl&{q}"),
            Config::OrtWasm => format!("/bench/ort.html?{q}&prof={}", u8::from(profiling)),
        }
    }

    /// What the framework's own timer is.
    pub fn framework_timer(self) -> &'static str {
        match self {
            Config::TfjsWasm | Config::TfjsWebgl => "tf.time wallMs",
            Config::OrtWasm => "ORT profiler model_run",
        }
    }
}

/// What went wrong in the analysis of a run.
#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    /// The run itself failed.
    #[error(transparent)]
    Harness(#[from] harness::HarnessError),
    /// The run lacks something the comparison needs.
    #[error("{config}: {what}")]
    Missing {
        /// The configuration.
        config: &'static str,
        /// What is missing.
        what: String,
    },
}

/// How a row compares hook and reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    /// `hook / reference`; met when `|ratio − 1| ≤ tol`.
    Ratio {
        /// Allowed relative deviation (0.05 = 5 %).
        tol: f64,
    },
    /// `hook − reference`; met when `|diff| ≤ tol`.
    Diff {
        /// Allowed absolute difference.
        tol: f64,
    },
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The configuration.
    pub config: &'static str,
    /// What is compared, with unit.
    pub metric: String,
    /// The hook's value.
    pub hook: f64,
    /// What the reference is.
    pub reference_name: String,
    /// The reference value.
    pub reference: f64,
    /// The comparison and its target.
    pub compare: Compare,
    /// Number of samples behind the values.
    pub samples: usize,
}

impl Row {
    /// `hook / reference` or `hook − reference`, per [`Row::compare`].
    pub fn value(&self) -> f64 {
        match self.compare {
            Compare::Ratio { .. } => self.hook / self.reference,
            Compare::Diff { .. } => self.hook - self.reference,
        }
    }

    /// Whether the row is within `tol` (ratio: `|hook/ref − 1| ≤ tol`; diff:
    /// `|hook − ref| ≤ tol`).
    pub fn within(&self, tol: f64) -> bool {
        match self.compare {
            Compare::Ratio { .. } => (self.value() - 1.0).abs() <= tol,
            Compare::Diff { .. } => self.value().abs() <= tol,
        }
    }

    /// Whether the row meets its own target.
    pub fn met(&self) -> bool {
        match self.compare {
            Compare::Ratio { tol } | Compare::Diff { tol } => self.within(tol),
        }
    }
}

/// The median (p50) of `xs`: the middle value, or the mean of the two middle values.
/// `None` when empty.
pub fn p50(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The command-line arguments of the fidelity and observer binaries (their
/// `#[command(flatten)]` part): inferences, warm-ups, idle window, configurations.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Measured inferences per configuration (per run).
    #[arg(long, default_value_t = 30)]
    pub n: usize,
    /// Warm-up inferences per configuration (per run).
    #[arg(long, default_value_t = 3)]
    pub warm: usize,
    /// Idle window (ms) for FPS (and heap).
    #[arg(long, default_value_t = 3000)]
    pub idle_ms: u64,
    /// Configurations (tfjs-wasm, tfjs-webgl, ort-wasm); default all.
    #[arg(long = "config", value_parser = Config::parse_arg)]
    pub configs: Vec<Config>,
}

impl BenchArgs {
    /// The configurations asked for, or all of them ([`Config::or_all`]).
    pub fn configs(&self) -> Vec<Config> {
        Config::or_all(self.configs.clone())
    }
}

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct FidelityOptions {
    /// Configurations to run.
    pub configs: Vec<Config>,
    /// Measured inferences per configuration.
    pub n: usize,
    /// Warm-up inferences (not measured).
    pub warm: usize,
    /// Idle window (ms) for FPS and heap.
    pub idle_ms: u64,
}

impl Default for FidelityOptions {
    fn default() -> Self {
        FidelityOptions {
            configs: Config::ALL.to_vec(),
            n: 30,
            warm: 3,
            idle_ms: 3000,
        }
    }
}

/// The latency target: hook p50 within 5 % of the reference p50.
pub const LATENCY_TOL: f64 = 0.05;
/// The FPS target: within 2 frames per second.
pub const FPS_TOL: f64 = 2.0;
/// The JS heap target: within 5 %.
pub const HEAP_TOL: f64 = 0.05;

/// Runs every configuration once (traced) and returns the table rows.
pub async fn run(opts: &FidelityOptions) -> Result<Vec<Row>, FidelityError> {
    let site = harness::start_site().await?;
    let mut rows = Vec::new();
    for &c in &opts.configs {
        let mut ro = RunOptions::new(c.page(opts.n, opts.warm, opts.idle_ms, true));
        ro.hooks = Hooks::Inject;
        ro.trace = true;
        ro.metrics_every = Some(std::time::Duration::from_millis(100));
        let out = harness::run_page(&site, &ro).await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                site.shutdown().await;
                return Err(e.into());
            }
        };
        rows.extend(analyze(c, &out)?);
    }
    site.shutdown().await;
    Ok(rows)
}

fn missing(c: Config, what: impl Into<String>) -> FidelityError {
    FidelityError::Missing {
        config: c.name(),
        what: what.into(),
    }
}

fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// The page's inference runs: (start, own_ms, fw_ms?) in page ms.
fn page_runs(r: &Value) -> Vec<(f64, f64, Option<f64>)> {
    r["runs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((f(x, "start")?, f(x, "own_ms")?, f(x, "fw_ms"))))
                .collect()
        })
        .unwrap_or_default()
}

/// The trace event of the user-timing mark `name` (first one).
fn mark<'a>(events: &'a [Value], name: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["name"] == name && e["cat"].as_str().is_some_and(|c| c.contains("user_timing")))
}

/// `offset` with `trace_ms = page_ms + offset`: the `webinfer-bench-sync` mark's trace `ts`
/// (µs → ms) minus the page's `performance.now()` of the same mark.
pub fn clock_offset_ms(events: &[Value], page_sync_ms: f64) -> Option<f64> {
    let ts = mark(events, "webinfer-bench-sync")?["ts"].as_f64()?;
    Some(ts / 1000.0 - page_sync_ms)
}

/// Main-thread tasks of the page's renderer (`ThreadControllerImpl::RunTask` / `RunTask`
/// complete events on the thread of the sync mark) as (start, end) in trace ms, sorted.
fn main_thread_tasks(events: &[Value], pid: i64, tid: i64) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = events
        .iter()
        .filter(|e| {
            e["ph"] == "X"
                && e["pid"].as_i64() == Some(pid)
                && e["tid"].as_i64() == Some(tid)
                && e["cat"] == "toplevel"
                && matches!(
                    e["name"].as_str(),
                    Some("ThreadControllerImpl::RunTask" | "RunTask")
                )
        })
        .filter_map(|e| {
            let s = e["ts"].as_f64()? / 1000.0;
            Some((s, s + e["dur"].as_f64()? / 1000.0))
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The DevTools trace span of one inference: from the start of the first main-thread task
/// that overlaps the hook's interval `[start, end]` (trace ms) to the end of the last one.
/// An inference that runs in one task (all of ours on wasm, and webgl's synchronous read)
/// gets exactly that task's duration; one spread over several tasks gets the whole stretch.
pub fn trace_span_ms(tasks: &[(f64, f64)], start: f64, end: f64) -> Option<f64> {
    let overlapping: Vec<&(f64, f64)> = tasks
        .iter()
        .filter(|(s, e)| *s < end && *e > start)
        .collect();
    let first = overlapping.iter().map(|t| t.0).reduce(f64::min)?;
    let last = overlapping.iter().map(|t| t.1).reduce(f64::max)?;
    Some(last - first)
}

/// ORT's profiler events, printed by `session.endProfiling()` as a JSON array over several
/// console lines: the `dur` (µs → ms) of each `model_run` event, in order.
pub fn ort_model_runs_ms(console: &[Value]) -> Vec<f64> {
    let lines: Vec<&str> = console.iter().filter_map(Value::as_str).collect();
    let Some(open) = lines.iter().position(|l| l.trim() == "[") else {
        return Vec::new();
    };
    let Some(close) = lines[open..].iter().position(|l| l.trim() == "]") else {
        return Vec::new();
    };
    let text = lines[open..=open + close].join("\n");
    let Ok(Value::Array(evs)) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    evs.iter()
        .filter(|e| e["name"] == "model_run")
        .filter_map(|e| Some(e["dur"].as_f64()? / 1000.0))
        .collect()
}

/// The hook's records of the page session (the proxy's own records carry `by`).
fn hook_records<'a>(out: &'a RunOutput, kind: &str) -> Vec<&'a Value> {
    out.records
        .iter()
        .filter(|r| {
            webinfer_format::Header::of(r).is_some_and(|h| h.kind.as_str() == kind && h.by.is_own())
        })
        .collect()
}

/// Frames per second: `count / ((end − start) / 1000)`.
pub fn fps(count: usize, start_ms: f64, end_ms: f64) -> f64 {
    count as f64 * 1000.0 / (end_ms - start_ms)
}

/// Compares one traced run's hook records with the references; see the module doc.
pub fn analyze(c: Config, out: &RunOutput) -> Result<Vec<Row>, FidelityError> {
    let r = &out.result;
    let sync = f(r, "sync").ok_or_else(|| missing(c, "page result without sync"))?;
    let offset = clock_offset_ms(&out.trace_events, sync)
        .ok_or_else(|| missing(c, "no webinfer-bench-sync mark in the DevTools trace"))?;
    let sync_ev =
        mark(&out.trace_events, "webinfer-bench-sync").ok_or_else(|| missing(c, "no sync mark"))?;
    let (pid, tid) = (
        sync_ev["pid"].as_i64().unwrap_or_default(),
        sync_ev["tid"].as_i64().unwrap_or_default(),
    );
    let tasks = main_thread_tasks(&out.trace_events, pid, tid);
    let infers = hook_records(out, "infer");
    let runs = page_runs(r);
    if runs.is_empty() {
        return Err(missing(c, "the page reported no runs"));
    }
    // Each page run ↔ the hook's infer that started inside it.
    let mut hook = Vec::new();
    let mut span = Vec::new();
    let mut fw = Vec::new();
    for &(start, own, fw_ms) in &runs {
        let h = infers
            .iter()
            .find(|i| f(i, "start").is_some_and(|s| s >= start - 0.5 && s <= start + own))
            .ok_or_else(|| missing(c, format!("no hook infer for the run at {start:.1} ms")))?;
        let (hs, hd) = (
            f(h, "start").unwrap_or(start),
            f(h, "dur").unwrap_or(f64::NAN),
        );
        hook.push(hd);
        if let Some(s) = trace_span_ms(&tasks, hs + offset, hs + hd + offset) {
            span.push(s);
        }
        if let Some(x) = fw_ms {
            fw.push(x);
        }
    }
    if c == Config::OrtWasm {
        let all = ort_model_runs_ms(r["console"].as_array().map(Vec::as_slice).unwrap_or(&[]));
        // The last n model_run events are the measured runs (the warm-ups come first).
        fw = all[all.len().saturating_sub(runs.len())..].to_vec();
    }
    let need =
        |xs: &[f64], what: &str| p50(xs).ok_or_else(|| missing(c, format!("no {what} values")));
    let hook_p50 = need(&hook, "hook infer.dur")?;
    let mut rows = vec![
        Row {
            config: c.name(),
            metric: "infer p50 (ms)".into(),
            hook: hook_p50,
            reference_name: c.framework_timer().into(),
            reference: need(&fw, c.framework_timer())?,
            compare: Compare::Ratio { tol: LATENCY_TOL },
            samples: fw.len(),
        },
        Row {
            config: c.name(),
            metric: "infer p50 (ms)".into(),
            hook: hook_p50,
            reference_name: "CDP trace main-thread task".into(),
            reference: need(&span, "trace span")?,
            compare: Compare::Ratio { tol: LATENCY_TOL },
            samples: span.len(),
        },
    ];
    // FPS over the idle window.
    let (is, ie) = (
        f(&r["idle"], "start").ok_or_else(|| missing(c, "no idle window"))?,
        f(&r["idle"], "end").ok_or_else(|| missing(c, "no idle window"))?,
    );
    let raf = hook_records(out, "frames")
        .iter()
        .filter_map(|x| x["t"].as_array())
        .flatten()
        .filter_map(Value::as_f64)
        .filter(|t| *t >= is && *t < ie)
        .count();
    let draws = out
        .trace_events
        .iter()
        .filter(|e| e["name"] == "DrawFrame" && e["pid"].as_i64() == Some(pid))
        .filter_map(|e| e["ts"].as_f64())
        .map(|ts| ts / 1000.0 - offset)
        .filter(|t| *t >= is && *t < ie)
        .count();
    rows.push(Row {
        config: c.name(),
        metric: "idle FPS".into(),
        hook: fps(raf, is, ie),
        reference_name: "CDP trace DrawFrame count".into(),
        reference: fps(draws, is, ie),
        compare: Compare::Diff { tol: FPS_TOL },
        samples: draws,
    });
    // JS heap: hook samples in the idle window (the heap holds still there) vs the nearest
    // DevTools sample.
    let idle_mem: Vec<&Value> = hook_records(out, "mem")
        .into_iter()
        .filter(|m| f(m, "ts").is_some_and(|t| t >= is && t < ie))
        .collect();
    let pairs = heap_pairs(&idle_mem, &out.metrics, offset);
    let hh: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let heap: Vec<f64> = pairs.iter().map(|p| p.1.js_heap_used).collect();
    let with_stores: Vec<f64> = pairs
        .iter()
        .map(|p| p.1.js_heap_used + p.1.backing_storage)
        .collect();
    let hook_heap = need(&hh, "hook js_heap_used")? / 1e6;
    for (reference_name, refs, what) in [
        ("CDP getMetrics JSHeapUsedSize", &heap, "JSHeapUsedSize"),
        (
            "CDP JSHeapUsedSize + backingStorageSize",
            &with_stores,
            "JSHeapUsedSize + backingStorageSize",
        ),
    ] {
        rows.push(Row {
            config: c.name(),
            metric: "JS heap p50 (MB)".into(),
            hook: hook_heap,
            reference_name: reference_name.into(),
            reference: need(refs, what)? / 1e6,
            compare: Compare::Ratio { tol: HEAP_TOL },
            samples: pairs.len(),
        });
    }
    Ok(rows)
}

/// Pairs each hook `mem.js_heap_used` sample with the DevTools sample nearest in time, if
/// ≤ 60 ms apart (page ms = `timestamp_s × 1000 − offset`): (hook bytes, sample).
pub fn heap_pairs(
    mem: &[&Value],
    metrics: &[MetricsSample],
    offset: f64,
) -> Vec<(f64, MetricsSample)> {
    mem.iter()
        .filter_map(|m| {
            let (ts, used) = (f(m, "ts")?, f(m, "js_heap_used")?);
            let best = metrics.iter().min_by(|a, b| {
                let da = (a.timestamp_s * 1000.0 - offset - ts).abs();
                let db = (b.timestamp_s * 1000.0 - offset - ts).abs();
                da.total_cmp(&db)
            })?;
            ((best.timestamp_s * 1000.0 - offset - ts).abs() <= 60.0).then_some((used, *best))
        })
        .collect()
}

/// The rows as a Markdown table: config, metric, hook, reference, ratio or difference,
/// target, met.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| config | metric | hook | reference | value | hook/ref or hook−ref | target | met | n |\n\
         | --- | --- | ---: | --- | ---: | ---: | --- | --- | ---: |\n",
    );
    for r in rows {
        let (cmp, target) = match r.compare {
            Compare::Ratio { tol } => (
                format!("{:.3}", r.value()),
                format!("ratio 1 ± {:.0} %", tol * 100.0),
            ),
            Compare::Diff { tol } => (format!("{:+.2}", r.value()), format!("± {tol}")),
        };
        s.push_str(&format!(
            "| {} | {} | {:.2} | {} | {:.2} | {} | {} | {} | {} |\n",
            r.config,
            r.metric,
            r.hook,
            r.reference_name,
            r.reference,
            cmp,
            target,
            if r.met() { "yes" } else { "NO" },
            r.samples
        ));
    }
    s
}
