//! Activations, standalone and as the fused activation of `_FusedConv2D`,
//! `FusedDepthwiseConv2dNative` and `_FusedMatMul` (TF.js `fused_util`
//! `applyActivation`: `linear`, `relu`, `relu6`, `prelu`, `leakyrelu`,
//! `elu`, `sigmoid`).
//!
//! - `Relu` → `Relu`; `Relu6` → `Clip(0, 6)` (TF.js `clipByValue(x, 0, 6)`);
//!   `Elu` → `Elu(alpha = 1)`; `Selu` → `Selu` (ONNX's default constants
//!   are TF.js's `SELU_SCALEALPHA / SELU_SCALE` and `SELU_SCALE` in float32);
//!   `LeakyRelu` → `LeakyRelu(alpha)` (TF default 0.2); `Sigmoid`, `Tanh`,
//!   `Softplus` → the ONNX op of the same name.
//! - `Prelu(x, alpha)` → `PRelu(x, alpha)`: TF.js computes
//!   `x < 0 ? alpha * x : x` with `alpha` broadcast against `x`, which is
//!   ONNX's unidirectional broadcast of the slope.
//! - `Softmax`/`LogSoftmax` → the ONNX op with `axis = -1` (TF.js normalises
//!   over the last axis; opset 13+ normalises over that one axis only).

use super::{same_type, scalar_like, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph};

/// The activations mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "Relu",
        onnx: "Relu",
        map: relu,
    },
    OpMapping {
        op: "Relu6",
        onnx: "Clip(0, 6)",
        map: relu6,
    },
    OpMapping {
        op: "Elu",
        onnx: "Elu(alpha=1)",
        map: elu,
    },
    OpMapping {
        op: "Selu",
        onnx: "Selu",
        map: selu,
    },
    OpMapping {
        op: "LeakyRelu",
        onnx: "LeakyRelu(alpha)",
        map: leaky_relu,
    },
    OpMapping {
        op: "Prelu",
        onnx: "PRelu",
        map: prelu,
    },
    OpMapping {
        op: "Sigmoid",
        onnx: "Sigmoid",
        map: sigmoid,
    },
    OpMapping {
        op: "Tanh",
        onnx: "Tanh",
        map: tanh,
    },
    OpMapping {
        op: "Softplus",
        onnx: "Softplus",
        map: softplus,
    },
    OpMapping {
        op: "Softmax",
        onnx: "Softmax(axis=-1)",
        map: softmax,
    },
    OpMapping {
        op: "LogSoftmax",
        onnx: "LogSoftmax(axis=-1)",
        map: log_softmax,
    },
];

fn unary(
    c: &mut Ctx<'_>,
    n: &TfNode,
    op: &str,
    a: Vec<(String, Attr)>,
) -> Result<Vec<String>, String> {
    let x = c.input(n, 0)?;
    Ok(vec![same_type(&mut c.g, op, &[&x], a, &n.name)])
}

fn relu(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Relu", vec![])
}

fn relu6(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let x = c.input(n, 0)?;
    Ok(vec![clip(&mut c.g, &x, 0.0, 6.0, &n.name)])
}

/// `Clip(x, lo, hi)` with scalar bounds of `x`'s type.
pub fn clip(g: &mut Graph, x: &str, lo: f64, hi: f64, base: &str) -> String {
    let lo = scalar_like(g, x, lo, &format!("{base}/min"));
    let hi = scalar_like(g, x, hi, &format!("{base}/max"));
    same_type(g, "Clip", &[x, &lo, &hi], vec![], base)
}

fn elu(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Elu", attrs(&[("alpha", Attr::Float(1.0))]))
}

fn selu(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Selu", vec![])
}

fn leaky_relu(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let alpha = n.float("alpha").unwrap_or(0.2);
    unary(c, n, "LeakyRelu", attrs(&[("alpha", Attr::Float(alpha))]))
}

fn prelu(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let x = c.input(n, 0)?;
    let alpha = c.input(n, 1)?;
    Ok(vec![same_type(
        &mut c.g,
        "PRelu",
        &[&x, &alpha],
        vec![],
        &n.name,
    )])
}

fn sigmoid(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Sigmoid", vec![])
}

fn tanh(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Tanh", vec![])
}

fn softplus(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Softplus", vec![])
}

fn softmax(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "Softmax", attrs(&[("axis", Attr::Int(-1))]))
}

fn log_softmax(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    unary(c, n, "LogSoftmax", attrs(&[("axis", Attr::Int(-1))]))
}

/// Applies a fused activation (TF.js names, lower case) to `x`. `alpha` is
/// the PReLU slope value (already in `x`'s layout); `leaky` the LeakyReLU
/// slope.
pub fn apply_fused(
    g: &mut Graph,
    act: &str,
    x: &str,
    alpha: Option<&str>,
    leaky: f32,
    base: &str,
) -> Result<String, String> {
    Ok(match act {
        "linear" => x.to_owned(),
        "relu" => same_type(g, "Relu", &[x], vec![], &format!("{base}/relu")),
        "relu6" => clip(g, x, 0.0, 6.0, &format!("{base}/relu6")),
        "elu" => same_type(
            g,
            "Elu",
            &[x],
            attrs(&[("alpha", Attr::Float(1.0))]),
            &format!("{base}/elu"),
        ),
        "sigmoid" => same_type(g, "Sigmoid", &[x], vec![], &format!("{base}/sigmoid")),
        "leakyrelu" => same_type(
            g,
            "LeakyRelu",
            &[x],
            attrs(&[("alpha", Attr::Float(leaky))]),
            &format!("{base}/leakyrelu"),
        ),
        "prelu" => {
            let a = alpha.ok_or("fused Prelu without an alpha argument")?;
            same_type(g, "PRelu", &[x, a], vec![], &format!("{base}/prelu"))
        }
        other => {
            return Err(format!(
                "fused activation `{other}` is not one TF.js applies"
            ))
        }
    })
}
