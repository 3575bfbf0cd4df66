//! Shared by the converter's tests: TF.js's outputs (made at test time by
//! `fixtures/tfjs_cases.mjs` with @tensorflow/tfjs 4.22, cpu backend, from
//! `web/node_modules`), running a converted model on both engines, and the
//! comparison.
//!
//! Agreement: for every float output, every element must satisfy
//! `|native − tfjs| ≤ 1e-4 · max(1, max |tfjs|)`, the maximum taken over that
//! output: an absolute 1e-4 for outputs whose values stay within ±1, and
//! 1e-4 relative to the output's scale above. A float32 sum's rounding
//! error grows with the magnitude of its terms, not of its result: in an
//! output whose values reach a few hundred (BlazeFace's and CenterNet's box
//! regressors, in pixels) an element near zero is a sum of large terms and
//! differs by ~1e-4 between summation orders (ONNX Runtime, tract and TF.js's
//! cpu kernels each sum in their own order), while a mapping mistake shifts
//! elements by a sizeable part of the scale. Integer and bool outputs must
//! be equal. The tests print, per output, the largest `|diff|`, the output's
//! scale and their ratio.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use webinfer_native::engine::EngineKind;
use webinfer_native::inputs_file;
use webinfer_native::tensor::{HostTensor, TensorData};

/// The tolerance (see the module doc).
pub const TOL: f64 = 1e-4;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file under `web/node_modules` (asserting it is there).
pub fn npm(path: &str) -> PathBuf {
    let p = root().join("web/node_modules").join(path);
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in web/",
        p.display()
    );
    p
}

fn run_node(args: &[&str]) {
    let script = root().join("convert/tests/fixtures/tfjs_cases.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node (Node 20 is needed for the TF.js fixtures): {e}")
        });
    assert!(
        out.status.success(),
        "node {} {args:?} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("convert-fixtures")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `kind` cases' directory, made by the fixture script once per test
/// run (`cell` keeps it).
fn cases(cell: &'static OnceLock<PathBuf>, kind: &str) -> &'static Path {
    cell.get_or_init(|| {
        let dir = fresh_dir(kind);
        run_node(&[kind, dir.to_str().unwrap()]);
        dir.join(kind)
    })
}

/// Asserts that the cases the fixture script made in `dir` (its
/// `cases.json`) are exactly the `tested` ones.
pub fn assert_every_case_tested(dir: &Path, tested: &[&str]) {
    let made: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let made: BTreeSet<&str> = made.iter().map(String::as_str).collect();
    let tested: BTreeSet<&str> = tested.iter().copied().collect();
    assert_eq!(made, tested, "fixture cases vs tests");
}

/// The directory with every per-op case, made once per test run.
pub fn ops_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    cases(&DIR, "ops")
}

/// The directory with every layers-model case, made once per test run.
pub fn layers_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    cases(&DIR, "layers")
}

/// TF.js's inputs and outputs for one real model (runs TF.js for it).
pub fn model_dir(name: &str) -> PathBuf {
    let dir = fresh_dir(&format!("model-{name}"));
    run_node(&["models", dir.to_str().unwrap(), name]);
    dir.join("models").join(name)
}

