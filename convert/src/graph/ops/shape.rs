//! Shapes, slicing and joining. Shape-like TF inputs (int32) become int64
//! ONNX inputs: converted at conversion time when constant, else `Cast`.
//!
//! - `Reshape(x, shape)` → `Reshape` (`allowzero = 1` when the constant shape
//!   has a 0, which TF means literally).
//! - `Squeeze(x, squeeze_dims)` → `Squeeze(axes)` (no axes: every size-1
//!   axis, in both); `ExpandDims(x, axis)` → `Unsqueeze([axis])` (negative
//!   axes count from the back of the output in both).
//! - `Shape`/`Size` → `Shape`/`Size`, cast to int32 (TF.js's type), or a
//!   constant when the input's shape is known.
//! - `Fill(dims, value)` → `Expand(value, dims)`; `ZerosLike`/`OnesLike` →
//!   `Expand(0 or 1, Shape(x))`; `BroadcastTo` → `Expand`; `Tile` → `Tile`;
//!   `Range(start, limit, delta)` → `Range`, or TF.js's values when all
//!   three are constants (TF.js accumulates `+ delta`, ONNX multiplies;
//!   for constants the converter computes TF.js's numbers).
//! - `Pack(values, axis)` → `Unsqueeze(axis)` of each, `Concat(axis)`;
//!   `Unpack(value, num, axis)` → `Split(axis)` into `num` equal parts, each
//!   `Squeeze(axis)`.
//! - `ConcatV2(values…, axis)`/`Concat(axis, values…)` → `Concat(axis)`;
//!   `Split(axis, value)` → `Split(axis)` into `num_split` equal parts;
//!   `SplitV(value, sizes, axis)` → `Split(split = sizes)` (a `-1` size is
//!   the rest, needing the static size of that axis).
//! - `Slice(x, begin, size)` → `Slice(starts = begin, ends = begin + size)`,
//!   a `-1` size meaning to the end.
//! - `StridedSlice(x, begin, end, strides)` with constant bounds →
//!   `Slice` over the spec's axes (a `begin_mask` bit starts at the first
//!   element in the stride's direction, an `end_mask` bit runs to the last),
//!   `Squeeze` of `shrink_axis_mask` axes (a one-element slice at `begin`),
//!   then `Unsqueeze` at `new_axis_mask` positions; `ellipsis_mask` is
//!   expanded against the input's rank (which must be known).
//! - `Transpose(x, perm)` → `Transpose(perm)` (constant `perm`).
//! - `Pad`/`PadV2(x, paddings[, value])` → `Pad(mode = constant)` with the
//!   `[rank, 2]` paddings as ONNX's begins-then-ends list; `MirrorPad` with
//!   `REFLECT` → `Pad(mode = reflect)` (`SYMMETRIC` has no ONNX mode).

use super::{as_i64, cast, norm_axis, same_type, shape_of, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph, Shape};
use crate::tensor::{DType, Tensor};

