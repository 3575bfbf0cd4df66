//! One test per op case of `fixtures/tfjs_cases.mjs` (a one-op graph model
//! with seeded weights, float16/uint8/uint16-quantized where the case says
//! so): the converted ONNX on tract and on ONNX Runtime against TF.js's
//! outputs, within the tolerance of [`crate::common`]. Plus: every case the
//! fixture makes is tested here, and every mapped op has a case.

use std::collections::BTreeSet;

use webinfer_native::engine::EngineKind;

use crate::common::{assert_every_case_tested, check, fixture_cases, ops_dir};

/// Cases tract 0.23 cannot run, with its error; they run on ONNX Runtime
/// only (the mapping is the same ONNX either way).
const TRACT_CANNOT: &[(&str, &str)] = &[(
    "slice_dynamic",
    "a Slice whose `begin` is computed fails in tract's DynSlice with \"Symbol <Sym0> points to an invalid (dead ?) SymbolScope\"",
)];

fn case(name: &str) {
    let dir = ops_dir().join(name);
    let engines: &[EngineKind] = if TRACT_CANNOT.iter().any(|(n, _)| *n == name) {
        &[EngineKind::Ort]
    } else {
        &[EngineKind::Tract, EngineKind::Ort]
    };
    check(name, &dir.join("model.json"), &dir, engines);
}

fixture_cases! {
    conv2d_valid,
    conv2d_same_stride2,
    conv2d_same_dilated,
    conv2d_explicit,
    conv2d_batch2_1x1,
    fused_conv_bias,
    fused_conv_bias_relu,
    fused_conv_bias_relu6,
    fused_conv_bias_prelu,
    fused_conv_bias_prelu_hwc_alpha,
    fused_conv_bias_leakyrelu,
    fused_conv_bias_elu,
    fused_conv_bias_sigmoid,
    fused_conv_float16,
    fused_conv_uint8,
    fused_conv_uint16,
    depthwise_valid,
    depthwise_same_stride2_mult2,
    depthwise_float16,
    fused_depthwise_bias,
    fused_depthwise_bias_relu,
    fused_depthwise_bias_relu6_uint8,
    maxpool_valid,
    maxpool_same_stride2,
    maxpool_same_stride1,
    avgpool_valid,
    avgpool_same,
    avgpool_same_stride1,
    matmul,
    matmul_transposed,
    fused_matmul_bias,
    fused_matmul_bias_relu_tb,
    fused_matmul_uint16,
    batch_matmul,
    batch_matmul_v2,
    relu,
    relu6,
    elu,
    selu,
    leaky_relu,
    prelu,
    sigmoid,
    tanh,
    softplus,
    softmax,
    log_softmax,
    add,
    add_v2,
    add_int,
    bias_add,
    add_n,
    sub,
    mul,
    mul_int,
    real_div,
    div_int,
    floor_div_float,
    floor_div_int,
    floor_mod_float,
    floor_mod_int,
    mod_int,
    div_no_nan,
    pow,
    maximum,
    minimum,
    squared_difference,
    abs,
    neg,
    exp,
    expm1,
    log,
    log1p,
    sqrt,
    rsqrt,
    square,
    reciprocal,
    floor,
    ceil,
    round,
    sign,
    sin,
    cos,
    erf,
    is_nan,
    equal,
    not_equal,
    greater,
    greater_equal,
    less,
    less_equal,
    logical_and,
    logical_or,
    logical_not,
    select,
    select_v2_broadcast,
    cast_float_to_int,
    cast_int64_to_float,
    cast_bool_to_float,
    identity_ops,
    mean_keep,
    mean_drop,
    sum,
    max,
    min,
    prod,
    all,
    any,
    arg_max,
    arg_min,
    reshape,
    reshape_dynamic,
    squeeze,
    squeeze_all,
    expand_dims,
    shape_and_size,
    fill,
    zeros_ones_like,
    broadcast_to,
    tile,
    range,
    range_computed,
    range_float,
    pack,
    pack_scalars,
    unpack,
    concat_v2,
    concat_v1,
    split,
    split_v,
    slice,
    slice_dynamic,
    strided_slice_masks,
    strided_slice_shrink_new_axis,
    strided_slice_negative_stride,
    strided_slice_ellipsis,
    transpose,
    pad,
    pad_v2,
    mirror_pad_reflect,
    gather_v2,
    gather_v1,
    gather_nd,
    resize_bilinear,
    resize_bilinear_half_pixel,
    resize_bilinear_align_corners,
    resize_nearest,
    resize_nearest_half_pixel,
    resize_nearest_align_corners,
    top_k,
    nms_v3,
    nms_v4_padded,
    nms_v5,
    where_condition,
}

#[test]
fn every_fixture_case_is_tested() {
    assert_every_case_tested(ops_dir(), CASES);
}

#[test]
fn every_mapped_op_has_a_case() {
    let mut used = BTreeSet::new();
    for name in CASES {
        let text = std::fs::read_to_string(ops_dir().join(name).join("model.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for n in v["modelTopology"]["node"].as_array().unwrap() {
            used.insert(n["op"].as_str().unwrap().to_owned());
        }
    }
    let missing: Vec<&str> = webinfer_convert::graph::ops::all()
        .iter()
        .map(|m| m.op)
        .filter(|op| !used.contains(*op))
        .collect();
    assert!(
        missing.is_empty(),
        "mapped ops without a per-op case: {missing:?}"
    );
}

#[test]
fn docs_op_table_is_current() {
    let doc = std::fs::read_to_string(crate::common::root().join("docs/native.md")).unwrap();
    let begin = doc.find("<!-- op-table:begin -->\n").expect("begin marker")
        + "<!-- op-table:begin -->\n".len();
    let end = doc.find("<!-- op-table:end -->").expect("end marker");
    let want = format!(
        "{}\n{}",
        webinfer_convert::graph::ops::markdown_table(),
        webinfer_convert::layers::map::markdown_table()
    );
    assert_eq!(
        &doc[begin..end],
        want,
        "docs/native.md's op table is stale: regenerate it with `cargo run -p webinfer-convert --example op_table`"
    );
}
