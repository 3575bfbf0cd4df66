//! Both engines against onnxruntime-web: the same model bytes and the same
//! input give outputs within 1e-4 of the fixtures that
//! `fixtures/make_web_outputs.mjs` computed with onnxruntime-web 1.30 (wasm).
//!
//! The ORT tests need `libonnxruntime.so` (scripts/install-onnxruntime.sh);
//! without it they fail with the loader's explanation, never skip.

use crate::common::{bars_input, detector_path, fixture_path, web_fixture};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webinfer_native::engine::EngineKind;
use webinfer_native::input::{inputs_sha256, seeded_inputs};

const TOLERANCE: f64 = 1e-4;

fn check(engine: EngineKind, model: &std::path::Path, fixture_name: &str) {
    let fx = web_fixture(fixture_name);
    let bytes = std::fs::read(model).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        fx["model_sha256"].as_str().unwrap(),
        "{}: not the bytes the fixture was made from",
        model.display()
    );
    let shapes: Vec<Vec<usize>> = fx["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let data = match fx["input_kind"].as_str().unwrap() {
        "seeded" => seeded_inputs(&shapes),
        "bars" => shapes.iter().map(|s| bars_input(s)).collect(),
        other => panic!("unknown input kind {other}"),
    };
    assert_eq!(
        inputs_sha256(&data),
        fx["input_sha256"].as_str().unwrap(),
        "input differs from the page's"
    );

    let mut m = engine
        .load(&bytes, 1)
        .unwrap_or_else(|e| panic!("{engine} cannot load {}: {e}", model.display()));
    let names: Vec<&str> = m.inputs().iter().map(|i| i.name.as_str()).collect();
    let want: Vec<&str> = fx["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want);
    m.prepare(&shapes, data).unwrap();
    let outputs = m.run(true).unwrap().outputs;
    let fx_outputs = fx["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), fx_outputs.len());
    for (got, want) in outputs.iter().zip(fx_outputs) {
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(got.shape, shape, "{engine}: output shape");
        assert_eq!(got.data.len() as u64, want["len"].as_u64().unwrap());
        let samples = want["samples"].as_array().unwrap();
        assert!(!samples.is_empty());
        let mut worst = 0f64;
        for s in samples {
            let idx = s[0].as_u64().unwrap() as usize;
            let w = s[1].as_f64().unwrap();
            let diff = (f64::from(got.data[idx]) - w).abs();
            worst = worst.max(diff);
            assert!(
                diff <= TOLERANCE,
                "{engine} {fixture_name}: output[{idx}] = {} but the page got {w}",
                got.data[idx]
            );
        }
        let mean = got.data.iter().map(|&v| f64::from(v)).sum::<f64>() / got.data.len() as f64;
        let want_mean = want["mean"].as_f64().unwrap();
        assert!(
            (mean - want_mean).abs() <= TOLERANCE,
            "{engine} {fixture_name}: mean {mean} vs page {want_mean}"
        );
        eprintln!("{engine} {fixture_name}: {} samples, worst |diff| {worst:e}, mean {mean} vs {want_mean}", samples.len());
    }
}

fn detector_fixture_is_not_trivial(name: &str) -> Value {
    let fx = web_fixture(name);
    let max = fx["outputs"][0]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[1].as_f64().unwrap())
        .fold(0f64, f64::max);
    assert!(
        max > 0.5,
        "{name}: the bars input should light up the probability map (max sample {max})"
    );
    fx
}

#[test]
fn ort_matches_onnxruntime_web_on_tiny_model() {
    check(EngineKind::Ort, &fixture_path("tiny.onnx"), "tiny");
}

#[test]
fn tract_matches_onnxruntime_web_on_tiny_model() {
    check(EngineKind::Tract, &fixture_path("tiny.onnx"), "tiny");
}

#[test]
fn ort_matches_onnxruntime_web_on_ocr_detector_seeded_input() {
    check(EngineKind::Ort, &detector_path(), "ocr_det_320");
}

#[test]
fn tract_matches_onnxruntime_web_on_ocr_detector_seeded_input() {
    check(EngineKind::Tract, &detector_path(), "ocr_det_320");
}

#[test]
fn ort_matches_onnxruntime_web_on_ocr_detector_bars() {
    detector_fixture_is_not_trivial("ocr_det_320_bars");
    check(EngineKind::Ort, &detector_path(), "ocr_det_320_bars");
}

#[test]
fn tract_matches_onnxruntime_web_on_ocr_detector_bars() {
    detector_fixture_is_not_trivial("ocr_det_320_bars");
    check(EngineKind::Tract, &detector_path(), "ocr_det_320_bars");
}
