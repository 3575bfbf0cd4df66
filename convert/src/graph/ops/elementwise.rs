//! Element-wise arithmetic, comparisons, logic and casts, with NumPy
//! broadcasting on both sides (TF.js and ONNX broadcast alike).
//!
//! - `Add`/`AddV2`/`BiasAdd` → `Add` (TF.js adds a bias without looking at
//!   `data_format`); `Sub`, `Mul`, `Pow`, `Maximum` → `Max`,
//!   `Minimum` → `Min`, `AddN` → `Sum`.
//! - `RealDiv`/`Div` → `Div` for floats; for int32 TF.js's `div` floors, so
//!   they map like `FloorDiv`.
//! - `FloorDiv`: floats `Floor(Div(a, b))` (TF.js `Math.floor(a / b)`),
//!   cast to int32 as TF.js's kernel returns int32 for every input type;
//!   integers `Div(a − Mod(a, b), b)` with the floor modulo `Mod(fmod = 0)`,
//!   which is exact (the numerator is a multiple of `b`).
//! - `FloorMod`/`Mod`: integers `Mod(fmod = 0)` (the result takes the
//!   divisor's sign, as TF.js's `mod` kernel); floats as TF.js's kernel:
//!   `r = fmod(a, b)`, kept when `a` and `b` have the same sign
//!   (`Not(Xor(a < 0, b < 0))`), else `fmod(r + b, b)`.
//! - `SquaredDifference` → `d = Sub(a, b); Mul(d, d)` (TF.js's order).
//! - `DivNoNan` → `Where(b == 0, 0, a / b)`.
//! - Unary: `Abs`, `Neg`, `Exp`, `Log`, `Sqrt`, `Reciprocal`, `Floor`,
//!   `Ceil`, `Round` (both round half to even), `Sign`, `Sin`, `Cos`, `Erf`,
//!   `IsNan` → the ONNX op; `Rsqrt` → `Reciprocal(Sqrt)`; `Square` →
//!   `Mul(x, x)`; `Log1p` → `Log(1 + x)`; `Expm1` → `Exp(x) − 1`.
//! - Comparisons `Equal`, `NotEqual` (`Not(Equal)`), `Greater`,
//!   `GreaterEqual` (`GreaterOrEqual`), `Less`, `LessEqual`
//!   (`LessOrEqual`) → bool; `LogicalAnd`/`Or`/`Not` → `And`/`Or`/`Not`.
//! - `Select`/`SelectV2` → `Where` (TF.js's `where` broadcasts all three).
//! - `Cast` → `Cast(to = DstT)` (TF.js types: int64 is int32); float→int
//!   truncates in both.
//! - `Identity`, `IdentityN`, `StopGradient`, `Snapshot` pass their inputs
//!   through (no node).

