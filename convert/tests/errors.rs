//! What the converter refuses, and that each refusal names what it needs
//! to: the model, the node (or layer) and the op (or class). A refusal is
//! always an error, never a model computing something else.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use webinfer_convert::{convert_path, ConvertError};

use crate::common::npm;

/// Writes `model.json` (+ `w.bin` with `weights` bytes) into `dir`.
fn write_model(dir: &Path, topology: Value, manifest: Value, weights: &[u8]) -> PathBuf {
    let m = json!({
        "format": if topology.get("node").is_some() { "graph-model" } else { "layers-model" },
        "modelTopology": topology,
        "weightsManifest": manifest,
    });
    let p = dir.join("model.json");
    std::fs::write(&p, serde_json::to_vec(&m).unwrap()).unwrap();
    std::fs::write(dir.join("w.bin"), weights).unwrap();
    p
}

fn placeholder(name: &str, dims: &[i64]) -> Value {
    json!({"name": name, "op": "Placeholder", "attr": {
        "dtype": {"type": "DT_FLOAT"},
        "shape": {"shape": {"dim": dims.iter().map(|d| json!({"size": d.to_string()})).collect::<Vec<_>>()}}
    }})
}

fn konst(name: &str, dims: &[usize]) -> Value {
    json!({"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
        "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": dims.iter().map(|d| json!({"size": d.to_string()})).collect::<Vec<_>>()}}}}})
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn err_of(p: &Path) -> (ConvertError, String) {
    let e = convert_path(p).expect_err("the conversion must fail");
    let msg = e.to_string();
    (e, msg)
}

/// The refusal of the model `write` writes into a fresh directory (it returns
/// the model's path): the error, its message and that path.
fn refusal(write: impl FnOnce(&Path) -> PathBuf) -> (ConvertError, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path());
    let (e, msg) = err_of(&p);
    (e, msg, p)
}

/// [`refusal`] of the model [`write_model`] writes.
fn refused(topology: Value, manifest: Value, weights: &[u8]) -> (ConvertError, String, PathBuf) {
    refusal(|d| write_model(d, topology, manifest, weights))
}

#[test]
fn handtrack_is_refused_for_its_control_flow() {
    let p = npm("@vladmandic/human/models/handtrack.json");
    let (e, msg) = err_of(&p);
    assert!(matches!(e, ConvertError::ControlFlow { .. }), "{msg}");
    assert!(msg.contains("handtrack.json"), "{msg}");
    assert!(
        msg.contains("control flow")
            && msg.contains("TensorListReserve")
            && msg.contains("LoopCond"),
        "{msg}"
    );
}

#[test]
fn an_op_without_mapping_names_op_node_and_model() {
    let (e, msg, p) = refused(
        json!({"node": [placeholder("x", &[1, 4]),
            {"name": "c", "op": "Cumsum", "input": ["x", "axis"], "attr": {}},
            {"name": "axis", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {"dtype": "DT_INT32", "tensorShape": {}}}}},
            {"name": "y", "op": "Relu", "input": ["c"], "attr": {}}]}),
        json!([{"paths": ["w.bin"], "weights": [{"name": "axis", "shape": [], "dtype": "int32"}]}]),
        &1i32.to_le_bytes(),
    );
    assert!(
        matches!(&e, ConvertError::UnsupportedOp { op, node, .. } if op == "Cumsum" && node == "c"),
        "{msg}"
    );
    assert!(msg.contains(&p.display().to_string()), "{msg}");
}

#[test]
fn a_missing_shard_names_it() {
    let (e, msg, _) = refused(
        json!({"node": [placeholder("x", &[1, 4]), {"name": "y", "op": "Relu", "input": ["x"]}]}),
        json!([{"paths": ["w.bin", "group1-shard2of2"], "weights": []}]),
        &[],
    );
    assert!(matches!(e, ConvertError::Source(_)), "{msg}");
    assert!(
        msg.contains("group1-shard2of2") && msg.contains("not beside the model"),
        "{msg}"
    );
}

