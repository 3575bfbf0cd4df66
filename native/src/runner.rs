//! Measures one model with one engine and writes its trace session:
//! `session`, `env`, `model_load`, `mem` (after load and after every call),
//! one `infer` per call (warm-up calls first, `call` counting from 1), `end`.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use webinfer_format::{Record, TraceWriter};

use crate::engine::EngineKind;
use crate::error::ModelError;
use crate::from_trace::BrowserTrace;
use crate::shapes::{self, ShapeSource};
use crate::summary::ModelSummary;
use crate::tensor::HostTensor;
use crate::values::{self, InputFacts};
use crate::{host, Options};

/// The session's clock: a Unix time origin and a monotonic start.
struct Clock {
    origin: Instant,
    time_origin_ms: f64,
}

impl Clock {
    fn start() -> Self {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            origin: Instant::now(),
            time_origin_ms: unix.as_secs_f64() * 1000.0,
        }
    }

    /// Milliseconds from the origin to `t`.
    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.origin).as_secs_f64() * 1000.0
    }

    fn now(&self) -> f64 {
        self.ms(Instant::now())
    }
}

/// Everything shared by the models of one call.
pub(crate) struct Context<'a> {
    pub opts: &'a Options,
    pub engine_version: &'a str,
    pub browser: Option<&'a BrowserTrace>,
    pub cpu: Option<&'a str>,
    pub inputs: Option<&'a std::collections::BTreeMap<String, HostTensor>>,
}

/// One session being written.
struct Session {
    sid: String,
    clock: Clock,
    writer: TraceWriter,
}

impl Session {
    /// Writes a record of `kind` with `fields`; null fields are left out.
    fn push(&mut self, kind: &str, ts: f64, fields: Value) -> Result<(), ModelError> {
        let mut rec = Record::new(&self.sid, kind, ts);
        if let Value::Object(m) = fields {
            for (k, v) in m.into_iter().filter(|(_, v)| !v.is_null()) {
                rec = rec.set(&k, v);
            }
        }
        self.writer.push(rec)?;
        Ok(())
    }

    fn mem(&mut self) -> Result<Option<u64>, ModelError> {
        let rss = host::rss_bytes();
        if let Some(rss) = rss {
            let ts = self.clock.now();
            self.push("mem", ts, json!({ "rss": rss }))?;
        }
        Ok(rss)
    }
}

