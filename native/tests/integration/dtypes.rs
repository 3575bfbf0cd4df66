//! Models whose inputs are not float32, run natively with generated values
//! that are valid for them, and TF.js models converted and run:
//!
//! - a BERT-style text encoder built by `fixtures/make_bert_model.py`
//!   (int64 `input_ids`, `attention_mask`, `token_type_ids`; real WordPiece
//!   tokenizer): token ids come from the vocabulary's range, the mask is
//!   ones; a tokenized sentence can be fed with `--inputs`;
//! - Silero VAD v5 and legacy from `@ricky0123/vad-web` (int64 scalar `sr`):
//!   the sample rate the graph compares with (16000);
//! - TF.js graph and layers models (`@vladmandic/human`, nsfwjs's JS bundles):
//!   the baseline says they were converted and keeps the model.json's SHA-256.
//!
//! Outputs are checked against onnxruntime-web's on the very same inputs
//! (`fixtures/ort_web_run.mjs`, wasm, one thread): every element within
//! `1e-4 · max(1, max |web|)` of that output.

use super::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};
use webinfer_native::engine::EngineKind;
use webinfer_native::inputs_file;
use webinfer_native::shapes::{self, ShapeArg};
use webinfer_native::tensor::HostTensor;
use webinfer_native::values::{self, InputFacts};
use webinfer_native::{EngineKind as Engine, Options};

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dtypes")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The BERT fixture directory (made once per run).
fn bert() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tmp("bert");
        let script = "native/tests/fixtures/make_bert_model.py";
        common::run_script("python3", script, &[dir.as_os_str()]);
        dir
    })
}

fn vad(name: &str) -> PathBuf {
    let p = common::repo_root()
        .join("web/node_modules/@ricky0123/vad-web/dist")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in web/",
        p.display()
    );
    p
}

fn npm(path: &str) -> PathBuf {
    let p = common::repo_root().join("web/node_modules").join(path);
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in web/",
        p.display()
    );
    p
}

/// onnxruntime-web's outputs for `inputs`.
fn ort_web(
    model: &Path,
    inputs: &[(String, HostTensor)],
    dir: &Path,
) -> BTreeMap<String, HostTensor> {
    let (i, o) = (
        dir.join("web_inputs.safetensors"),
        dir.join("web_outputs.safetensors"),
    );
    std::fs::write(&i, inputs_file::encode(inputs)).unwrap();
    let args = [model.as_os_str(), i.as_os_str(), o.as_os_str()];
    common::run_script("node", "native/tests/fixtures/ort_web_run.mjs", &args);
    inputs_file::read(&o).unwrap()
}

fn native(
    engine: EngineKind,
    model: &[u8],
    inputs: &[(String, HostTensor)],
) -> BTreeMap<String, HostTensor> {
    let mut m = engine.load(model, 1).unwrap();
    m.prepare_tensors(inputs.iter().map(|(_, t)| t.clone()).collect())
        .unwrap();
    m.run(true)
        .unwrap()
        .outputs
        .into_iter()
        .map(|o| (o.name, o.tensor.expect("a copyable output")))
        .collect()
}

/// Every output within 1e-4 of onnxruntime-web's, relative to the
/// output's scale; returns the worst ratio.
fn agree(
    what: &str,
    got: &BTreeMap<String, HostTensor>,
    want: &BTreeMap<String, HostTensor>,
) -> f64 {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: outputs"
    );
    let mut worst = 0f64;
    for (name, w) in want {
        let g = &got[name];
        assert_eq!(g.shape, w.shape, "{what}: `{name}` shape");
        let (gv, wv) = (g.data.to_f64(), w.data.to_f64());
        let scale = wv.iter().fold(1f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
            let e = (a - b).abs();
            assert!(
                e <= 1e-4 * scale,
                "{what}: `{name}`[{i}]: {a} vs onnxruntime-web {b}"
            );
            worst = worst.max(e / scale);
        }
    }
    println!("{what}: worst |native − onnxruntime-web| / scale = {worst:.2e}");
    worst
}

