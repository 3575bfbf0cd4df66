//! Reductions over constant axes.
//!
//! - `Mean`, `Max`, `Min`, `Prod` → `ReduceMean`/`ReduceMax`/`ReduceMin`/
//!   `ReduceProd` with the `axes` attribute (opset 17), `keepdims` from
//!   `keep_dims`; `Sum` → `ReduceSum` with `axes` as an input.
//! - `All`/`Any` (bool) → `ReduceMin`/`ReduceMax` on the values cast to
//!   int32, cast back to bool.
//! - An empty axis list reduces nothing in TF, so the input passes through
//!   (ONNX would reduce every axis).
//! - `ArgMax`/`ArgMin(input, dimension)` → `ArgMax`/`ArgMin(axis,
//!   keepdims = 0)` (the first index on ties, as TF.js), cast to int32: TF.js
//!   returns int32 whatever `output_type` says.

use super::{cast, norm_axis, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::DType;

/// The reductions mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "Mean",
        onnx: "ReduceMean(axes, keepdims)",
        map: |c, n| reduce(c, n, "ReduceMean"),
    },
    OpMapping {
        op: "Sum",
        onnx: "ReduceSum(axes input, keepdims)",
        map: |c, n| reduce(c, n, "ReduceSum"),
    },
    OpMapping {
        op: "Max",
        onnx: "ReduceMax(axes, keepdims)",
        map: |c, n| reduce(c, n, "ReduceMax"),
    },
    OpMapping {
        op: "Min",
        onnx: "ReduceMin(axes, keepdims)",
        map: |c, n| reduce(c, n, "ReduceMin"),
    },
    OpMapping {
        op: "Prod",
        onnx: "ReduceProd(axes, keepdims)",
        map: |c, n| reduce(c, n, "ReduceProd"),
    },
    OpMapping {
        op: "All",
        onnx: "Cast, ReduceMin, Cast(bool)",
        map: |c, n| bool_reduce(c, n, "ReduceMin"),
    },
    OpMapping {
        op: "Any",
        onnx: "Cast, ReduceMax, Cast(bool)",
        map: |c, n| bool_reduce(c, n, "ReduceMax"),
    },
    OpMapping {
        op: "ArgMax",
        onnx: "ArgMax(axis, keepdims=0), Cast(int32)",
        map: |c, n| arg(c, n, "ArgMax"),
    },
    OpMapping {
        op: "ArgMin",
        onnx: "ArgMin(axis, keepdims=0), Cast(int32)",
        map: |c, n| arg(c, n, "ArgMin"),
    },
];

type R = Result<Vec<String>, String>;

/// The static shape after reducing `axes` (normalised) of `x`.
fn reduced_shape(g: &Graph, x: &str, axes: &[i64], keep: bool) -> Option<crate::ir::Shape> {
    let s = g.shape(x)?;
    let axes: Vec<usize> = axes
        .iter()
        .map(|&a| norm_axis(a, s.len()))
        .collect::<Result<_, _>>()
        .ok()?;
    Some(
        s.iter()
            .enumerate()
            .filter_map(|(i, d)| match (axes.contains(&i), keep) {
                (false, _) => Some(*d),
                (true, true) => Some(Some(1)),
                (true, false) => None,
            })
            .collect(),
    )
}

fn reduce_values(g: &mut Graph, op: &str, x: &str, axes: &[i64], keep: bool, base: &str) -> String {
    let dt = g.dtype(x).unwrap_or(DType::F32);
    let kd = ("keepdims", Attr::Int(i64::from(keep)));
    let y = if op == "ReduceSum" {
        let ax = g.ints(&format!("{base}/axes"), axes);
        g.node(op, &[x, &ax], attrs(&[kd]), dt, base)
    } else {
        g.node(
            op,
            &[x],
            attrs(&[("axes", Attr::Ints(axes.to_vec())), kd]),
            dt,
            base,
        )
    };
    if let Some(s) = reduced_shape(g, x, axes, keep) {
        g.set_shape(&y, s);
    }
    y
}

fn reduce(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let x = c.input(n, 0)?;
    let axes = c.const_ints(n, 1, "axis")?;
    if axes.is_empty() {
        return Ok(vec![x]);
    }
    let keep = n.bool("keep_dims");
    Ok(vec![reduce_values(&mut c.g, op, &x, &axes, keep, &n.name)])
}

fn bool_reduce(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let x = c.input(n, 0)?;
    let axes = c.const_ints(n, 1, "axis")?;
    if axes.is_empty() {
        return Ok(vec![x]);
    }
    let keep = n.bool("keep_dims");
    let g = &mut c.g;
    let xi = cast(g, &x, DType::I32, &format!("{}/as_int", n.name));
    let r = reduce_values(g, op, &xi, &axes, keep, &format!("{}/reduce", n.name));
    let y = cast(g, &r, DType::Bool, &n.name);
    if let Some(s) = g.shape(&r).cloned() {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn arg(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let x = c.input(n, 0)?;
    let axis = c.const_ints(n, 1, "dimension")?;
    let [axis] = axis[..] else {
        return Err(format!("dimension {axis:?} is not one axis"));
    };
    let g = &mut c.g;
    let i = g.node(
        op,
        &[&x],
        attrs(&[("axis", Attr::Int(axis)), ("keepdims", Attr::Int(0))]),
        DType::I64,
        &format!("{}/i64", n.name),
    );
    let y = cast(g, &i, DType::I32, &n.name);
    if let Some(s) = reduced_shape(g, &x, &[axis], false) {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}
