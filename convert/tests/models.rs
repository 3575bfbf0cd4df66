//! Whole models that npm packages ship, converted and run natively on the
//! seeded input, against TF.js's outputs for the same input (made by
//! `fixtures/tfjs_cases.mjs models`), within the tolerance of
//! [`crate::common`]: every graph model of `@vladmandic/human` 3.3.6 but
//! handtrack (control flow, refused: see `errors`), and nsfwjs 4.4.0's
//! three models, which ship inside JavaScript files (two Keras layers
//! models, one graph model; uint8-quantized weights).
//!
//! ONNX Runtime runs every model; tract (an unoptimized build in `cargo
//! test`, slow) the smaller ones.

use std::path::Path;

use webinfer_native::engine::EngineKind;

use crate::common::{check, model_dir};

fn model(name: &str, engines: &[EngineKind]) {
    let dir = model_dir(name);
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let file = Path::new(case["file"].as_str().unwrap());
    check(name, file, &dir, engines);
}

const BOTH: &[EngineKind] = &[EngineKind::Ort, EngineKind::Tract];
const ORT: &[EngineKind] = &[EngineKind::Ort];

#[test]
fn blazeface() {
    model("blazeface", BOTH);
}

#[test]
fn facemesh_float16() {
    model("facemesh", BOTH);
}

#[test]
fn iris() {
    model("iris", BOTH);
}

#[test]
fn emotion() {
    model("emotion", BOTH);
}

#[test]
fn faceres_float16() {
    model("faceres", ORT);
}

#[test]
fn antispoof_float16() {
    model("antispoof", BOTH);
}

#[test]
fn liveness() {
    model("liveness", BOTH);
}

#[test]
fn handlandmark_lite_float16() {
    model("handlandmark-lite", ORT);
}

#[test]
fn movenet_lightning_float16_int32_input() {
    model("movenet-lightning", ORT);
}

#[test]
fn centernet_float16() {
    model("centernet", ORT);
}

#[test]
fn nsfwjs_mobilenet_v2_layers_uint8_in_js() {
    model("nsfwjs_mobilenet_v2", ORT);
}

#[test]
fn nsfwjs_mobilenet_v2_mid_graph_uint8_in_js() {
    model("nsfwjs_mobilenet_v2_mid", ORT);
}

#[test]
fn nsfwjs_inception_v3_layers_uint8_in_js() {
    model("nsfwjs_inception_v3", ORT);
}