/// Measures the model at `path` as session `sid`, appending to the trace.
pub(crate) fn run_model(
    ctx: &Context<'_>,
    path: &Path,
    sid: String,
) -> Result<ModelSummary, ModelError> {
    let opts = ctx.opts;
    let clock = Clock::start();
    let mut s = Session {
        sid,
        writer: TraceWriter::append(&opts.out)?,
        clock,
    };
    let engine = opts.engine;
    let url = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    s.push(
        "session",
        0.0,
        json!({
            "source": "native",
            "url": url.display().to_string(),
            "time_origin": s.clock.time_origin_ms,
            "user_agent": format!("webinfer-native/{} ({} {})", env!("CARGO_PKG_VERSION"), engine, ctx.engine_version),
            "hardware_concurrency": host::available_cpus(),
            "engine": engine.as_str(),
            "engine_version": ctx.engine_version,
            "threads": opts.threads,
            "cpu": ctx.cpu,
        }),
    )?;
    let ts = s.clock.now();
    s.push(
        "env",
        ts,
        json!({ "framework": engine.as_str(), "version": ctx.engine_version, "backend": "cpu" }),
    )?;
    let result = measure(ctx, path, &mut s);
    let ts = s.clock.now();
    match &result {
        Ok(_) => s.push("end", ts, json!({ "reason": "done" }))?,
        Err(e) => s.push(
            "end",
            ts,
            json!({ "reason": "error", "error": e.to_string() }),
        )?,
    }
    s.writer.flush()?;
    result
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The model as the engine gets it, and what the baseline says about it.
struct Source {
    /// ONNX bytes.
    onnx: Vec<u8>,
    /// SHA-256 of the entry file (the ONNX file or the TF.js model.json).
    sha256: String,
    /// Bytes of every file read.
    bytes: u64,
    /// `onnx`, `tfjs-graph` or `tfjs-layers`.
    format: &'static str,
    /// TF.js: every file read, and the conversion time.
    tfjs: Option<(Vec<webinfer_convert::Artifact>, f64)>,
}

fn read_source(path: &Path) -> Result<Source, ModelError> {
    let read_err = |source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    };
    let head = if path.is_dir() {
        Vec::new()
    } else {
        std::fs::read(path).map_err(read_err)?
    };
    // A directory can only be a TF.js model (the converter says what it
    // looked for when it is not).
    if path.is_dir() || webinfer_convert::is_tfjs(path, &head) {
        let t = Instant::now();
        let c = webinfer_convert::convert_path(path).map_err(|source| ModelError::Convert {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            "{}: converted {} to ONNX in {ms:.0} ms ({} nodes, {} transposes removed)",
            path.display(),
            c.format.as_str(),
            c.onnx_nodes,
            c.transposes_removed
        );
        return Ok(Source {
            sha256: c.artifacts[0].sha256.clone(),
            bytes: c.artifacts.iter().map(|a| a.bytes).sum(),
            format: c.format.as_str(),
            onnx: c.onnx,
            tfjs: Some((c.artifacts, ms)),
        });
    }
    Ok(Source {
        sha256: hex::encode(Sha256::digest(&head)),
        bytes: head.len() as u64,
        format: "onnx",
        onnx: head,
        tfjs: None,
    })
}

fn measure(ctx: &Context<'_>, path: &Path, s: &mut Session) -> Result<ModelSummary, ModelError> {
    let opts = ctx.opts;
    let engine = opts.engine;
    let model = file_name(path);
    let load_start = Instant::now();
    let src = read_source(path)?;
    let sha256 = src.sha256.clone();
    let mut loaded = engine
        .load(&src.onnx, opts.threads)
        .map_err(|reason| ModelError::Load {
            path: path.to_path_buf(),
            engine,
            reason,
        })?;
    let specs = loaded.inputs().to_vec();
    let page = ctx.browser.and_then(|b| b.shapes_for(&sha256, &model));
    // Without --inputs: the page's own inputs when the trace names a captured file
    // (`infer.inputs_sha256`, --capture-inputs) that lies beside the model.
    let captured = match (ctx.inputs, ctx.browser) {
        (None, Some(b)) => b
            .inputs_for(&sha256, &model)
            .map(|x| path.with_file_name(format!("{x}.safetensors")))
            .filter(|p| p.is_file())
            .map(|p| crate::inputs_file::read(&p))
            .transpose()
            .map_err(|e| ModelError::Inputs {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?,
        _ => None,
    };
    let inputs = ctx.inputs.or(captured.as_ref());
    let resolved = shapes::resolve(&specs, &opts.input_shapes, page.as_deref());
    // A tensor from --inputs brings its own shape.
    let dims: Vec<Vec<usize>> = specs
        .iter()
        .zip(&resolved)
        .map(
            |(spec, (d, _))| match inputs.and_then(|f| f.get(&spec.name)) {
                Some(t) => t.shape.clone(),
                None => d.clone(),
            },
        )
        .collect();
    let described = shapes::describe(&specs, &dims);
    // A dynamic leading (batch) dimension at 1 is what pages use; any other
    // dynamic dimension at 1 is worth a note and, on failure, a hint.
    let dynamic_to_one = specs.iter().zip(&resolved).any(|(spec, (_, src))| {
        *src == ShapeSource::Model && spec.dims.iter().skip(1).any(Option::is_none)
    });
    let run_error = |reason| ModelError::Run {
        path: path.to_path_buf(),
        engine,
        shapes: described.clone(),
        reason,
        hint: if dynamic_to_one {
            "; the model has dynamic dimensions, which were set to 1: pass the shapes it expects with \
             --input-shape NAME=1x3x320x320 (or the page's trace with --from-trace)"
                .to_owned()
        } else {
            String::new()
        },
    };
    let facts = InputFacts::from_onnx(&src.onnx);
    let chosen = values::choose(&specs, &dims, &facts, inputs).map_err(|source| {
        ModelError::InputValues {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let input_values = values::describe(&specs, &chosen);
    let input_sha256 = values::digest(&chosen);
    loaded
        .prepare_tensors(chosen.into_iter().map(|c| c.tensor).collect())
        .map_err(run_error)?;
    let load_end = Instant::now();
    let (start, dur) = (
        s.clock.ms(load_start),
        s.clock.ms(load_end) - s.clock.ms(load_start),
    );
    s.push(
        "model_load",
        s.clock.ms(load_end),
        json!({
            "framework": engine.as_str(),
            "model": model,
            "start": start,
            "dur": dur,
            "bytes": src.bytes,
            "sha256": sha256,
            "path": path.display().to_string(),
            "input_shapes": dims,
            "format": src.format,
            "converted": src.tfjs.as_ref().map(|_| "onnx"),
            "convert_ms": src.tfjs.as_ref().map(|(_, ms)| *ms),
            "artifacts": src.tfjs.as_ref().map(|(a, _)| a.iter().map(|a| json!({
                "url": a.path.display().to_string(),
                "bytes": a.bytes,
                "sha256": a.sha256,
            })).collect::<Vec<_>>()),
            "input_values": input_values,
            "input_sha256": input_sha256,
        }),
    )?;
    drop(src);
    let mut peak = s.mem()?;
    let mut summary = ModelSummary {
        model: model.clone(),
        sha256,
        sid: s.sid.clone(),
        engine: engine.as_str().to_owned(),
        threads: opts.threads,
        shapes: described.clone(),
        setup_ms: dur,
        warmup_ms: Vec::new(),
        run_ms: Vec::new(),
        peak_rss: peak,
        dynamic_set_to_one: dynamic_to_one,
    };
    if dynamic_to_one {
        tracing::info!("{model}: dynamic dimensions set to 1 ({described}); pass --input-shape for realistic shapes");
    }
    for call in 1..=(opts.warmup + opts.runs) {
        let r = loaded.run(false).map_err(run_error)?;
        let dur_ms = r.dur.as_secs_f64() * 1000.0;
        let start = s.clock.ms(r.start);
        let warmup = call <= opts.warmup;
        s.push(
            "infer",
            start + dur_ms,
            json!({
                "framework": engine.as_str(),
                "model": model,
                "backend": "cpu",
                "api": engine.api(),
                "start": start,
                "dur": dur_ms,
                "call": call,
                "input_shapes": dims,
                "warmup": warmup,
            }),
        )?;
        if warmup {
            summary.warmup_ms.push(dur_ms);
        } else {
            summary.run_ms.push(dur_ms);
        }
        if let Some(rss) = s.mem()? {
            peak = Some(peak.map_or(rss, |p| p.max(rss)));
        }
    }
    summary.peak_rss = peak;
    Ok(summary)
}

/// The session id of the `index`-th model of a call started at
/// `unix_ms` by this process.
pub(crate) fn session_id(engine: EngineKind, unix_ms: u128, index: usize) -> String {
    format!("native-{engine}-{unix_ms}-{}-{index}", std::process::id())
}

/// The default trace path: `traces/native/native-<engine>-<unix ms>.jsonl`.
pub fn default_out(engine: EngineKind) -> PathBuf {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    PathBuf::from(format!("traces/native/native-{engine}-{unix_ms}.jsonl"))
}
