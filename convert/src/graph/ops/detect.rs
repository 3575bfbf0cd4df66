//! Selection and detection ops.
//!
//! - `TopKV2(input, k)` → `TopK(axis = -1, largest = 1, sorted = 1)` with
//!   `k` as a 1-element int64 input; indices cast to int32 (TF.js's type).
//!   Both keep the lower index first on equal values.
//! - `NonMaxSuppressionV3/V4/V5(boxes [N, 4], scores [N], max_output_size,
//!   iou_threshold, score_threshold[, soft_nms_sigma])` → ONNX
//!   `NonMaxSuppression` on `boxes [1, N, 4]`, `scores [1, 1, N]` (one batch,
//!   one class; corners `[y1, x1, y2, x2]` in either order, as TF), the box
//!   index column of its `[M, 3]` result cast to int32. The outputs are
//!   TF.js's: V3 the indices; V4 the indices (padded with zeros to
//!   `max_output_size` when `pad_to_max_output_size`) and `valid_outputs`;
//!   V5 the indices and their scores (the gathered input scores), never
//!   padded (TF.js's V5 kernel has no padding). Both keep boxes scoring strictly above
//!   `score_threshold` and pick in descending score order. They differ only
//!   on exact ties: TF.js drops a box whose IoU with a kept one is `≥`
//!   the threshold, ONNX when it is `>`. A soft-NMS sigma other than a
//!   constant 0 changes scores as ONNX cannot, and is refused.
//! - `Where(condition)` → `NonZero`, transposed to `[num_true, rank]`, cast
//!   to int32 (TF.js's `whereAsync`).

use super::{as_i64, cast, shape_of, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::DType;

/// The selection ops mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "TopKV2",
        onnx: "TopK(axis=-1, largest, sorted), Cast(int32) indices",
        map: top_k,
    },
    OpMapping {
        op: "NonMaxSuppressionV3",
        onnx: "NonMaxSuppression, Gather(box column), Cast",
        map: nms,
    },
    OpMapping {
        op: "NonMaxSuppressionV4",
        onnx: "NonMaxSuppression, Gather, Cast, Pad",
        map: nms,
    },
    OpMapping {
        op: "NonMaxSuppressionV5",
        onnx: "NonMaxSuppression, Gather, Cast, Pad",
        map: nms,
    },
    OpMapping {
        op: "Where",
        onnx: "NonZero, Transpose, Cast(int32)",
        map: where_op,
    },
];

type R = Result<Vec<String>, String>;

/// `x` reshaped to a 1-element vector of `dt`.
fn one_elem(g: &mut Graph, x: &str, dt: DType, base: &str) -> Result<String, String> {
    if let Some(t) = g.const_value(x) {
        let v = t
            .to_f64()
            .ok_or_else(|| format!("constant `{x}` is not numeric"))?;
        let [v] = v[..] else {
            return Err(format!("`{x}` holds {} values, one expected", v.len()));
        };
        let t = crate::tensor::Tensor::scalar(dt, v).reshaped(vec![1]);
        return Ok(g.constant(base, t));
    }
    let c = if dt == DType::I64 {
        as_i64(g, x, base)?
    } else {
        cast(g, x, dt, base)
    };
    let one = g.ints(&format!("{base}/shape1"), &[1]);
    Ok(g.node("Reshape", &[&c, &one], vec![], dt, base))
}

fn top_k(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let x = c.input(n, 0)?;
    let k = c.input(n, 1)?;
    let g = &mut c.g;
    let k1 = one_elem(g, &k, DType::I64, &format!("{}/k", n.name))?;
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    let outs = g.node_n(
        "TopK",
        &[&x, &k1],
        attrs(&[
            ("axis", Attr::Int(-1)),
            ("largest", Attr::Int(1)),
            ("sorted", Attr::Int(1)),
        ]),
        &[dt, DType::I64],
        &n.name,
    );
    let idx = cast(g, &outs[1], DType::I32, &format!("{}/indices", n.name));
    Ok(vec![outs[0].clone(), idx])
}