/// Reads a safetensors file the fixture wrote.
pub fn tensors(path: &Path) -> BTreeMap<String, HostTensor> {
    inputs_file::read(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The worst disagreement of one output.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The output.
    pub name: String,
    /// Largest `|got − want|`.
    pub max_abs: f64,
    /// The output's scale: `max(1, max |want|)`.
    pub scale: f64,
}

impl Diff {
    /// `max_abs / scale`, what the tolerance bounds.
    pub fn scaled(&self) -> f64 {
        self.max_abs / self.scale
    }
}

/// Compares one output; panics with the first element out of tolerance.
pub fn compare(what: &str, name: &str, got: &HostTensor, want: &HostTensor) -> Diff {
    assert_eq!(got.shape, want.shape, "{what}: output `{name}`: shape");
    let exact = !matches!(
        want.data,
        TensorData::F32(_) | TensorData::F16(_) | TensorData::F64(_)
    );
    if exact {
        assert_eq!(
            got.elem_type(),
            want.elem_type(),
            "{what}: output `{name}`: element type"
        );
    } else {
        assert!(
            matches!(got.data, TensorData::F32(_)),
            "{what}: output `{name}`: element type {} vs TF.js {}",
            got.elem_type(),
            want.elem_type()
        );
    }
    let (g, w) = (got.data.to_f64(), want.data.to_f64());
    assert_eq!(g.len(), w.len(), "{what}: output `{name}`: length");
    let scale = w
        .iter()
        .filter(|v| v.is_finite())
        .fold(1f64, |m, v| m.max(v.abs()));
    let mut d = Diff {
        name: name.to_owned(),
        max_abs: 0.0,
        scale,
    };
    for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
        if b.is_nan() {
            assert!(a.is_nan(), "{what}: output `{name}`[{i}]: {a}, TF.js NaN");
            continue;
        }
        if exact {
            assert_eq!(
                a, b,
                "{what}: output `{name}`[{i}] (integer/bool): {a} vs TF.js {b}"
            );
            continue;
        }
        let e = (a - b).abs();
        assert!(
            e <= TOL * scale,
            "{what}: output `{name}`[{i}]: {a} vs TF.js {b} (|diff| {e:.3e} > {TOL:e} × scale {scale:.3})"
        );
        d.max_abs = d.max_abs.max(e);
    }
    d
}

/// Runs ONNX bytes on `engine` with the named inputs; returns the outputs
/// by name.
pub fn run(
    engine: EngineKind,
    onnx: &[u8],
    inputs: &BTreeMap<String, HostTensor>,
) -> BTreeMap<String, HostTensor> {
    let mut m = engine
        .load(onnx, 1)
        .unwrap_or_else(|e| panic!("{engine} cannot load the converted model: {e}"));
    let feeds: Vec<HostTensor> = m
        .inputs()
        .iter()
        .map(|s| {
            inputs
                .get(&s.name)
                .cloned()
                .unwrap_or_else(|| panic!("no TF.js input for ONNX input `{}`", s.name))
        })
        .collect();
    m.prepare_tensors(feeds)
        .unwrap_or_else(|e| panic!("{engine} cannot prepare the converted model: {e}"));
    m.run(true)
        .unwrap_or_else(|e| panic!("{engine} cannot run the converted model: {e}"))
        .outputs
        .into_iter()
        .map(|o| {
            let t = o.tensor.unwrap_or_else(|| {
                panic!(
                    "{engine}: output `{}` has a type the runner cannot copy",
                    o.name
                )
            });
            (o.name, t)
        })
        .collect()
}

/// Converts `model`, runs it on each engine with TF.js's inputs and
/// compares with TF.js's outputs (`inputs.safetensors`,
/// `outputs.safetensors` in `dir`); prints the worst disagreement per
/// engine and output ([`report`]).
pub fn check(what: &str, model: &Path, dir: &Path, engines: &[EngineKind]) {
    let c = webinfer_convert::convert_path(model).unwrap_or_else(|e| panic!("{what}: {e}"));
    let ins = tensors(&dir.join("inputs.safetensors"));
    let want = tensors(&dir.join("outputs.safetensors"));
    assert!(!want.is_empty(), "{what}: TF.js gave no outputs");
    let mut out = Vec::new();
    for &engine in engines {
        let got = run(engine, &c.onnx, &ins);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{what}: {engine}: output names"
        );
        for (name, w) in &want {
            let d = compare(&format!("{what} ({engine})"), name, &got[name], w);
            out.push((engine, d));
        }
    }
    report(what, &out);
}

/// One `#[test]` per fixture case name, each calling `case(name)` (a
/// function of the invoking module), and `CASES`, the names.
macro_rules! fixture_cases {
    ($($name:ident),* $(,)?) => {
        /// The cases tested here.
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                case(stringify!($name));
            }
        )*
    };
}
pub(crate) use fixture_cases;

/// Prints the worst disagreements (visible with `--nocapture`).
fn report(what: &str, diffs: &[(EngineKind, Diff)]) {
    for (e, d) in diffs {
        println!(
            "{what}: {e}: `{}`: max |diff| {:.2e}, scale {:.3}, ratio {:.2e}",
            d.name,
            d.max_abs,
            d.scale,
            d.scaled()
        );
    }
}