#[test]
fn short_shards_are_a_weights_error() {
    let (e, msg, _) = refused(
        json!({"node": [placeholder("x", &[1, 4]), konst("w", &[4]),
            {"name": "y", "op": "AddV2", "input": ["x", "w"], "attr": {"T": {"type": "DT_FLOAT"}}}]}),
        json!([{"paths": ["w.bin"], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}]),
        &[0u8; 12],
    );
    assert!(matches!(e, ConvertError::Weights { .. }), "{msg}");
    assert!(msg.contains("`w`") && msg.contains("12 bytes"), "{msg}");
}

fn conv_model(dir: &Path, fused_ops: &[&str], filter_computed: bool) -> PathBuf {
    let filter_input = if filter_computed { "fneg" } else { "f" };
    let mut nodes = vec![
        placeholder("x", &[1, 4, 4, 2]),
        konst("f", &[1, 1, 2, 2]),
        konst("b", &[2]),
        json!({"name": "fneg", "op": "Neg", "input": ["f"], "attr": {"T": {"type": "DT_FLOAT"}}}),
    ];
    nodes.push(
        json!({"name": "conv", "op": "_FusedConv2D", "input": ["x", filter_input, "b"], "attr": {
        "T": {"type": "DT_FLOAT"}, "strides": {"list": {"i": ["1", "1", "1", "1"]}},
        "padding": {"s": b64("VALID")}, "data_format": {"s": b64("NHWC")},
        "fused_ops": {"list": {"s": fused_ops.iter().map(|s| b64(s)).collect::<Vec<_>>()}},
        "num_args": {"i": "1"}}}),
    );
    write_model(
        dir,
        json!({"node": nodes}),
        json!([{"paths": ["w.bin"], "weights": [
            {"name": "f", "shape": [1, 1, 2, 2], "dtype": "float32"},
            {"name": "b", "shape": [2], "dtype": "float32"}]}]),
        &[0u8; 24],
    )
}

#[test]
fn fused_batch_norm_is_refused_as_tfjs_refuses_it() {
    let (e, msg, _) = refusal(|d| conv_model(d, &["FusedBatchNorm", "Relu"], false));
    assert!(
        matches!(&e, ConvertError::Op { node, op, .. } if node == "conv" && op == "_FusedConv2D"),
        "{msg}"
    );
    assert!(msg.contains("FusedBatchNorm"), "{msg}");
}

#[test]
fn a_computed_filter_is_refused() {
    let (_, msg, _) = refusal(|d| conv_model(d, &["BiasAdd"], true));
    assert!(
        msg.contains("`conv`") && msg.contains("filter") && msg.contains("must be a constant"),
        "{msg}"
    );
    // The same model with a constant filter converts.
    let dir = tempfile::tempdir().unwrap();
    convert_path(&conv_model(dir.path(), &["BiasAdd"], false)).unwrap();
}

#[test]
fn symmetric_mirror_pad_is_refused() {
    let (_, msg, _) = refused(
        json!({"node": [placeholder("x", &[1, 4]),
            {"name": "p", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {"dtype": "DT_INT32"}}}},
            {"name": "y", "op": "MirrorPad", "input": ["x", "p"], "attr": {"T": {"type": "DT_FLOAT"}, "mode": {"s": b64("SYMMETRIC")}}}]}),
        json!([{"paths": ["w.bin"], "weights": [{"name": "p", "shape": [2, 2], "dtype": "int32"}]}]),
        &[0u8; 16],
    );
    assert!(msg.contains("`y`") && msg.contains("SYMMETRIC"), "{msg}");
}

#[test]
fn a_layer_class_without_mapping_names_layer_and_class() {
    let (e, msg, _) = refused(
        json!({"model_config": {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 3]}},
            {"class_name": "LSTM", "config": {"name": "rnn", "units": 2}}]}}}),
        json!([]),
        &[],
    );
    assert!(
        matches!(&e, ConvertError::UnsupportedLayer { layer, class, .. } if layer == "rnn" && class == "LSTM"),
        "{msg}"
    );
}

#[test]
fn a_js_shard_module_is_not_a_model() {
    let p = npm("nsfwjs/dist/models/mobilenet_v2/group1-shard1of1.min.js");
    let (_, msg) = err_of(&p);
    assert!(msg.contains("weight shard, not a model"), "{msg}");
}
