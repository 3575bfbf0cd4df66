//! `--engine litert`: the .tflite models MediaPipe Tasks pages run (the npm-shipped BlazeFace
//! models with the metadata `web/fixtures/mediapipe_models.py` adds) through the LiteRT
//! subprocess driver. Needs python3 with `ai-edge-litert` and `flatbuffers` (scripts/setup.sh).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use webinfer_native::EngineKind;

/// The MediaPipe test models, generated into `dir`.
fn models(dir: &Path) -> Vec<PathBuf> {
    crate::common::run_script(
        "python3",
        "web/fixtures/mediapipe_models.py",
        &[dir.as_os_str()],
    );
    [
        "face_detection_short_range.tflite",
        "face_detection_full_range.tflite",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

#[test]
fn litert_runs_the_mediapipe_face_models() {
    let dir = tempfile::tempdir().unwrap();
    let files = models(dir.path());
    let out = dir.path().join("native.jsonl");
    let opts = crate::common::options(files.clone(), EngineKind::Litert, 5, &out);
    let report = webinfer_native::run(&opts).expect("native run");
    assert!(!report.engine_version.is_empty());
    let schema: Value = serde_json::from_str(webinfer_format::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &records {
        assert!(validator.is_valid(r), "schema: {r}");
    }
    for (file, (path, res)) in files.iter().zip(&report.models) {
        assert_eq!(file, path);
        let s = res
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(s.engine, "litert");
        assert_eq!(s.run_ms.len(), 5);
        assert!(
            s.run_ms.iter().all(|&ms| ms > 0.0 && ms < 5_000.0),
            "{:?}",
            s.run_ms
        );
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(
            s.sha256,
            hex::encode(Sha256::digest(&bytes)),
            "the same bytes the page hashes"
        );
        let mine: Vec<&Value> = records
            .iter()
            .filter(|r| r["sid"] == s.sid.as_str())
            .collect();
        let infers: Vec<&&Value> = mine.iter().filter(|r| r["kind"] == "infer").collect();
        assert_eq!(infers.len(), 6);
        assert!(
            infers
                .iter()
                .all(|r| r["framework"] == "litert" && r["api"] == "Interpreter.invoke"),
            "{infers:?}"
        );
        let load = mine.iter().find(|r| r["kind"] == "model_load").unwrap();
        assert_eq!(load["sha256"].as_str(), Some(s.sha256.as_str()));
        let shapes = load["input_shapes"].to_string();
        let want = if file.to_string_lossy().contains("short") {
            "[[1,128,128,3]]"
        } else {
            "[[1,192,192,3]]"
        };
        assert_eq!(shapes, want, "{load}");
    }
}
