//! The whole native run: trace contents, per-model failures, shapes from a
//! page's trace. Uses tract (no set-up) and ORT (needs libonnxruntime.so,
//! which CI installs; without it the ORT tests fail with the reason).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{detector_path, fixture_path};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webinfer_native::{EngineKind, ModelError, Options};

fn options(models: Vec<PathBuf>, engine: EngineKind, out: &Path) -> Options {
    crate::common::options(models, engine, 5, out)
}

/// Reads a trace, checks every line against the format's JSON Schema and
/// returns the records grouped by session, in file order.
fn read_trace(path: &Path) -> BTreeMap<String, Vec<Value>> {
    let schema: Value = serde_json::from_str(webinfer_format::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'));
    let mut sessions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "record does not match the schema: {errors:?}\n{line}"
        );
        sessions
            .entry(v["sid"].as_str().unwrap().to_owned())
            .or_default()
            .push(v);
    }
    sessions
}

/// Checks the shape of one measured session and returns its infer records.
fn check_session(records: &[Value], runs: usize, warmup: usize, model_file: &Path) -> Vec<Value> {
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (0..records.len() as u64).collect::<Vec<_>>(),
        "seq counts from 0 without gaps"
    );
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "session");
    assert_eq!(*kinds.last().unwrap(), "end");
    assert_eq!(records.last().unwrap()["reason"], "done");
    let s = &records[0];
    assert_eq!(s["source"], "native");
    assert!(s["time_origin"].as_f64().unwrap() > 1.6e12);
    assert!(s["url"]
        .as_str()
        .unwrap()
        .ends_with(&*model_file.file_name().unwrap().to_string_lossy()));
    assert!(!s["engine_version"].as_str().unwrap().is_empty());
    let loads: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] == "model_load")
        .collect();
    assert_eq!(loads.len(), 1);
    let bytes = std::fs::read(model_file).unwrap();
    assert_eq!(
        loads[0]["sha256"].as_str().unwrap(),
        hex::encode(Sha256::digest(&bytes))
    );
    assert_eq!(loads[0]["bytes"].as_u64().unwrap(), bytes.len() as u64);
    assert!(loads[0]["dur"].as_f64().unwrap() > 0.0);
    let infers: Vec<Value> = records
        .iter()
        .filter(|r| r["kind"] == "infer")
        .cloned()
        .collect();
    assert_eq!(infers.len(), runs + warmup);
    let calls: Vec<u64> = infers.iter().map(|r| r["call"].as_u64().unwrap()).collect();
    assert_eq!(calls, (1..=(runs + warmup) as u64).collect::<Vec<_>>());
    assert_eq!(
        infers.iter().filter(|r| r["call"] == 1).count(),
        1,
        "exactly one first call"
    );
    assert_eq!(infers.iter().filter(|r| r["warmup"] == false).count(), runs);
    assert!(infers
        .iter()
        .all(|r| r["backend"] == "cpu" && r["dur"].as_f64().unwrap() > 0.0));
    let mems = records.iter().filter(|r| r["kind"] == "mem").count();
    assert_eq!(
        mems,
        1 + runs + warmup,
        "rss after load and after every call"
    );
    assert!(records
        .iter()
        .filter(|r| r["kind"] == "mem")
        .all(|r| r["rss"].as_f64().unwrap() > 0.0));
    infers
}

fn bad_file_fails_alone(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"this is not a protobuf model at all").unwrap();
    let tiny = fixture_path("tiny.onnx");
    let out = dir.path().join("t/native.jsonl");
    let report =
        webinfer_native::run(&options(vec![broken.clone(), tiny.clone()], engine, &out)).unwrap();

    let err = report.models[0].1.as_ref().unwrap_err();
    assert!(matches!(err, ModelError::Load { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&*broken.to_string_lossy()),
        "the error names the file: {msg}"
    );
    assert!(
        msg.contains(&format!("{engine} cannot load the model")),
        "{msg}"
    );
    let ok = report.models[1].1.as_ref().unwrap();
    assert_eq!(ok.run_ms.len(), 5);
    assert_eq!(ok.warmup_ms.len(), 1);
    assert_eq!(
        ok.shapes, "x=1x3x8x8",
        "the dynamic batch dimension is set to 1"
    );
    assert!(
        !ok.dynamic_set_to_one,
        "a dynamic batch dimension at 1 needs no note"
    );
    assert_eq!(report.failures().len(), 1);

    let sessions = read_trace(&out);
    assert_eq!(sessions.len(), 2);
    let failed = &sessions[&sid_of(&sessions, "broken.onnx")];
    assert_eq!(failed.last().unwrap()["kind"], "end");
    assert_eq!(failed.last().unwrap()["reason"], "error");
    assert!(failed.last().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("broken.onnx"));
    let infers = check_session(&sessions[&ok.sid], 5, 1, &tiny);
    assert_eq!(infers[0]["api"], engine.api());
    assert_eq!(infers[0]["input_shapes"], serde_json::json!([[1, 3, 8, 8]]));
    assert_eq!(sessions[&ok.sid][0]["engine"], engine.as_str());
}

fn sid_of(sessions: &BTreeMap<String, Vec<Value>>, file: &str) -> String {
    sessions
        .iter()
        .find(|(_, recs)| recs[0]["url"].as_str().unwrap().ends_with(file))
        .map(|(sid, _)| sid.clone())
        .unwrap()
}

crate::common::per_engine!(bad_file_fails_alone:
    tract_bad_file_fails_alone_and_trace_is_valid => Tract,
    ort_bad_file_fails_alone_and_trace_is_valid => Ort,
);

