//! One test per Keras layers case of `fixtures/tfjs_cases.mjs layers`: a
//! tiny Sequential or functional model built and saved by tfjs-layers
//! itself, with seeded weights, converted and run on tract and ONNX
//! Runtime against TF.js's `model.predict`, within the tolerance of
//! [`crate::common`]. Plus: every case is tested, and every mapped layer
//! class is used by a case (or by nsfwjs's models in `models`).

use std::collections::BTreeSet;

use webinfer_native::engine::EngineKind;

use crate::common::{assert_every_case_tested, check, fixture_cases, layers_dir};

fn case(name: &str) {
    let dir = layers_dir().join(name);
    check(
        name,
        &dir.join("model.json"),
        &dir,
        &[EngineKind::Tract, EngineKind::Ort],
    );
}

fixture_cases! {
    dense_relu_softmax,
    dense_rank3_no_bias,
    conv2d_same_stride2_relu,
    conv2d_valid_dilated_no_bias,
    depthwise_mult2_valid,
    depthwise_same_stride2,
    batch_norm,
    batch_norm_no_scale_no_center,
    relu_max_value,
    activations,
    add,
    multiply,
    maximum,
    minimum,
    average,
    concatenate,
    concatenate_axis1,
    zero_padding_int,
    zero_padding_pairs,
    max_pooling_same,
    max_pooling_default_strides,
    average_pooling_same_stride1,
    average_pooling_valid,
    global_average_pooling,
    global_max_pooling,
    flatten_dense,
    reshape,
    dropouts_are_identity,
    mobilenet_block,
}

#[test]
fn every_layers_case_is_tested() {
    assert_every_case_tested(layers_dir(), CASES);
}

#[test]
fn every_mapped_layer_class_has_a_case() {
    let mut used = BTreeSet::new();
    for name in CASES {
        let text = std::fs::read_to_string(layers_dir().join(name).join("model.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for l in v["modelTopology"]["config"]["layers"].as_array().unwrap() {
            used.insert(l["class_name"].as_str().unwrap().to_owned());
        }
    }
    let missing: Vec<&str> = webinfer_convert::layers::map::LAYERS
        .iter()
        .map(|m| m.class)
        .filter(|c| !used.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "mapped layer classes without a case: {missing:?}"
    );
}