/// The shape ops mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "Reshape",
        onnx: "Reshape",
        map: reshape,
    },
    OpMapping {
        op: "Squeeze",
        onnx: "Squeeze(axes)",
        map: squeeze,
    },
    OpMapping {
        op: "ExpandDims",
        onnx: "Unsqueeze",
        map: expand_dims,
    },
    OpMapping {
        op: "Shape",
        onnx: "Shape, Cast(int32) (a constant when static)",
        map: shape,
    },
    OpMapping {
        op: "Size",
        onnx: "Size, Cast(int32) (a constant when static)",
        map: size,
    },
    OpMapping {
        op: "Fill",
        onnx: "Expand(value, dims)",
        map: fill,
    },
    OpMapping {
        op: "ZerosLike",
        onnx: "Expand(0, Shape(x))",
        map: |c, n| like(c, n, 0.0),
    },
    OpMapping {
        op: "OnesLike",
        onnx: "Expand(1, Shape(x))",
        map: |c, n| like(c, n, 1.0),
    },
    OpMapping {
        op: "BroadcastTo",
        onnx: "Expand",
        map: broadcast_to,
    },
    OpMapping {
        op: "Tile",
        onnx: "Tile",
        map: tile,
    },
    OpMapping {
        op: "Range",
        onnx: "Range",
        map: range,
    },
    OpMapping {
        op: "Pack",
        onnx: "Unsqueeze each, Concat",
        map: pack,
    },
    OpMapping {
        op: "Unpack",
        onnx: "Split, Squeeze each",
        map: unpack,
    },
    OpMapping {
        op: "ConcatV2",
        onnx: "Concat",
        map: concat_v2,
    },
    OpMapping {
        op: "Concat",
        onnx: "Concat",
        map: concat_v1,
    },
    OpMapping {
        op: "Split",
        onnx: "Split (equal parts)",
        map: split,
    },
    OpMapping {
        op: "SplitV",
        onnx: "Split(split)",
        map: split_v,
    },
    OpMapping {
        op: "Slice",
        onnx: "Slice",
        map: slice,
    },
    OpMapping {
        op: "StridedSlice",
        onnx: "Slice, Squeeze (shrink), Unsqueeze (new axes)",
        map: strided_slice,
    },
    OpMapping {
        op: "Transpose",
        onnx: "Transpose(perm)",
        map: transpose,
    },
    OpMapping {
        op: "Pad",
        onnx: "Pad(constant)",
        map: pad,
    },
    OpMapping {
        op: "PadV2",
        onnx: "Pad(constant, value)",
        map: pad,
    },
    OpMapping {
        op: "MirrorPad",
        onnx: "Pad(reflect) (REFLECT only)",
        map: mirror_pad,
    },
];

type R = Result<Vec<String>, String>;

/// Largest ONNX slice bound ("to the end").
const END: i64 = i64::MAX;

fn reshape(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let s = c.input(n, 1)?;
    let g = &mut c.g;
    let known = g.const_value(&s).and_then(Tensor::to_i64);
    let s64 = as_i64(g, &s, &n.name)?;
    let mut a = vec![];
    if known.as_ref().is_some_and(|k| k.contains(&0)) {
        a = attrs(&[("allowzero", Attr::Int(1))]);
    }
    let y = same_type(g, "Reshape", &[&x, &s64], a, &n.name);
    if let Some(k) = known {
        let mut out: Shape = k.iter().map(|&d| (d >= 0).then_some(d)).collect();
        // Resolve a -1 when the input's element count is known.
        let total = g
            .shape(&x)
            .and_then(|sx| sx.iter().copied().collect::<Option<Vec<i64>>>())
            .map(|d| d.iter().product::<i64>());
        if let (Some(total), Some(pos)) = (total, k.iter().position(|&d| d == -1)) {
            let rest: i64 = k.iter().filter(|&&d| d != -1).product();
            if rest > 0 {
                out[pos] = Some(total / rest);
            }
        }
        g.set_shape(&y, out);
    } else if let Some([Some(r)]) = g.shape(&s).map(Vec::as_slice) {
        let r = *r as usize;
        g.set_shape(&y, vec![None; r]);
    }
    Ok(vec![y])
}

fn squeeze(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let dims = n
        .ints("squeeze_dims")
        .or_else(|| n.ints("axis"))
        .unwrap_or_default();
    let g = &mut c.g;
    if dims.is_empty() {
        let y = same_type(g, "Squeeze", &[&x], vec![], &n.name);
        if let Some(s) = g.shape(&x) {
            if s.iter().all(Option::is_some) {
                let out: Shape = s.iter().filter(|d| **d != Some(1)).copied().collect();
                g.set_shape(&y, out);
            }
        }
        return Ok(vec![y]);
    }
    let ax = g.ints(&format!("{}/axes", n.name), &dims);
    let y = same_type(g, "Squeeze", &[&x, &ax], vec![], &n.name);
    if let Some(s) = g.shape(&x).cloned() {
        let axes: Vec<usize> = dims
            .iter()
            .map(|&a| norm_axis(a, s.len()))
            .collect::<Result<_, _>>()?;
        let out: Shape = s
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, d)| *d)
            .collect();
        g.set_shape(&y, out);
    }
    Ok(vec![y])
}

