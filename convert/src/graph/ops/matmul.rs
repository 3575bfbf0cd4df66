//! Matrix products.
//!
//! - `MatMul(a, b, transpose_a, transpose_b)` → `MatMul` with a `Transpose`
//!   of the last two axes of an operand whose flag is set (done once at
//!   conversion time for a constant).
//! - `BatchMatMul`/`BatchMatMulV2(x, y, adj_x, adj_y)` →
//!   the same with the flags `adj_x`/`adj_y` (batch axes broadcast, as in
//!   ONNX `MatMul`).
//! - `_FusedMatMul(a, b, args…)` as TF.js's executor reads it: the product,
//!   then `args[0]` added as the bias, then the activation `fused_ops[1]`
//!   with `args[1]` as the PReLU slope and `leakyrelu_alpha`
//!   ([`super::activation::apply_fused`]).

use super::activation::apply_fused;
use super::conv::FusedOps;
use super::transpose;
use super::OpMapping;
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::Graph;
use crate::tensor::DType;

/// The matrix products mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "MatMul",
        onnx: "MatMul (Transpose for transpose_a/b)",
        map: matmul,
    },
    OpMapping {
        op: "_FusedMatMul",
        onnx: "MatMul, Add(bias), activation",
        map: fused_matmul,
    },
    OpMapping {
        op: "BatchMatMul",
        onnx: "MatMul (Transpose for adj_x/y)",
        map: batch_matmul,
    },
    OpMapping {
        op: "BatchMatMulV2",
        onnx: "MatMul (Transpose for adj_x/y)",
        map: batch_matmul,
    },
];

/// `x` with its last two axes swapped.
fn swap_last(g: &mut Graph, x: &str, base: &str) -> Result<String, String> {
    let rank = g.rank(x).ok_or(
        "a transposed operand of unknown rank (the swap of its last two axes needs the rank)",
    )?;
    if rank < 2 {
        return Err(format!("a transposed operand of rank {rank}"));
    }
    let mut perm: Vec<usize> = (0..rank).collect();
    perm.swap(rank - 2, rank - 1);
    if let Some(t) = g.const_value(x) {
        let t = t.transposed(&perm);
        return Ok(g.constant(&format!("{base}/transposed"), t));
    }
    let y = transpose(
        g,
        x,
        perm.iter().map(|&p| p as i64).collect(),
        &format!("{base}/transpose"),
    );
    if let Some(s) = g.shape(x).cloned() {
        let mut s = s;
        s.swap(rank - 2, rank - 1);
        g.set_shape(&y, s);
    }
    Ok(y)
}

fn product(c: &mut Ctx<'_>, n: &TfNode, ta: bool, tb: bool) -> Result<String, String> {
    let mut a = c.input(n, 0)?;
    let mut b = c.input(n, 1)?;
    let g = &mut c.g;
    if n.op == "MatMul" || n.op == "_FusedMatMul" {
        // TF MatMul is 2-D: the rank is known even when the shape is not.
        for v in [&a, &b] {
            if g.rank(v).is_none() {
                g.set_shape(v, vec![None, None]);
            }
        }
    }
    if ta {
        a = swap_last(g, &a, &format!("{}/a", n.name))?;
    }
    if tb {
        b = swap_last(g, &b, &format!("{}/b", n.name))?;
    }
    let dt = g.dtype(&a).unwrap_or(DType::F32);
    Ok(g.node("MatMul", &[&a, &b], vec![], dt, &n.name))
}

fn matmul(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let (ta, tb) = (n.bool("transpose_a"), n.bool("transpose_b"));
    Ok(vec![product(c, n, ta, tb)?])
}

fn batch_matmul(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let (ta, tb) = (n.bool("adj_x"), n.bool("adj_y"));
    Ok(vec![product(c, n, ta, tb)?])
}

fn fused_matmul(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let f = FusedOps::read(n);
    let (extra, activation) = (f.extra(), f.activation());
    if extra == "biasadd" {
        f.check_bias_args()?;
    } else if !extra.is_empty() {
        return Err(format!(
            "fused_ops {:?}: only BiasAdd is read as the extra op",
            f.ops
        ));
    }
    let args = f.args(c, n)?;
    let (ta, tb) = (n.bool("transpose_a"), n.bool("transpose_b"));
    let mut y = product(c, n, ta, tb)?;
    let g = &mut c.g;
    if let Some(b) = args.first() {
        y = g.node(
            "Add",
            &[&y, b],
            vec![],
            DType::F32,
            &format!("{}/bias", n.name),
        );
    }
    let leaky = n.float("leakyrelu_alpha").unwrap_or(0.2);
    Ok(vec![apply_fused(
        g,
        &activation,
        &y,
        args.get(1).map(String::as_str),
        leaky,
        &n.name,
    )?])
}
