//! `webinfer native`: runs models natively (ONNX Runtime or tract) on the
//! seeded input and writes a baseline trace; the work is in
//! `webinfer-native`.

use std::path::PathBuf;

use anyhow::bail;
use webinfer_native::{EngineKind, Options, ShapeArg};

/// Arguments of `webinfer native`.
#[derive(clap::Args)]
pub struct Args {
    /// Models to run, one after another: ONNX files, TF.js models (model.json
    /// with its shards beside it, a directory holding one, or nsfwjs's
    /// model.min.js, converted to ONNX first), or `.tflite` with `--engine litert`.
    #[arg(required = true, value_name = "MODEL")]
    models: Vec<PathBuf>,
    /// Engine: `ort` (ONNX Runtime, needs libonnxruntime.so), `tract`, or `litert` (.tflite,
    /// through python3 with the ai-edge-litert package).
    #[arg(long, default_value = "ort", value_parser = clap::value_parser!(EngineKindArg))]
    engine: EngineKindArg,
    /// Compute threads (default: the CPUs this process may use).
    #[arg(long)]
    threads: Option<usize>,
    /// Measured runs per model.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Warm-up runs per model (traced with `call` 1.., left out of p50/p99).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// An input's shape, e.g. `x=1x3x224x224` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=1x3x224x224")]
    input_shapes: Vec<ShapeArg>,
    /// Take input shapes from a page's trace of the same model.
    #[arg(long, value_name = "SESSION.jsonl")]
    from_trace: Option<PathBuf>,
    /// Feed these named tensors (safetensors file) to the inputs they name,
    /// instead of generated values (docs/native.md, "The input").
    #[arg(long, value_name = "FILE.safetensors")]
    inputs: Option<PathBuf>,
    /// Trace file to append to [default: traces/native/native-<engine>-<unix ms>.jsonl].
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
}

/// `EngineKind` for clap.
#[derive(Clone, Copy)]
struct EngineKindArg(EngineKind);

impl std::str::FromStr for EngineKindArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(EngineKindArg)
    }
}

/// Runs `webinfer native`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.engine.0;
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let opts = Options {
        models: args.models,
        engine,
        threads: args
            .threads
            .unwrap_or_else(webinfer_native::host::available_cpus),
        runs: args.runs,
        warmup: args.warmup,
        input_shapes: args.input_shapes,
        from_trace: args.from_trace,
        inputs: args.inputs,
        out: args
            .out
            .unwrap_or_else(|| webinfer_native::default_out(engine)),
    };
    let report = webinfer_native::run(&opts)?;
    let measured = report.measured();
    if !measured.is_empty() {
        print!("{}", webinfer_native::summary::table(&measured));
    }
    for m in measured.iter().filter(|m| m.dynamic_set_to_one) {
        eprintln!(
            "webinfer native: note: {}: dynamic dimensions were set to 1 ({}); pass --input-shape or --from-trace \
             for the shapes the page uses",
            m.model, m.shapes
        );
    }
    let failures = report.failures();
    for e in &failures {
        eprintln!("webinfer native: {e}");
    }
    eprintln!(
        "trace: {} ({engine} {})",
        opts.out.display(),
        report.engine_version
    );
    if !failures.is_empty() {
        bail!(
            "{} of {} models failed",
            failures.len(),
            report.models.len()
        );
    }
    Ok(())
}
