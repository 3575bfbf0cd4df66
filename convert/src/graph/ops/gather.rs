//! Gathers.
//!
//! - `GatherV2(params, indices, axis)` (`batch_dims = 0`) and `Gather`
//!   (axis 0) → `Gather(axis)`; int32 indices are valid ONNX indices.
//! - `GatherNd(params, indices)` → `GatherND(batch_dims = 0)` with the
//!   indices as int64: the same semantics (the last index axis addresses
//!   the leading params axes, the rest of params is copied).

use super::{as_i64, norm_axis, same_type, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Shape};

/// The gathers mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "GatherV2",
        onnx: "Gather(axis)",
        map: gather_v2,
    },
    OpMapping {
        op: "Gather",
        onnx: "Gather(axis=0)",
        map: |c, n| gather(c, n, 0),
    },
    OpMapping {
        op: "GatherNd",
        onnx: "GatherND(int64 indices)",
        map: gather_nd,
    },
];

type R = Result<Vec<String>, String>;

fn gather(c: &mut Ctx<'_>, n: &TfNode, axis: i64) -> R {
    let p = c.input(n, 0)?;
    let i = c.input(n, 1)?;
    let g = &mut c.g;
    let y = same_type(
        g,
        "Gather",
        &[&p, &i],
        attrs(&[("axis", Attr::Int(axis))]),
        &n.name,
    );
    if let (Some(sp), Some(si)) = (g.shape(&p).cloned(), g.shape(&i).cloned()) {
        let a = norm_axis(axis, sp.len())?;
        let out: Shape = sp[..a]
            .iter()
            .chain(&si)
            .chain(&sp[a + 1..])
            .copied()
            .collect();
        g.set_shape(&y, out);
    }
    Ok(vec![y])
}

fn gather_v2(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let bd = n.int_or("batch_dims", 0);
    if bd != 0 {
        return Err(format!("batch_dims {bd}: only 0 is mapped"));
    }
    let axis = c.const_ints(n, 2, "axis")?;
    let [axis] = axis[..] else {
        return Err(format!("axis {axis:?} is not one value"));
    };
    gather(c, n, axis)
}

fn gather_nd(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let p = c.input(n, 0)?;
    let i = c.input(n, 1)?;
    let g = &mut c.g;
    let i64v = as_i64(g, &i, &format!("{}/indices", n.name))?;
    let y = same_type(
        g,
        "GatherND",
        &[&p, &i64v],
        attrs(&[("batch_dims", Attr::Int(0))]),
        &n.name,
    );
    if let (Some(sp), Some(si)) = (g.shape(&p).cloned(), g.shape(&i).cloned()) {
        if let Some(Some(k)) = si.last() {
            let k = *k as usize;
            if k <= sp.len() {
                let out: Shape = si[..si.len() - 1].iter().chain(&sp[k..]).copied().collect();
                g.set_shape(&y, out);
            }
        }
    }
    Ok(vec![y])
}