fn options(model: PathBuf, engine: EngineKind, out: &Path, shapes: &[&str]) -> Options {
    Options {
        input_shapes: shapes
            .iter()
            .map(|s| s.parse::<ShapeArg>().unwrap())
            .collect(),
        ..common::options(vec![model], engine, 2, out)
    }
}

/// Runs `opts`; returns the model_load record (the run must succeed).
fn run_ok(opts: &Options) -> Value {
    let report = webinfer_native::run(opts).unwrap();
    if let Err(e) = &report.models[0].1 {
        panic!("{e}");
    }
    let text = std::fs::read_to_string(&opts.out).unwrap();
    let schema: Value = serde_json::from_str(webinfer_format::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut load = None;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            validator.is_valid(&v),
            "record does not match the schema: {line}"
        );
        if v["kind"] == "model_load" {
            load = Some(v);
        }
    }
    load.expect("a model_load record")
}

/// The values the runner generates for the model (the same rules, the
/// same shapes), by name, checked against the trace's digest.
fn generated(
    engine: EngineKind,
    onnx: &[u8],
    opts: &Options,
    load: &Value,
) -> Vec<(String, HostTensor)> {
    let m = engine.load(onnx, 1).unwrap();
    let specs = m.inputs().to_vec();
    let resolved = shapes::resolve(&specs, &opts.input_shapes, None);
    let dims: Vec<Vec<usize>> = resolved.into_iter().map(|(d, _)| d).collect();
    let chosen = values::choose(&specs, &dims, &InputFacts::from_onnx(onnx), None).unwrap();
    assert_eq!(
        load["input_sha256"].as_str().unwrap(),
        values::digest(&chosen),
        "the runner fed other values"
    );
    specs
        .iter()
        .zip(chosen)
        .map(|(s, c)| (s.name.clone(), c.tensor))
        .collect()
}

fn input_value<'v>(load: &'v Value, name: &str) -> &'v Value {
    load["input_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no input_values entry for {name}: {load}"))
}

fn bert_generated(engine: EngineKind) {
    let dir = bert();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let vocab = meta["vocab_size"].as_i64().unwrap();
    // The tokenizer file is the vocabulary's source of truth.
    let tok: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer.json")).unwrap())
            .unwrap();
    assert_eq!(
        tok["model"]["vocab"].as_object().unwrap().len() as i64,
        vocab
    );
    let model = dir.join("bert.onnx");
    let out = tmp(&format!("bert-{engine}"));
    let opts = options(
        model.clone(),
        engine,
        &out.join("t.jsonl"),
        &[
            "input_ids=1x16",
            "attention_mask=1x16",
            "token_type_ids=1x16",
        ],
    );
    let load = run_ok(&opts);
    assert_eq!(load["format"], "onnx");
    let ids = input_value(&load, "input_ids");
    assert_eq!(ids["rule"], "gather_range", "{ids}");
    assert_eq!(ids["dtype"], "int64");
    assert!(
        ids["why"]
            .as_str()
            .unwrap()
            .contains(&format!("[0, {vocab})"))
            && ids["why"]
                .as_str()
                .unwrap()
                .contains("embeddings.word_embeddings.weight"),
        "{ids}"
    );
    assert_eq!(input_value(&load, "attention_mask")["rule"], "ones");
    let tt = input_value(&load, "token_type_ids");
    assert_eq!(tt["rule"], "gather_range");
    assert!(tt["why"].as_str().unwrap().contains("[0, 2)"), "{tt}");

    let onnx = std::fs::read(&model).unwrap();
    let inputs = generated(engine, &onnx, &opts, &load);
    let webinfer_native::tensor::TensorData::I64(v) = &inputs[0].1.data else {
        panic!("input_ids is not int64")
    };
    assert!(v.iter().all(|&i| (0..vocab).contains(&i)), "{v:?}");
    assert!(
        v.iter().collect::<std::collections::HashSet<_>>().len() > 8,
        "{v:?}"
    );
    let want = ort_web(&model, &inputs, &out);
    agree(
        &format!("bert ({engine}, generated ids)"),
        &native(engine, &onnx, &inputs),
        &want,
    );
}

