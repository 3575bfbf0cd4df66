//! The TF op → ONNX mappings, one module per op family. Each mapping is an
//! [`OpMapping`]: the TF op, a one-line account of the ONNX it becomes, and
//! the function that emits it. A mapping computes what TF.js's own kernel
//! computes (`tfjs-converter` executors, `tfjs-core` ops, `tfjs-backend-cpu`
//! kernels), including where TF.js departs from TensorFlow (int64 is int32,
//! `Div` of integers floors, …); each family's module doc says how.
//!
//! Layout: TF.js tensors are NHWC. Convolutions, pools and resizes run in
//! NCHW in ONNX, so their mappings transpose in and out
//! ([`to_nchw`]/[`to_nhwc`]); every other op works on the NHWC tensors
//! as they are. [`crate::layout`] later removes transposes that cancel.

pub mod activation;
pub mod conv;
pub mod detect;
pub mod elementwise;
pub mod gather;
pub mod image;
pub mod matmul;
pub mod reduce;
pub mod shape;

use super::node::TfNode;
use super::Ctx;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::{DType, Tensor};

/// Emits the ONNX for one TF node; returns one IR value per TF output port.
pub type MapFn = fn(&mut Ctx<'_>, &TfNode) -> Result<Vec<String>, String>;

/// One TF op's mapping.
pub struct OpMapping {
    /// The TF op name.
    pub op: &'static str,
    /// What it becomes in ONNX (for docs/native.md's op table).
    pub onnx: &'static str,
    /// The emitter.
    pub map: MapFn,
}

/// The families, in documentation order.
pub fn families() -> [(&'static str, &'static [OpMapping]); 9] {
    [
        ("convolution and pooling", conv::OPS),
        ("matrix products", matmul::OPS),
        ("activations", activation::OPS),
        (
            "element-wise arithmetic, comparison, logic, casts",
            elementwise::OPS,
        ),
        ("reductions", reduce::OPS),
        ("shapes, slicing, joining", shape::OPS),
        ("gathers", gather::OPS),
        ("image resizing", image::OPS),
        ("selection and detection", detect::OPS),
    ]
}

/// The mapping of TF op `op`, if there is one.
pub fn lookup(op: &str) -> Option<&'static OpMapping> {
    families()
        .into_iter()
        .flat_map(|(_, ops)| ops.iter())
        .find(|m| m.op == op)
}

/// Every mapped op.
pub fn all() -> Vec<&'static OpMapping> {
    families()
        .into_iter()
        .flat_map(|(_, ops)| ops.iter())
        .collect()
}

/// The markdown table of every mapped op, by family (docs/native.md
/// carries it; a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut out = String::from("| family | TF op | ONNX |\n| --- | --- | --- |\n");
    for (family, ops) in families() {
        for m in ops {
            out.push_str(&format!("| {family} | `{}` | {} |\n", m.op, m.onnx));
        }
    }
    out
}

/// `Transpose(perm)` of `x`, named `name`, of `x`'s type.
pub fn transpose(g: &mut Graph, x: &str, perm: Vec<i64>, name: &str) -> String {
    same_type(
        g,
        "Transpose",
        &[x],
        attrs(&[("perm", Attr::Ints(perm))]),
        name,
    )
}

/// NHWC → NCHW: `Transpose(perm = [0, 3, 1, 2])`.
pub fn to_nchw(g: &mut Graph, x: &str, base: &str) -> String {
    transpose(g, x, vec![0, 3, 1, 2], &format!("{base}/to_nchw"))
}

/// NCHW → NHWC: `Transpose(perm = [0, 2, 3, 1])`.
pub fn to_nhwc(g: &mut Graph, x: &str, base: &str) -> String {
    transpose(g, x, vec![0, 2, 3, 1], &format!("{base}/to_nhwc"))
}

/// `x` as int64 (ONNX shape-like inputs must be int64): a converted copy
/// of a constant, else a `Cast`.
pub fn as_i64(g: &mut Graph, x: &str, base: &str) -> Result<String, String> {
    if g.dtype(x) == Some(DType::I64) {
        return Ok(x.to_owned());
    }
    if let Some(t) = g.const_value(x) {
        let t = t
            .cast_i64()
            .ok_or_else(|| format!("constant `{x}` is not integer"))?;
        return Ok(g.constant(&format!("{base}/i64"), t));
    }
    Ok(cast(g, x, DType::I64, base))
}

/// `Shape(x)`: the dims of `x` as an int64 vector, named `base`.
pub fn shape_of(g: &mut Graph, x: &str, base: &str) -> String {
    g.node("Shape", &[x], vec![], DType::I64, base)
}

/// `Cast(x, to)`, or `x` itself when it already has that type.
pub fn cast(g: &mut Graph, x: &str, to: DType, base: &str) -> String {
    if g.dtype(x) == Some(to) {
        return x.to_owned();
    }
    g.node(
        "Cast",
        &[x],
        attrs(&[("to", Attr::Int(i64::from(to.onnx())))]),
        to,
        &format!("{base}/cast_{to}"),
    )
}

/// A single-output node whose output has the type of its first input.
pub fn same_type(
    g: &mut Graph,
    op: &str,
    inputs: &[&str],
    a: Vec<(String, Attr)>,
    base: &str,
) -> String {
    let dt = g.dtype(inputs[0]).unwrap_or(DType::F32);
    g.node(op, inputs, a, dt, base)
}

/// A constant `Tensor` of the given type holding `v` as a scalar.
pub fn scalar_like(g: &mut Graph, like: &str, v: f64, base: &str) -> String {
    let dt = g.dtype(like).unwrap_or(DType::F32);
    g.constant(base, Tensor::scalar(dt, v))
}

/// Normalises a possibly negative axis against `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}