use super::{cast, same_type, scalar_like, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::DType;

/// The element-wise ops mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "Add",
        onnx: "Add",
        map: |c, n| bin(c, n, "Add"),
    },
    OpMapping {
        op: "AddV2",
        onnx: "Add",
        map: |c, n| bin(c, n, "Add"),
    },
    OpMapping {
        op: "BiasAdd",
        onnx: "Add",
        map: |c, n| bin(c, n, "Add"),
    },
    OpMapping {
        op: "AddN",
        onnx: "Sum",
        map: add_n,
    },
    OpMapping {
        op: "Sub",
        onnx: "Sub",
        map: |c, n| bin(c, n, "Sub"),
    },
    OpMapping {
        op: "Mul",
        onnx: "Mul",
        map: |c, n| bin(c, n, "Mul"),
    },
    OpMapping {
        op: "RealDiv",
        onnx: "Div (floats), floor division (int32)",
        map: div,
    },
    OpMapping {
        op: "Div",
        onnx: "Div (floats), floor division (int32)",
        map: div,
    },
    OpMapping {
        op: "FloorDiv",
        onnx: "Floor(Div), Cast(int32) (floats), Div(a - Mod(a, b), b) (ints)",
        map: floor_div,
    },
    OpMapping {
        op: "FloorMod",
        onnx: "Mod(fmod=0) (ints), TF.js's fmod fix-up (floats)",
        map: floor_mod,
    },
    OpMapping {
        op: "Mod",
        onnx: "as FloorMod",
        map: floor_mod,
    },
    OpMapping {
        op: "DivNoNan",
        onnx: "Where(b == 0, 0, Div)",
        map: div_no_nan,
    },
    OpMapping {
        op: "Pow",
        onnx: "Pow",
        map: |c, n| bin(c, n, "Pow"),
    },
    OpMapping {
        op: "Maximum",
        onnx: "Max",
        map: |c, n| bin(c, n, "Max"),
    },
    OpMapping {
        op: "Minimum",
        onnx: "Min",
        map: |c, n| bin(c, n, "Min"),
    },
    OpMapping {
        op: "SquaredDifference",
        onnx: "Sub, Mul(d, d)",
        map: squared_difference,
    },
    OpMapping {
        op: "Abs",
        onnx: "Abs",
        map: |c, n| un(c, n, "Abs"),
    },
    OpMapping {
        op: "Neg",
        onnx: "Neg",
        map: |c, n| un(c, n, "Neg"),
    },
    OpMapping {
        op: "Exp",
        onnx: "Exp",
        map: |c, n| un(c, n, "Exp"),
    },
    OpMapping {
        op: "Expm1",
        onnx: "Sub(Exp, 1)",
        map: expm1,
    },
    OpMapping {
        op: "Log",
        onnx: "Log",
        map: |c, n| un(c, n, "Log"),
    },
    OpMapping {
        op: "Log1p",
        onnx: "Log(Add(1, x))",
        map: log1p,
    },
    OpMapping {
        op: "Sqrt",
        onnx: "Sqrt",
        map: |c, n| un(c, n, "Sqrt"),
    },
    OpMapping {
        op: "Rsqrt",
        onnx: "Reciprocal(Sqrt)",
        map: rsqrt,
    },
    OpMapping {
        op: "Square",
        onnx: "Mul(x, x)",
        map: square,
    },
    OpMapping {
        op: "Reciprocal",
        onnx: "Reciprocal",
        map: |c, n| un(c, n, "Reciprocal"),
    },
    OpMapping {
        op: "Floor",
        onnx: "Floor",
        map: |c, n| un(c, n, "Floor"),
    },
    OpMapping {
        op: "Ceil",
        onnx: "Ceil",
        map: |c, n| un(c, n, "Ceil"),
    },
    OpMapping {
        op: "Round",
        onnx: "Round (half to even)",
        map: |c, n| un(c, n, "Round"),
    },
    OpMapping {
        op: "Sign",
        onnx: "Sign",
        map: |c, n| un(c, n, "Sign"),
    },
    OpMapping {
        op: "Sin",
        onnx: "Sin",
        map: |c, n| un(c, n, "Sin"),
    },
    OpMapping {
        op: "Cos",
        onnx: "Cos",
        map: |c, n| un(c, n, "Cos"),
    },
    OpMapping {
        op: "Erf",
        onnx: "Erf",
        map: |c, n| un(c, n, "Erf"),
    },
    OpMapping {
        op: "IsNan",
        onnx: "IsNaN",
        map: is_nan,
    },
    OpMapping {
        op: "Equal",
        onnx: "Equal",
        map: |c, n| cmp(c, n, "Equal"),
    },
    OpMapping {
        op: "NotEqual",
        onnx: "Not(Equal)",
        map: not_equal,
    },
    OpMapping {
        op: "Greater",
        onnx: "Greater",
        map: |c, n| cmp(c, n, "Greater"),
    },
    OpMapping {
        op: "GreaterEqual",
        onnx: "GreaterOrEqual",
        map: |c, n| cmp(c, n, "GreaterOrEqual"),
    },
    OpMapping {
        op: "Less",
        onnx: "Less",
        map: |c, n| cmp(c, n, "Less"),
    },
    OpMapping {
        op: "LessEqual",
        onnx: "LessOrEqual",
        map: |c, n| cmp(c, n, "LessOrEqual"),
    },
    OpMapping {
        op: "LogicalAnd",
        onnx: "And",
        map: |c, n| cmp(c, n, "And"),
    },
    OpMapping {
        op: "LogicalOr",
        onnx: "Or",
        map: |c, n| cmp(c, n, "Or"),
    },
    OpMapping {
        op: "LogicalNot",
        onnx: "Not",
        map: |c, n| un(c, n, "Not"),
    },
    OpMapping {
        op: "Select",
        onnx: "Where",
        map: select,
    },
    OpMapping {
        op: "SelectV2",
        onnx: "Where",
        map: select,
    },
    OpMapping {
        op: "Cast",
        onnx: "Cast(to=DstT)",
        map: cast_op,
    },
    OpMapping {
        op: "Identity",
        onnx: "(passes its input through)",
        map: identity,
    },
    OpMapping {
        op: "IdentityN",
        onnx: "(passes its inputs through)",
        map: identity_n,
    },
    OpMapping {
        op: "StopGradient",
        onnx: "(passes its input through)",
        map: identity,
    },
    OpMapping {
        op: "Snapshot",
        onnx: "(passes its input through)",
        map: identity,
    },
];