/// `Unsqueeze(x, [axis])` with the output's static shape when known.
fn unsqueeze(g: &mut Graph, x: &str, axis: i64, base: &str) -> Result<String, String> {
    let ax = g.ints(&format!("{base}/axes"), &[axis]);
    let y = same_type(g, "Unsqueeze", &[x, &ax], vec![], base);
    if let Some(s) = g.shape(x).cloned() {
        let a = norm_axis(axis, s.len() + 1)?;
        let mut out = s;
        out.insert(a, Some(1));
        g.set_shape(&y, out);
    }
    Ok(y)
}

fn expand_dims(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let axis = c.const_ints(n, 1, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    Ok(vec![unsqueeze(&mut c.g, &x, axis, &n.name)?])
}

fn static_dims(g: &Graph, x: &str) -> Option<Vec<i64>> {
    g.shape(x)?.iter().copied().collect()
}

fn shape(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    if let Some(d) = static_dims(g, &x) {
        let v: Vec<i32> = d.iter().map(|&v| v as i32).collect();
        return Ok(vec![g.constant(&n.name, Tensor::i32(vec![v.len()], &v))]);
    }
    let s = shape_of(g, &x, &format!("{}/i64", n.name));
    let y = cast(g, &s, DType::I32, &n.name);
    if let Some(r) = g.rank(&x) {
        g.set_shape(&y, vec![Some(r as i64)]);
        g.set_shape(&s, vec![Some(r as i64)]);
    }
    Ok(vec![y])
}

fn size(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    if let Some(d) = static_dims(g, &x) {
        let v = d.iter().product::<i64>() as i32;
        return Ok(vec![g.constant(&n.name, Tensor::i32(vec![], &[v]))]);
    }
    let s = g.node(
        "Size",
        &[&x],
        vec![],
        DType::I64,
        &format!("{}/i64", n.name),
    );
    let y = cast(g, &s, DType::I32, &n.name);
    g.set_shape(&y, vec![]);
    Ok(vec![y])
}

fn expand(g: &mut Graph, value: &str, dims: &str, base: &str) -> Result<String, String> {
    let known = g.const_value(dims).and_then(Tensor::to_i64);
    let d64 = as_i64(g, dims, base)?;
    let y = same_type(g, "Expand", &[value, &d64], vec![], base);
    if let Some(k) = known {
        g.set_shape(&y, k.iter().map(|&v| Some(v)).collect());
    }
    Ok(y)
}

fn fill(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let dims = c.input(n, 0)?;
    let value = c.input(n, 1)?;
    Ok(vec![expand(&mut c.g, &value, &dims, &n.name)?])
}

fn like(c: &mut Ctx<'_>, n: &TfNode, v: f64) -> R {
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    let k = g.constant(&format!("{}/value", n.name), Tensor::scalar(dt, v));
    let s = shape_of(g, &x, &format!("{}/shape", n.name));
    let y = same_type(g, "Expand", &[&k, &s], vec![], &n.name);
    if let Some(sh) = g.shape(&x).cloned() {
        g.set_shape(&y, sh);
    }
    Ok(vec![y])
}

fn broadcast_to(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let s = c.input(n, 1)?;
    Ok(vec![expand(&mut c.g, &x, &s, &n.name)?])
}

fn tile(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let m = c.input(n, 1)?;
    let g = &mut c.g;
    let m64 = as_i64(g, &m, &n.name)?;
    let y = same_type(g, "Tile", &[&x, &m64], vec![], &n.name);
    if let Some(r) = g.rank(&x) {
        g.set_shape(&y, vec![None; r]);
    }
    Ok(vec![y])
}

/// TF.js's `range` of constants: `ceil(|(limit − start) / delta|)` values,
/// each the previous plus `delta` (accumulated in the output type).
fn range_values(dt: DType, start: f64, limit: f64, delta: f64) -> Result<Tensor, String> {
    if delta == 0.0 {
        return Err("a delta of 0".into());
    }
    let n = ((limit - start) / delta).abs().ceil() as usize;
    if dt.is_float() {
        let mut v = Vec::with_capacity(n);
        let mut x = start as f32;
        for i in 0..n {
            if i > 0 {
                x += delta as f32;
            }
            v.push(x);
        }
        Ok(Tensor::f32(vec![n], &v))
    } else {
        let (s, d) = (start as i32, delta as i32);
        let v: Vec<i32> = (0..n as i32).map(|i| s + i * d).collect();
        Ok(Tensor::i32(vec![n], &v))
    }
}

fn range(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let xs = c.inputs(n)?;
    if xs.len() != 3 {
        return Err(format!(
            "{} inputs (start, limit, delta expected)",
            xs.len()
        ));
    }
    let g = &mut c.g;
    let dt = n
        .dtype("Tidx")
        .unwrap_or_else(|| g.dtype(&xs[0]).unwrap_or(DType::I32));
    let consts: Option<Vec<f64>> = xs
        .iter()
        .map(|x| {
            g.const_value(x)
                .and_then(Tensor::to_f64)
                .and_then(|v| v.first().copied())
        })
        .collect();
    if let Some(k) = consts {
        let t = range_values(dt, k[0], k[1], k[2])?;
        return Ok(vec![g.constant(&n.name, t)]);
    }
    let ins: Vec<String> = xs
        .iter()
        .enumerate()
        .map(|(i, v)| cast(g, v, dt, &format!("{}/in{i}", n.name)))
        .collect();
    let y = g.node("Range", &[&ins[0], &ins[1], &ins[2]], vec![], dt, &n.name);
    g.set_shape(&y, vec![None]);
    Ok(vec![y])
}

fn concat_values(g: &mut Graph, xs: &[String], axis: i64, base: &str) -> Result<String, String> {
    if xs.len() == 1 {
        return Ok(xs[0].clone());
    }
    let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
    let y = same_type(
        g,
        "Concat",
        &refs,
        attrs(&[("axis", Attr::Int(axis))]),
        base,
    );
    let shapes: Option<Vec<Shape>> = xs.iter().map(|x| g.shape(x).cloned()).collect();
    if let Some(shapes) = shapes {
        let r = shapes[0].len();
        if r > 0 && shapes.iter().all(|s| s.len() == r) {
            let a = norm_axis(axis, r)?;
            let mut out = shapes[0].clone();
            out[a] = shapes.iter().map(|s| s[a]).sum::<Option<i64>>();
            g.set_shape(&y, out);
        }
    }
    Ok(y)
}

fn pack(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let xs = c.inputs(n)?;
    let axis = n.int("axis").unwrap_or(0);
    let g = &mut c.g;
    let us: Vec<String> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| unsqueeze(g, x, axis, &format!("{}/in{i}", n.name)))
        .collect::<Result<_, _>>()?;
    if us.len() == 1 {
        return Ok(us);
    }
    Ok(vec![concat_values(g, &us, axis, &n.name)?])
}