crate::common::per_engine!(bert_generated:
    bert_gets_token_ids_from_its_vocabulary_on_ort => Ort,
    bert_gets_token_ids_from_its_vocabulary_on_tract => Tract,
);

#[test]
fn bert_runs_a_tokenized_sentence_given_with_inputs() {
    let dir = bert();
    let model = dir.join("bert.onnx");
    let out = tmp("bert-file");
    let mut opts = options(model.clone(), Engine::Ort, &out.join("t.jsonl"), &[]);
    opts.inputs = Some(dir.join("sample.safetensors"));
    let load = run_ok(&opts);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let n = meta["sample_ids"].as_array().unwrap().len();
    for name in ["input_ids", "attention_mask", "token_type_ids"] {
        let v = input_value(&load, name);
        assert_eq!(v["rule"], "file", "{v}");
        assert_eq!(v["shape"], serde_json::json!([1, n]));
    }
    let file = inputs_file::read(&dir.join("sample.safetensors")).unwrap();
    let inputs: Vec<(String, HostTensor)> = ["input_ids", "attention_mask", "token_type_ids"]
        .iter()
        .map(|n| ((*n).to_owned(), file[*n].clone()))
        .collect();
    let onnx = std::fs::read(&model).unwrap();
    let want = ort_web(&model, &inputs, &out);
    for engine in [Engine::Ort, Engine::Tract] {
        agree(
            &format!("bert ({engine}, tokenized sentence)"),
            &native(engine, &onnx, &inputs),
            &want,
        );
    }
}

fn silero(file: &str, shapes: &[&str], engines: &[EngineKind]) {
    let model = vad(file);
    let onnx = std::fs::read(&model).unwrap();
    for &engine in engines {
        let out = tmp(&format!("{file}-{engine}"));
        let opts = options(model.clone(), engine, &out.join("t.jsonl"), shapes);
        let load = run_ok(&opts);
        let sr = input_value(&load, "sr");
        assert_eq!(sr["rule"], "compared_constant", "{sr}");
        assert_eq!(sr["dtype"], "int64");
        assert!(sr["why"].as_str().unwrap().starts_with("16000"), "{sr}");
        let inputs = generated(engine, &onnx, &opts, &load);
        let (_, t) = inputs.iter().find(|(n, _)| n == "sr").unwrap();
        assert_eq!(
            t.data,
            webinfer_native::tensor::TensorData::I64(vec![16000])
        );
        assert!(t.shape.is_empty(), "sr is a scalar");
        let want = ort_web(&model, &inputs, &out);
        agree(
            &format!("{file} ({engine})"),
            &native(engine, &onnx, &inputs),
            &want,
        );
    }
}

#[test]
fn silero_vad_v5_gets_its_sample_rate() {
    silero("silero_vad_v5.onnx", &["input=1x512"], &[Engine::Ort]);
}

#[test]
fn silero_vad_legacy_gets_its_sample_rate() {
    silero("silero_vad_legacy.onnx", &["input=1x512"], &[Engine::Ort]);
}

/// tract 0.23 cannot type Silero's `If` branches (their output facts
/// differ); the model fails alone with tract's reason, the values for `sr`
/// having been chosen as on ONNX Runtime.
#[test]
fn silero_vad_on_tract_fails_alone_with_the_engine_reason() {
    for file in ["silero_vad_v5.onnx", "silero_vad_legacy.onnx"] {
        let out = tmp(&format!("{file}-tract-refuses"));
        let mut opts = options(
            vad(file),
            Engine::Tract,
            &out.join("t.jsonl"),
            &["input=1x512"],
        );
        opts.models.push(common::fixture_path("tiny.onnx"));
        let report = webinfer_native::run(&opts).unwrap();
        let msg = report.models[0].1.as_ref().unwrap_err().to_string();
        assert!(
            msg.contains(file) && msg.contains("tract cannot run the model") && msg.contains("If"),
            "{msg}"
        );
        assert!(report.models[1].1.is_ok());
    }
}