type R = Result<Vec<String>, String>;

/// Broadcast shape of two static shapes, when both are known.
fn broadcast(g: &Graph, a: &str, b: &str) -> Option<crate::ir::Shape> {
    let (sa, sb) = (g.shape(a)?, g.shape(b)?);
    let r = sa.len().max(sb.len());
    let mut out = Vec::with_capacity(r);
    for i in 0..r {
        let da = if i + sa.len() >= r {
            sa[i + sa.len() - r]
        } else {
            Some(1)
        };
        let db = if i + sb.len() >= r {
            sb[i + sb.len() - r]
        } else {
            Some(1)
        };
        out.push(match (da, db) {
            (Some(1), d) | (d, Some(1)) => d,
            (Some(x), Some(y)) if x == y => Some(x),
            (Some(_), Some(_)) => return None,
            _ => None,
        });
    }
    Some(out)
}

/// A broadcasting binary node with output type `dt`, carrying the static
/// shape when both operand shapes are known.
fn binary_node(g: &mut Graph, op: &str, a: &str, b: &str, dt: DType, base: &str) -> String {
    let y = g.node(op, &[a, b], vec![], dt, base);
    if let Some(s) = broadcast(g, a, b) {
        g.set_shape(&y, s);
    }
    y
}

fn unary_node(g: &mut Graph, op: &str, x: &str, base: &str) -> String {
    let y = same_type(g, op, &[x], vec![], base);
    if let Some(s) = g.shape(x).cloned() {
        g.set_shape(&y, s);
    }
    y
}

fn bin(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let dt = c.g.dtype(&a).unwrap_or(DType::F32);
    Ok(vec![binary_node(&mut c.g, op, &a, &b, dt, &n.name)])
}

fn cmp(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    Ok(vec![binary_node(
        &mut c.g,
        op,
        &a,
        &b,
        DType::Bool,
        &n.name,
    )])
}

fn un(c: &mut Ctx<'_>, n: &TfNode, op: &str) -> R {
    let x = c.input(n, 0)?;
    Ok(vec![unary_node(&mut c.g, op, &x, &n.name)])
}

fn add_n(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let xs = c.inputs(n)?;
    if xs.len() == 1 {
        return Ok(xs);
    }
    let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
    let y = same_type(&mut c.g, "Sum", &refs, vec![], &n.name);
    if let Some(s) = c.g.shape(&xs[0]).cloned() {
        c.g.set_shape(&y, s);
    }
    Ok(vec![y])
}

/// Floor division of `a` by `b` (see the module doc).
fn floor_div_values(g: &mut Graph, a: &str, b: &str, base: &str) -> String {
    let dt = g.dtype(a).unwrap_or(DType::F32);
    if dt.is_float() {
        let q = binary_node(g, "Div", a, b, dt, &format!("{base}/div"));
        return unary_node(g, "Floor", &q, base);
    }
    let m = g.node(
        "Mod",
        &[a, b],
        attrs(&[("fmod", Attr::Int(0))]),
        dt,
        &format!("{base}/mod"),
    );
    let num = binary_node(g, "Sub", a, &m, dt, &format!("{base}/num"));
    binary_node(g, "Div", &num, b, dt, base)
}

fn div(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let dt = c.g.dtype(&a).unwrap_or(DType::F32);
    if dt.is_float() {
        return Ok(vec![binary_node(&mut c.g, "Div", &a, &b, dt, &n.name)]);
    }
    Ok(vec![floor_div_values(&mut c.g, &a, &b, &n.name)])
}