fn unpack(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let num = n.int("num").ok_or("no `num` attribute")? as usize;
    let axis = n.int("axis").unwrap_or(0);
    let g = &mut c.g;
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    let parts = if num == 1 {
        vec![x.clone()]
    } else {
        g.node_n(
            "Split",
            &[&x],
            attrs(&[("axis", Attr::Int(axis))]),
            &vec![dt; num],
            &format!("{}/split", n.name),
        )
    };
    let in_shape = g.shape(&x).cloned();
    let mut out = Vec::with_capacity(num);
    for (i, p) in parts.iter().enumerate() {
        let ax = g.ints(&format!("{}/axes{i}", n.name), &[axis]);
        let y = same_type(g, "Squeeze", &[p, &ax], vec![], &format!("{}:{i}", n.name));
        if let Some(s) = &in_shape {
            let a = norm_axis(axis, s.len())?;
            let mut s = s.clone();
            s.remove(a);
            g.set_shape(&y, s);
        }
        out.push(y);
    }
    Ok(out)
}

fn concat_v2(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let k = n.inputs.len();
    if k < 2 {
        return Err("ConcatV2 without values and axis".into());
    }
    let axis = c.const_ints(n, k - 1, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    let xs: Vec<String> = (0..k - 1)
        .map(|i| c.input(n, i))
        .collect::<Result<_, _>>()?;
    Ok(vec![concat_values(&mut c.g, &xs, axis, &n.name)?])
}

fn concat_v1(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let k = n.inputs.len();
    let axis = c.const_ints(n, 0, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    let xs: Vec<String> = (1..k).map(|i| c.input(n, i)).collect::<Result<_, _>>()?;
    Ok(vec![concat_values(&mut c.g, &xs, axis, &n.name)?])
}

fn split_values(
    g: &mut Graph,
    x: &str,
    axis: i64,
    sizes: Option<Vec<i64>>,
    num: usize,
    base: &str,
) -> Result<Vec<String>, String> {
    let dt = g.dtype(x).unwrap_or(DType::F32);
    let mut inputs = vec![x.to_owned()];
    if let Some(s) = &sizes {
        inputs.push(g.ints(&format!("{base}/split"), s));
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let outs = g.node_n(
        "Split",
        &refs,
        attrs(&[("axis", Attr::Int(axis))]),
        &vec![dt; num],
        base,
    );
    if let Some(s) = g.shape(x).cloned() {
        let a = norm_axis(axis, s.len())?;
        for (i, o) in outs.iter().enumerate() {
            let mut so = s.clone();
            so[a] = match &sizes {
                Some(v) => Some(v[i]),
                None => s[a].map(|d| d / num as i64),
            };
            g.set_shape(o, so);
        }
    }
    Ok(outs)
}

fn split(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let axis = c.const_ints(n, 0, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    let x = c.input(n, 1)?;
    let num = n.int("num_split").ok_or("no `num_split` attribute")? as usize;
    if num == 1 {
        return Ok(vec![x]);
    }
    split_values(&mut c.g, &x, axis, None, num, &n.name)
}

fn split_v(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let mut sizes = c.const_ints(n, 1, "size_splits")?;
    let axis = c.const_ints(n, 2, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    if let Some(pos) = sizes.iter().position(|&s| s == -1) {
        let shape =
            c.g.shape(&x)
                .cloned()
                .ok_or("a -1 split size on an input of unknown shape")?;
        let a = norm_axis(axis, shape.len())?;
        let total = shape[a].ok_or("a -1 split size on an axis of unknown size")?;
        let rest: i64 = sizes.iter().filter(|&&s| s != -1).sum();
        sizes[pos] = total - rest;
    }
    let num = sizes.len();
    if num == 1 {
        return Ok(vec![x]);
    }
    split_values(&mut c.g, &x, axis, Some(sizes), num, &n.name)
}

fn slice(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let b = c.input(n, 1)?;
    let s = c.input(n, 2)?;
    let g = &mut c.g;
    let (bk, sk) = (
        g.const_value(&b).and_then(Tensor::to_i64),
        g.const_value(&s).and_then(Tensor::to_i64),
    );
    let (starts, ends) = match (bk, sk) {
        (Some(bk), Some(sk)) => {
            let ends: Vec<i64> = bk
                .iter()
                .zip(&sk)
                .map(|(&b, &s)| if s == -1 { END } else { b + s })
                .collect();
            let y = {
                let st = g.ints(&format!("{}/starts", n.name), &bk);
                let en = g.ints(&format!("{}/ends", n.name), &ends);
                same_type(g, "Slice", &[&x, &st, &en], vec![], &n.name)
            };
            let shape: Shape = sk
                .iter()
                .enumerate()
                .map(|(i, &sz)| {
                    if sz >= 0 {
                        Some(sz)
                    } else {
                        g.shape(&x)
                            .and_then(|s| s.get(i).copied().flatten())
                            .map(|d| d - bk[i])
                    }
                })
                .collect();
            if g.rank(&x) == Some(shape.len()) {
                g.set_shape(&y, shape);
            }
            return Ok(vec![y]);
        }
        _ => {
            // Computed bounds: a -1 size ends at the axis' size (not at
            // i64::MAX, which tract does not clamp for computed bounds).
            let k = match g.shape(&b).map(Vec::as_slice) {
                Some([Some(k)]) => *k,
                _ => return Err("a computed `begin` of unknown length".into()),
            };
            let b64 = as_i64(g, &b, &format!("{}/begin", n.name))?;
            let s64 = as_i64(g, &s, &format!("{}/size", n.name))?;
            let m1 = g.constant(
                &format!("{}/minus1", n.name),
                Tensor::scalar(DType::I64, -1.0),
            );
            let is_all = g.node(
                "Equal",
                &[&s64, &m1],
                vec![],
                DType::Bool,
                &format!("{}/to_end", n.name),
            );
            let known: Option<Vec<i64>> = g
                .shape(&x)
                .filter(|s| s.len() >= k as usize)
                .and_then(|s| s[..k as usize].iter().copied().collect());
            let dims = match known {
                Some(d) => g.ints(&format!("{}/dims", n.name), &d),
                None => {
                    let shp = shape_of(g, &x, &format!("{}/shape", n.name));
                    let (z, kk) = (
                        g.ints(&format!("{}/zero", n.name), &[0]),
                        g.ints(&format!("{}/k", n.name), &[k]),
                    );
                    g.node(
                        "Slice",
                        &[&shp, &z, &kk],
                        vec![],
                        DType::I64,
                        &format!("{}/dims", n.name),
                    )
                }
            };
            let sum = g.node(
                "Add",
                &[&b64, &s64],
                vec![],
                DType::I64,
                &format!("{}/sum", n.name),
            );
            let e = g.node(
                "Where",
                &[&is_all, &dims, &sum],
                vec![],
                DType::I64,
                &format!("{}/ends", n.name),
            );
            (b64, e)
        }
    };
    let y = same_type(g, "Slice", &[&x, &starts, &ends], vec![], &n.name);
    if let Some(r) = g.rank(&x) {
        g.set_shape(&y, vec![None; r]);
    }
    Ok(vec![y])
}

fn bit(mask: i64, i: usize) -> bool {
    mask >> i & 1 == 1
}

fn strided_slice(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let begin = c.const_ints(n, 1, "begin")?;
    let end = c.const_ints(n, 2, "end")?;
    let strides = c.const_ints(n, 3, "strides")?;
    if begin.len() != end.len() || begin.len() != strides.len() {
        return Err(format!(
            "begin {begin:?}, end {end:?}, strides {strides:?} differ in length"
        ));
    }
    let (bm, em) = (n.int_or("begin_mask", 0), n.int_or("end_mask", 0));
    let (elm, nam, sam) = (
        n.int_or("ellipsis_mask", 0),
        n.int_or("new_axis_mask", 0),
        n.int_or("shrink_axis_mask", 0),
    );
    // One entry per spec: Some(dim index) for a slicing/shrinking spec,
    // None for a new axis.
    #[derive(Clone, Copy)]
    enum Spec {
        Dim {
            b: i64,
            e: i64,
            s: i64,
            shrink: bool,
            bm: bool,
            em: bool,
        },
        New,
        Ellipsis,
    }
    let mut specs = Vec::new();
    for i in 0..begin.len() {
        if bit(elm, i) {
            specs.push(Spec::Ellipsis);
        } else if bit(nam, i) {
            specs.push(Spec::New);
        } else {
            specs.push(Spec::Dim {
                b: begin[i],
                e: end[i],
                s: strides[i],
                shrink: bit(sam, i),
                bm: bit(bm, i),
                em: bit(em, i),
            });
        }
    }
    let g = &mut c.g;
    if specs.iter().filter(|s| matches!(s, Spec::Ellipsis)).count() > 1 {
        return Err("more than one ellipsis".into());
    }
    if let Some(pos) = specs.iter().position(|s| matches!(s, Spec::Ellipsis)) {
        let rank = g
            .rank(&x)
            .ok_or("ellipsis_mask on an input of unknown rank (the ellipsis needs the rank)")?;
        let dims_named = specs
            .iter()
            .filter(|s| matches!(s, Spec::Dim { .. }))
            .count();
        let fill = rank
            .checked_sub(dims_named)
            .ok_or("more slice specs than input axes")?;
        let full = Spec::Dim {
            b: 0,
            e: 0,
            s: 1,
            shrink: false,
            bm: true,
            em: true,
        };
        specs.splice(pos..=pos, std::iter::repeat_n(full, fill));
    }
    let (mut starts, mut ends, mut axes, mut steps) = (vec![], vec![], vec![], vec![]);
    let mut squeeze_axes = vec![];
    let mut new_axes = vec![];
    let (mut dim, mut out_pos) = (0i64, 0i64);
    for s in &specs {
        match *s {
            Spec::New => {
                new_axes.push(out_pos);
                out_pos += 1;
            }
            Spec::Dim {
                b,
                e,
                s,
                shrink,
                bm,
                em,
            } => {
                if s == 0 {
                    return Err("a stride of 0".into());
                }
                if shrink {
                    starts.push(b);
                    ends.push(if b == -1 { END } else { b + 1 });
                    steps.push(1);
                    squeeze_axes.push(dim);
                } else {
                    starts.push(match (bm, s > 0) {
                        (true, true) => 0,
                        (true, false) => END,
                        (false, _) => b,
                    });
                    ends.push(match (em, s > 0) {
                        (true, true) => END,
                        (true, false) => i64::MIN,
                        (false, _) => e,
                    });
                    steps.push(s);
                    out_pos += 1;
                }
                axes.push(dim);
                dim += 1;
            }
            Spec::Ellipsis => unreachable!("expanded above"),
        }
    }
    let base = &n.name;
    let mut y = x.clone();
    if !axes.is_empty() {
        let st = g.ints(&format!("{base}/starts"), &starts);
        let en = g.ints(&format!("{base}/ends"), &ends);
        let ax = g.ints(&format!("{base}/axes"), &axes);
        let sp = g.ints(&format!("{base}/steps"), &steps);
        y = same_type(
            g,
            "Slice",
            &[&y, &st, &en, &ax, &sp],
            vec![],
            &format!("{base}/slice"),
        );
        if let Some(s) = g.shape(&x).cloned() {
            let mut out = s.clone();
            for (k, &a) in axes.iter().enumerate() {
                let a = a as usize;
                out[a] = s[a].map(|d| slice_len(d, starts[k], ends[k], steps[k]));
            }
            g.set_shape(&y, out);
        }
    }
    if !squeeze_axes.is_empty() {
        let ax = g.ints(&format!("{base}/shrink_axes"), &squeeze_axes);
        let before = g.shape(&y).cloned();
        y = same_type(g, "Squeeze", &[&y, &ax], vec![], &format!("{base}/shrink"));
        if let Some(s) = before {
            let out: Shape = s
                .iter()
                .enumerate()
                .filter(|(i, _)| !squeeze_axes.contains(&(*i as i64)))
                .map(|(_, d)| *d)
                .collect();
            g.set_shape(&y, out);
        }
    }
    if !new_axes.is_empty() {
        let ax = g.ints(&format!("{base}/new_axes"), &new_axes);
        let before = g.shape(&y).cloned();
        y = same_type(
            g,
            "Unsqueeze",
            &[&y, &ax],
            vec![],
            &format!("{base}/new_axis"),
        );
        if let Some(mut s) = before {
            for &a in &new_axes {
                s.insert(a as usize, Some(1));
            }
            g.set_shape(&y, s);
        }
    }
    if y == x {
        y = same_type(g, "Identity", &[&x], vec![], base);
    }
    Ok(vec![y])
}

/// The length of an ONNX `Slice` over an axis of size `d`.
fn slice_len(d: i64, start: i64, end: i64, step: i64) -> i64 {
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    if step > 0 {
        let s = clamp(norm(start), 0, d);
        let e = clamp(norm(end), 0, d);
        ((e - s).max(0) + step - 1) / step
    } else {
        let s = clamp(norm(start), 0, d - 1);
        let e = clamp(norm(end), -1, d - 1);
        ((s - e).max(0) + (-step) - 1) / (-step)
    }
}

fn transpose(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let perm = c.const_ints(n, 1, "perm")?;
    let g = &mut c.g;
    let y = same_type(
        g,
        "Transpose",
        &[&x],
        attrs(&[("perm", Attr::Ints(perm.clone()))]),
        &n.name,
    );
    if let Some(s) = g.shape(&x).cloned() {
        if s.len() == perm.len() {
            let out: Shape = perm.iter().map(|&p| s[p as usize]).collect();
            g.set_shape(&y, out);
        }
    }
    Ok(vec![y])
}

/// ONNX pads (begins, then ends) from TF `[rank, 2]` paddings.
fn onnx_pads(g: &mut Graph, p: &str, base: &str) -> Result<(String, Option<Vec<i64>>), String> {
    if let Some(t) = g.const_value(p) {
        let v = t.to_i64().ok_or("paddings are not integers")?;
        if v.len() % 2 != 0 {
            return Err(format!("paddings of shape {:?}", t.dims));
        }
        let r = v.len() / 2;
        let pads: Vec<i64> = (0..r)
            .map(|i| v[2 * i])
            .chain((0..r).map(|i| v[2 * i + 1]))
            .collect();
        return Ok((g.ints(&format!("{base}/pads"), &pads), Some(pads)));
    }
    let p64 = as_i64(g, p, base)?;
    let t = g.node(
        "Transpose",
        &[&p64],
        attrs(&[("perm", Attr::Ints(vec![1, 0]))]),
        DType::I64,
        &format!("{base}/pads_t"),
    );
    let flat = g.ints(&format!("{base}/flat"), &[-1]);
    let pads = g.node(
        "Reshape",
        &[&t, &flat],
        vec![],
        DType::I64,
        &format!("{base}/pads"),
    );
    Ok((pads, None))
}

fn padded_shape(g: &Graph, x: &str, pads: &[i64]) -> Option<Shape> {
    let s = g.shape(x)?;
    let r = s.len();
    (pads.len() == 2 * r).then(|| {
        s.iter()
            .enumerate()
            .map(|(i, d)| d.map(|d| d + pads[i] + pads[r + i]))
            .collect()
    })
}

fn pad(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let p = c.input(n, 1)?;
    let value = if n.op == "PadV2" {
        Some(c.input(n, 2)?)
    } else {
        None
    };
    let g = &mut c.g;
    let (pads, known) = onnx_pads(g, &p, &n.name)?;
    let mut ins = vec![x.clone(), pads];
    if let Some(v) = value {
        let dt = g.dtype(&x).unwrap_or(DType::F32);
        ins.push(cast(g, &v, dt, &format!("{}/value", n.name)));
    }
    let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
    let y = same_type(
        g,
        "Pad",
        &refs,
        attrs(&[("mode", Attr::Str("constant".into()))]),
        &n.name,
    );
    if let Some(s) = known.and_then(|k| padded_shape(g, &x, &k)) {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

fn mirror_pad(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let mode = n.string("mode").unwrap_or_default();
    if mode != "REFLECT" {
        return Err(format!(
            "mode {mode}: only REFLECT has an ONNX equivalent (Pad reflect)"
        ));
    }
    let x = c.input(n, 0)?;
    let p = c.input(n, 1)?;
    let g = &mut c.g;
    let (pads, known) = onnx_pads(g, &p, &n.name)?;
    let y = same_type(
        g,
        "Pad",
        &[&x, &pads],
        attrs(&[("mode", Attr::Str("reflect".into()))]),
        &n.name,
    );
    if let Some(s) = known.and_then(|k| padded_shape(g, &x, &k)) {
        g.set_shape(&y, s);
    }
    Ok(vec![y])
}

#[cfg(test)]
mod tests {
    use super::slice_len;

    #[test]
    fn slice_lengths_follow_onnx_clamping() {
        assert_eq!(slice_len(10, 0, i64::MAX, 1), 10);
        assert_eq!(slice_len(10, 2, 7, 2), 3);
        assert_eq!(slice_len(10, -3, i64::MAX, 1), 3);
        assert_eq!(slice_len(10, i64::MAX, i64::MIN, -1), 10);
        assert_eq!(slice_len(10, 8, 2, -3), 2);
    }
}
