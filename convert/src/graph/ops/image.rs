//! Image resizing: NHWC in TF.js, the ONNX `Resize` runs on the NCHW
//! transpose with `sizes = [N, C, new_h, new_w]` (`N`, `C` from the input's
//! shape, at conversion time when static, else `Shape`/`Slice`/`Concat`).
//!
//! - `ResizeBilinear(images, size, align_corners, half_pixel_centers)` →
//!   `Resize(mode = linear)` with `coordinate_transformation_mode`
//!   `align_corners`, `half_pixel` or `asymmetric` (TF.js's cpu kernel:
//!   source = `scale·(r + ½) − ½` with half-pixel centers, `scale·r` else,
//!   `scale = (in − 1)/(out − 1)` with aligned corners, `in/out` else; rows
//!   outside the image clamp to the edge, as ONNX Runtime's). The output is
//!   float32 whatever the input type, as in TF.js.
//! - `ResizeNearestNeighbor` → `Resize(mode = nearest)`: half-pixel centers
//!   are `tf_half_pixel_for_nn` with `floor`, aligned corners
//!   `align_corners` with `round_prefer_ceil` (`Math.round`), else
//!   `asymmetric` with `floor` (TF.js's `Math.floor`).

use super::{as_i64, cast, shape_of, to_nchw, to_nhwc, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr};
use crate::tensor::{DType, Tensor};

/// The resize ops mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "ResizeBilinear",
        onnx: "Transpose, Resize(linear), Transpose",
        map: bilinear,
    },
    OpMapping {
        op: "ResizeNearestNeighbor",
        onnx: "Transpose, Resize(nearest), Transpose",
        map: nearest,
    },
];

type R = Result<Vec<String>, String>;

fn resize(
    c: &mut Ctx<'_>,
    n: &TfNode,
    mode: &str,
    coord: &str,
    nearest_mode: Option<&str>,
    to_float: bool,
) -> R {
    let x = c.input(n, 0)?;
    let size = c.input(n, 1)?;
    let g = &mut c.g;
    let x = if to_float {
        cast(g, &x, DType::F32, &n.name)
    } else {
        x
    };
    let in_shape = g.shape(&x).cloned();
    let size_k = g.const_value(&size).and_then(Tensor::to_i64);
    let xt = to_nchw(g, &x, &n.name);
    let sizes = match (&in_shape, &size_k) {
        (Some(s), Some(k)) if s.len() == 4 && s[0].is_some() && s[3].is_some() && k.len() == 2 => g
            .ints(
                &format!("{}/sizes", n.name),
                &[s[0].unwrap(), s[3].unwrap(), k[0], k[1]],
            ),
        _ => {
            let shp = shape_of(g, &xt, &format!("{}/shape", n.name));
            let (st, en, ax) = (
                g.ints(&format!("{}/nc_start", n.name), &[0]),
                g.ints(&format!("{}/nc_end", n.name), &[2]),
                g.ints(&format!("{}/nc_axes", n.name), &[0]),
            );
            let nc = g.node(
                "Slice",
                &[&shp, &st, &en, &ax],
                vec![],
                DType::I64,
                &format!("{}/nc", n.name),
            );
            let hw = as_i64(g, &size, &format!("{}/hw", n.name))?;
            g.node(
                "Concat",
                &[&nc, &hw],
                attrs(&[("axis", Attr::Int(0))]),
                DType::I64,
                &format!("{}/sizes", n.name),
            )
        }
    };
    let mut a = attrs(&[
        ("mode", Attr::Str(mode.into())),
        ("coordinate_transformation_mode", Attr::Str(coord.into())),
    ]);
    if let Some(nm) = nearest_mode {
        a.push(("nearest_mode".into(), Attr::Str(nm.into())));
    }
    let dt = g.dtype(&x).unwrap_or(DType::F32);
    let y = g.node("Resize", &[&xt, "", "", &sizes], a, dt, &n.name);
    let out = to_nhwc(g, &y, &n.name);
    if let (Some(s), Some(k)) = (in_shape, size_k) {
        if s.len() == 4 && k.len() == 2 {
            g.set_shape(&out, vec![s[0], Some(k[0]), Some(k[1]), s[3]]);
        }
    }
    Ok(vec![out])
}

fn bilinear(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let (ac, hp) = (n.bool("align_corners"), n.bool("half_pixel_centers"));
    let coord = match (ac, hp) {
        (true, true) => {
            return Err("align_corners and half_pixel_centers both set (TF.js refuses this)".into())
        }
        (true, false) => "align_corners",
        (false, true) => "half_pixel",
        (false, false) => "asymmetric",
    };
    resize(c, n, "linear", coord, None, true)
}

fn nearest(c: &mut Ctx<'_>, n: &TfNode) -> R {
    let (ac, hp) = (n.bool("align_corners"), n.bool("half_pixel_centers"));
    let (coord, nm) = match (ac, hp) {
        (true, true) => {
            return Err("align_corners and half_pixel_centers both set (TF.js refuses this)".into())
        }
        (true, false) => ("align_corners", "round_prefer_ceil"),
        (false, true) => ("tf_half_pixel_for_nn", "floor"),
        (false, false) => ("asymmetric", "floor"),
    };
    resize(c, n, "nearest", coord, Some(nm), false)
}