#[test]
fn an_input_no_rule_covers_is_a_clear_error() {
    // A model adding an int64 input to a constant: nothing says which values
    // are valid for it.
    use webinfer_convert::ir::Graph;
    use webinfer_convert::tensor::{DType, Tensor};
    let mut g = Graph::new("t");
    g.add_input("k", DType::I64, Some(vec![Some(3)]));
    let one = g.constant("one", Tensor::i64(vec![], &[1]));
    let y = g.node("Add", &["k", &one], vec![], DType::I64, "y");
    g.add_output(&y);
    let dir = tmp("norule");
    let model = dir.join("k.onnx");
    std::fs::write(&model, webinfer_convert::onnx::encode(&g, "", &[])).unwrap();
    let report =
        webinfer_native::run(&options(model, Engine::Tract, &dir.join("t.jsonl"), &[])).unwrap();
    let msg = report.models[0].1.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("k.onnx") && msg.contains("input `k`") && msg.contains("--inputs"),
        "{msg}"
    );
}

/// Runs the TF.js model at `model` on `engine` (output in a fresh [`tmp`]
/// directory `name`); returns its model_load record, checked to say the
/// model is of `format` and was converted to ONNX.
fn run_converted(model: &Path, engine: EngineKind, name: &str, format: &str) -> Value {
    let out = tmp(name);
    let load = run_ok(&options(
        model.to_path_buf(),
        engine,
        &out.join("t.jsonl"),
        &[],
    ));
    assert_eq!(load["format"], format);
    assert_eq!(load["converted"], "onnx");
    load
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn tfjs_graph_model_is_converted_and_keeps_the_model_json_digest() {
    let model = npm("@vladmandic/human/models/blazeface.json");
    let load = run_converted(&model, Engine::Tract, "blazeface", "tfjs-graph");
    assert_eq!(
        load["sha256"],
        sha256_file(&model),
        "the join key is the model.json's SHA-256"
    );
    let arts = load["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 2);
    let bin = npm("@vladmandic/human/models/blazeface.bin");
    assert_eq!(arts[1]["sha256"], sha256_file(&bin));
    let total = std::fs::metadata(&model).unwrap().len() + std::fs::metadata(&bin).unwrap().len();
    assert_eq!(load["bytes"], total);
    assert_eq!(input_value(&load, "input")["rule"], "uniform");
    assert_eq!(load["input_shapes"], serde_json::json!([[1, 256, 256, 3]]));
    assert!(load["convert_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn nsfwjs_model_bundled_in_javascript_runs_from_its_directory() {
    let dir = npm("nsfwjs/dist/models/mobilenet_v2");
    let load = run_converted(&dir, Engine::Ort, "nsfwjs", "tfjs-layers");
    assert_eq!(load["sha256"], sha256_file(&dir.join("model.min.js")));
    let arts = load["artifacts"].as_array().unwrap();
    assert!(arts[1]["url"]
        .as_str()
        .unwrap()
        .ends_with("group1-shard1of1.min.js"));
    assert_eq!(load["input_shapes"], serde_json::json!([[1, 224, 224, 3]]));
}

#[test]
fn movenet_int32_image_input_gets_pixel_values() {
    let model = npm("@vladmandic/human/models/movenet-lightning.json");
    let out = tmp("movenet");
    let load = run_ok(&options(model, Engine::Ort, &out.join("t.jsonl"), &[]));
    let v = input_value(&load, "input");
    assert_eq!(v["rule"], "pixels", "{v}");
    assert_eq!(v["dtype"], "int32");
}

#[test]
fn a_tfjs_model_with_control_flow_fails_alone_with_the_reason() {
    let out = tmp("handtrack");
    let mut opts = options(
        npm("@vladmandic/human/models/handtrack.json"),
        Engine::Tract,
        &out.join("t.jsonl"),
        &[],
    );
    opts.models.push(common::fixture_path("tiny.onnx"));
    let report = webinfer_native::run(&opts).unwrap();
    let msg = report.models[0].1.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("handtrack.json") && msg.contains("control flow"),
        "{msg}"
    );
    assert!(report.models[1].1.is_ok());
}
