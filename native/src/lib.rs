//! `webinfer native`: runs models natively, with ONNX Runtime (the engine
//! ORT-web compiles to wasm, so the ratio to the page is fair) or tract (pure
//! Rust, no set-up), on a deterministic seeded input, and writes a trace in
//! the shared format so the analyzer can set the page's numbers beside a
//! native baseline for the same model bytes (joined on `sha256`).
//!
//! TF.js models (`model.json` + shards, a directory, nsfwjs's `model.min.js`)
//! are converted to ONNX first (`webinfer-convert`); the baseline keeps the
//! `model.json`'s SHA-256 so the join with the page still works. Inputs of
//! any element type get values valid for the model ([`values`]).
//!
//! Each model of a call is its own session in the trace file. A model that
//! cannot be run (bad file, unsupported operator, wrong shapes, a TF.js op
//! without a mapping, an input no rule gives values for) fails alone with an
//! error naming it; the others still run.

pub mod dylib;
pub mod engine;
pub mod error;
pub mod from_trace;
pub mod host;
pub mod input;
pub mod inputs_file;
mod runner;
pub mod shapes;
pub mod summary;
pub mod tensor;
pub mod values;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

pub use engine::EngineKind;
pub use error::{ModelError, RunError};
pub use runner::default_out;
pub use shapes::ShapeArg;
pub use summary::ModelSummary;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The model files, run one after another.
    pub models: Vec<PathBuf>,
    /// The engine.
    pub engine: EngineKind,
    /// Compute threads (ORT intra-op threads; tract's matrix-product pool).
    pub threads: usize,
    /// Measured calls per model.
    pub runs: usize,
    /// Warm-up calls per model before the measured ones (not in p50/p99).
    pub warmup: usize,
    /// `--input-shape` arguments.
    pub input_shapes: Vec<ShapeArg>,
    /// A browser trace to take input shapes from.
    pub from_trace: Option<PathBuf>,
    /// Named input tensors (safetensors) to feed instead of generated
    /// values, for the inputs they name ([`inputs_file`]).
    pub inputs: Option<PathBuf>,
    /// The trace file to append to.
    pub out: PathBuf,
}

/// The outcome of every model of a call, in the order given.
#[derive(Debug)]
pub struct Report {
    /// The version of the engine that ran.
    pub engine_version: String,
    /// One entry per model.
    pub models: Vec<(PathBuf, Result<ModelSummary, ModelError>)>,
}

impl Report {
    /// The models that were measured.
    pub fn measured(&self) -> Vec<ModelSummary> {
        self.models
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().cloned())
            .collect()
    }

    /// The errors of the models that failed.
    pub fn failures(&self) -> Vec<&ModelError> {
        self.models
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .collect()
    }
}

/// Runs every model (see the crate doc). Fails as a whole only when the
/// engine cannot start or `--from-trace` cannot be read.
pub fn run(opts: &Options) -> Result<Report, RunError> {
    if opts.models.is_empty() {
        return Err(RunError::NoModel);
    }
    let engine_version = opts.engine.version().map_err(|reason| RunError::Engine {
        engine: opts.engine,
        reason,
    })?;
    let browser = opts
        .from_trace
        .as_deref()
        .map(from_trace::BrowserTrace::read)
        .transpose()?;
    let inputs = opts.inputs.as_deref().map(inputs_file::read).transpose()?;
    let cpu = host::cpu_model();
    let ctx = runner::Context {
        opts,
        engine_version: &engine_version,
        browser: browser.as_ref(),
        cpu: cpu.as_deref(),
        inputs: inputs.as_ref(),
    };
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let models = opts
        .models
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let sid = runner::session_id(opts.engine, unix_ms, i);
            let result = runner::run_model(&ctx, path, sid);
            if let Err(e) = &result {
                tracing::info!("{e}");
            }
            (path.clone(), result)
        })
        .collect();
    Ok(Report {
        engine_version,
        models,
    })
}