fn nms(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let boxes = c.input(n, 0)?;
    let scores = c.input(n, 1)?;
    let max_out = c.input(n, 2)?;
    let iou = c.input(n, 3)?;
    let score_th = c.input(n, 4)?;
    let v5 = n.op == "NonMaxSuppressionV5";
    if v5 {
        let sigma = c.const_input(n, 5, "soft_nms_sigma")?;
        let s = sigma.to_f64().unwrap_or_default();
        if s.iter().any(|&v| v != 0.0) {
            return Err(format!("soft_nms_sigma {s:?}: soft NMS rescores boxes, which ONNX NonMaxSuppression cannot"));
        }
    }
    // TF.js pads only in V4 (`nonMaxSuppressionPadded`).
    let pad = n.op == "NonMaxSuppressionV4" && n.bool("pad_to_max_output_size");
    let base = n.name.clone();
    let g = &mut c.g;
    let zero = g.ints(&format!("{base}/axis0"), &[0]);
    let b3 = g.node(
        "Unsqueeze",
        &[&boxes, &zero],
        vec![],
        DType::F32,
        &format!("{base}/boxes"),
    );
    let s_shape = g.ints(&format!("{base}/scores_shape"), &[1, 1, -1]);
    let s3 = g.node(
        "Reshape",
        &[&scores, &s_shape],
        vec![],
        DType::F32,
        &format!("{base}/scores"),
    );
    let m = one_elem(g, &max_out, DType::I64, &format!("{base}/max"))?;
    let io = one_elem(g, &iou, DType::F32, &format!("{base}/iou"))?;
    let st = one_elem(g, &score_th, DType::F32, &format!("{base}/score_threshold"))?;
    let sel = g.node(
        "NonMaxSuppression",
        &[&b3, &s3, &m, &io, &st],
        attrs(&[("center_point_box", Attr::Int(0))]),
        DType::I64,
        &format!("{base}/selected"),
    );
    let col = g.constant(
        &format!("{base}/col"),
        crate::tensor::Tensor::i64(vec![], &[2]),
    );
    let idx64 = g.node(
        "Gather",
        &[&sel, &col],
        attrs(&[("axis", Attr::Int(1))]),
        DType::I64,
        &format!("{base}/idx64"),
    );
    let count = shape_of(g, &idx64, &format!("{base}/count"));
    let mut idx = cast(g, &idx64, DType::I32, &format!("{base}/indices"));
    let sel_scores = g.node(
        "Gather",
        &[&scores, &idx64],
        attrs(&[("axis", Attr::Int(0))]),
        DType::F32,
        &format!("{base}/selected_scores"),
    );
    if pad {
        // Append max_output_size zeros and keep the first max_output_size
        // (a static-size form engines plan without knowing the count).
        let k = g
            .const_value(&m)
            .and_then(crate::tensor::Tensor::to_i64)
            .and_then(|v| v.first().copied())
            .ok_or("pad_to_max_output_size with a max_output_size computed in the graph")?;
        let zeros = g.constant(
            &format!("{base}/zeros"),
            crate::tensor::Tensor::i32(vec![k.max(0) as usize], &vec![0; k.max(0) as usize]),
        );
        let cat = g.node(
            "Concat",
            &[&idx, &zeros],
            attrs(&[("axis", Attr::Int(0))]),
            DType::I32,
            &format!("{base}/indices_and_zeros"),
        );
        let end = g.ints(&format!("{base}/pad_end"), &[k]);
        idx = g.node(
            "Slice",
            &[&cat, &zero, &end],
            vec![],
            DType::I32,
            &format!("{base}/indices_padded"),
        );
        g.set_shape(&idx, vec![Some(k)]);
    }
    let empty = g.ints(&format!("{base}/scalar_shape"), &[]);
    let count_s = g.node(
        "Reshape",
        &[&count, &empty],
        vec![],
        DType::I64,
        &format!("{base}/valid64"),
    );
    let valid = cast(g, &count_s, DType::I32, &format!("{base}/valid_outputs"));
    g.set_shape(&valid, vec![]);
    Ok(match n.op.as_str() {
        "NonMaxSuppressionV3" => vec![idx],
        "NonMaxSuppressionV4" => vec![idx, valid],
        _ => vec![idx, sel_scores],
    })
}

fn where_op(c: &mut Ctx<'_>, n: &TfNode) -> R {
    if n.inputs.len() != 1 {
        return Err("Where with 3 inputs is Select; this graph has a 3-input Where".into());
    }
    let x = c.input(n, 0)?;
    let g = &mut c.g;
    let b = cast(g, &x, DType::Bool, &format!("{}/cond", n.name));
    let nz = g.node(
        "NonZero",
        &[&b],
        vec![],
        DType::I64,
        &format!("{}/nonzero", n.name),
    );
    let t = g.node(
        "Transpose",
        &[&nz],
        attrs(&[("perm", Attr::Ints(vec![1, 0]))]),
        DType::I64,
        &format!("{}/t", n.name),
    );
    let y = cast(g, &t, DType::I32, &n.name);
    if let Some(r) = g.rank(&x) {
        g.set_shape(&y, vec![None, Some(r as i64)]);
    }
    Ok(vec![y])
}