/// `webinfer native`'s p50 and the report's `pred_p50_ms` of the same run
/// are one number: the same durations (every call after the warm-up) and
/// the same percentile. Eight measured runs: an even count, where nearest
/// rank (the runner's old definition) and type 7 part ways.
#[test]
fn printed_p50_is_the_reports_p50() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.jsonl");
    let mut opts = options(vec![fixture_path("tiny.onnx")], EngineKind::Tract, &out);
    opts.runs = 8;
    let report = webinfer_native::run(&opts).unwrap();
    let summary = report.models[0].1.as_ref().unwrap();
    let printed = summary.p50().unwrap();
    let (sessions, _) =
        webinfer_analyzer::read::read_all(&[out], &webinfer_analyzer::read::ReadOptions::default())
            .unwrap();
    let rows = webinfer_analyzer::table::session_rows(&sessions[0]);
    let reported = rows[0].get(webinfer_analyzer::table::M::PredP50).unwrap();
    assert!(
        (printed - reported).abs() < 1e-9,
        "native prints {printed}, the report says {reported}"
    );
    let mut sorted = summary.run_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let midpoint = (sorted[3] + sorted[4]) / 2.0;
    assert!((printed - midpoint).abs() < 1e-9, "type 7 over 8 values");
}

#[test]
fn tfjs_model_json_that_cannot_be_converted_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("model.json");
    std::fs::write(
        &json,
        br#"{"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[]}"#,
    )
    .unwrap();
    let out = dir.path().join("n.jsonl");
    let report = webinfer_native::run(&options(
        vec![json.clone(), fixture_path("tiny.onnx")],
        EngineKind::Tract,
        &out,
    ))
    .unwrap();
    // A TF.js model is converted to ONNX first; this one has no outputs.
    let msg = report.models[0].1.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("model.json")
            && msg.contains("cannot convert the TF.js model")
            && msg.contains("no outputs"),
        "{msg}"
    );
    assert!(report.models[1].1.is_ok());
}

#[test]
fn shapes_come_from_argument_then_page_trace() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = fixture_path("tiny.onnx");
    let sha = hex::encode(Sha256::digest(std::fs::read(&tiny).unwrap()));
    let page = dir.path().join("page.jsonl");
    std::fs::write(
        &page,
        format!(
            "{{\"v\":1,\"sid\":\"p\",\"seq\":0,\"ts\":1,\"kind\":\"model_load\",\"framework\":\"ort\",\"model\":\"https://a.test/m.bin\",\"start\":0,\"dur\":1,\"sha256\":\"{sha}\"}}\n\
             {{\"v\":1,\"sid\":\"p\",\"seq\":1,\"ts\":2,\"kind\":\"infer\",\"framework\":\"ort\",\"model\":\"https://a.test/m.bin\",\"api\":\"InferenceSession.run\",\"start\":1,\"dur\":1,\"call\":1,\"input_shapes\":[[2,3,8,8]]}}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("n.jsonl");
    let mut opts = options(vec![tiny.clone()], EngineKind::Tract, &out);
    opts.from_trace = Some(page);
    opts.runs = 2;
    let r = webinfer_native::run(&opts).unwrap();
    let s = r.models[0].1.as_ref().unwrap();
    assert_eq!(
        s.shapes, "x=2x3x8x8",
        "matched by sha256 although the page's URL has another name"
    );
    let sessions = read_trace(&out);
    let infers = check_session(&sessions[&s.sid], 2, 1, &tiny);
    assert_eq!(infers[1]["input_shapes"], serde_json::json!([[2, 3, 8, 8]]));

    opts.input_shapes = vec!["x=3x3x8x8".parse().unwrap()];
    let r = webinfer_native::run(&opts).unwrap();
    assert_eq!(
        r.models[0].1.as_ref().unwrap().shapes,
        "x=3x3x8x8",
        "--input-shape wins over the trace"
    );
}

#[test]
fn wrong_shape_error_names_model_and_suggests_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = fixture_path("tiny.onnx");
    let mut opts = options(
        vec![tiny.clone()],
        EngineKind::Tract,
        &dir.path().join("n.jsonl"),
    );
    opts.input_shapes = vec!["x=1x5x8x8".parse().unwrap()];
    let r = webinfer_native::run(&opts).unwrap();
    let msg = r.models[0].1.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("tiny.onnx") && msg.contains("x=1x5x8x8"),
        "{msg}"
    );
}

#[test]
fn ocr_detector_runs_on_both_engines_at_320() {
    let det = detector_path();
    for engine in [EngineKind::Ort, EngineKind::Tract] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("det.jsonl");
        let mut opts = options(vec![det.clone()], engine, &out);
        opts.runs = 2;
        opts.input_shapes = vec!["x=1x3x320x320".parse().unwrap()];
        let r = webinfer_native::run(&opts).unwrap();
        let s = r.models[0].1.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.model, "ch_PP-OCRv4_det_infer.onnx");
        let sessions = read_trace(&out);
        check_session(&sessions[&s.sid], 2, 1, &det);
        assert!(!s.dynamic_set_to_one);
    }
}

#[test]
fn ocr_detector_dynamic_spatial_dims_at_one_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(
        vec![detector_path()],
        EngineKind::Ort,
        &dir.path().join("d.jsonl"),
    );
    opts.runs = 1;
    let r = webinfer_native::run(&opts).unwrap();
    let s = r.models[0].1.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.shapes, "x=1x3x1x1");
    assert!(s.dynamic_set_to_one, "H and W were dynamic and set to 1");
}