fn floor_div(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let g = &mut c.g;
    let q = floor_div_values(g, &a, &b, &n.name);
    // TF.js's FloorDiv kernel returns int32 whatever the input type.
    let y = cast(g, &q, DType::I32, &n.name);
    if let Some(s) = g.shape(&q).cloned() {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn floor_mod(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let g = &mut c.g;
    let dt = g.dtype(&a).unwrap_or(DType::F32);
    if !dt.is_float() {
        let y = g.node(
            "Mod",
            &[&a, &b],
            attrs(&[("fmod", Attr::Int(0))]),
            dt,
            &n.name,
        );
        if let Some(s) = broadcast(g, &a, &b) {
            g.set_shape(&y, s);
        }
        return Ok(vec![y]);
    }
    let fmod = |g: &mut Graph, x: &str, y: &str, base: &str| {
        g.node("Mod", &[x, y], attrs(&[("fmod", Attr::Int(1))]), dt, base)
    };
    let r = fmod(g, &a, &b, &format!("{}/rem", n.name));
    let zero = scalar_like(g, &a, 0.0, &format!("{}/zero", n.name));
    let is_neg = |g: &mut Graph, x: &str, what: &str| {
        binary_node(
            g,
            "Less",
            x,
            &zero,
            DType::Bool,
            &format!("{}/{what}", n.name),
        )
    };
    let an = is_neg(g, &a, "a_neg");
    let bn = is_neg(g, &b, "b_neg");
    let differ = binary_node(
        g,
        "Xor",
        &an,
        &bn,
        DType::Bool,
        &format!("{}/signs_differ", n.name),
    );
    let same = unary_node(g, "Not", &differ, &format!("{}/same_sign", n.name));
    let rb = binary_node(g, "Add", &r, &b, dt, &format!("{}/rem_plus_b", n.name));
    let fixed = fmod(g, &rb, &b, &format!("{}/fixed", n.name));
    let y = g.node("Where", &[&same, &r, &fixed], vec![], dt, &n.name);
    if let Some(s) = broadcast(g, &a, &b) {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn div_no_nan(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let g = &mut c.g;
    let dt = g.dtype(&a).unwrap_or(DType::F32);
    let q = if dt.is_float() {
        binary_node(g, "Div", &a, &b, dt, &format!("{}/div", n.name))
    } else {
        floor_div_values(g, &a, &b, &format!("{}/div", n.name))
    };
    let zero = scalar_like(g, &b, 0.0, &format!("{}/zero", n.name));
    let is0 = binary_node(
        g,
        "Equal",
        &b,
        &zero,
        DType::Bool,
        &format!("{}/b_is_0", n.name),
    );
    let zq = scalar_like(g, &q, 0.0, &format!("{}/zero_q", n.name));
    let y = g.node("Where", &[&is0, &zq, &q], vec![], dt, &n.name);
    if let Some(s) = g.shape(&q).cloned() {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn squared_difference(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let a = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let g = &mut c.g;
    let dt = g.dtype(&a).unwrap_or(DType::F32);
    let d = binary_node(g, "Sub", &a, &b, dt, &format!("{}/diff", n.name));
    Ok(vec![binary_node(g, "Mul", &d, &d, dt, &n.name)])
}

fn is_nan(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let y = c.g.node("IsNaN", &[&x], vec![], DType::Bool, &n.name);
    if let Some(s) = c.g.shape(&x).cloned() {
        c.g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn rsqrt(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let s = unary_node(&mut c.g, "Sqrt", &x, &format!("{}/sqrt", n.name));
    Ok(vec![unary_node(&mut c.g, "Reciprocal", &s, &n.name)])
}

fn square(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let dt = c.g.dtype(&x).unwrap_or(DType::F32);
    Ok(vec![binary_node(&mut c.g, "Mul", &x, &x, dt, &n.name)])
}

fn log1p(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    let one = scalar_like(g, &x, 1.0, &format!("{}/one", n.name));
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    let s = binary_node(g, "Add", &one, &x, dt, &format!("{}/plus1", n.name));
    Ok(vec![unary_node(g, "Log", &s, &n.name)])
}

fn expm1(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    let e = unary_node(g, "Exp", &x, &format!("{}/exp", n.name));
    let one = scalar_like(g, &x, 1.0, &format!("{}/one", n.name));
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    Ok(vec![binary_node(g, "Sub", &e, &one, dt, &n.name)])
}

fn not_equal(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let e = cmp(c, n, "Equal")?.remove(0);
    Ok(vec![unary_node(
        &mut c.g,
        "Not",
        &e,
        &format!("{}/not", n.name),
    )])
}
fn select(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let cond = c.input(n, 0)?;
    let t = c.input(n, 1)?;
    let e = c.input(n, 2)?;
    let g = &mut c.g;
    let cond = cast(g, &cond, DType::Bool, &n.name);
    let dt = g.dtype(&t).unwrap_or(DType::F32);
    let y = g.node("Where", &[&cond, &t, &e], vec![], dt, &n.name);
    if let Some(s) = broadcast(g, &t, &e) {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn cast_op(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let to = n.dtype("DstT").ok_or_else(|| {
        format!(
            "DstT {} has no ONNX mapping here",
            n.dtype_name("DstT").unwrap_or_else(|| "(absent)".into())
        )
    })?;
    let y = cast(&mut c.g, &x, to, &n.name);
    if let Some(s) = c.g.shape(&x).cloned() {
        c.g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn identity(c: &mut Ctx<'_>, n: &TfNode) -> R {
    Ok(vec![c.input(n, 0)?])
}

fn identity_n(c: &mut Ctx<'_>, n: &TfNode) -> R {
    c.inputs(n)
}
