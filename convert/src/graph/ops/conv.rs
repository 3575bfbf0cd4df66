//! Convolutions and pooling (NHWC in TF.js, NCHW in ONNX).
//!
//! - `Conv2D(x, filter)` → `Transpose(x, NCHW)`, `Conv(W)`, `Transpose(NHWC)`.
//!   The filter must be a constant: HWIO becomes OIHW (`perm [3, 2, 0, 1]`).
//! - `DepthwiseConv2dNative(x, filter)` → the same with a grouped `Conv`:
//!   the `[kh, kw, C, M]` filter becomes `[C·M, 1, kh, kw]` (output channel
//!   `c·M + m`, TF's order) and `group = C`.
//! - `_FusedConv2D` / `FusedDepthwiseConv2dNative(x, filter, args…)` with
//!   `fused_ops = [extra, activation]`, read as TF.js reads them: `BiasAdd`
//!   takes `args[0]` as the bias (into `Conv`'s `B` when it is a 1-D
//!   constant, else an `Add`) and `args[1]` as a PReLU slope; any other
//!   extra op takes `args[0]` as the slope and no bias; `FusedBatchNorm` is
//!   refused (TF.js refuses it too). The activation (`Relu`, `Relu6`,
//!   `Prelu`, `LeakyRelu` with `leakyrelu_alpha`, `Elu`, `Sigmoid`) follows
//!   [`super::activation::apply_fused`], in NCHW when its slope can be
//!   reshaped to `[C, 1, 1]`, else after the transpose back.
//! - Padding: `VALID` → zero pads; `EXPLICIT` → `explicit_paddings`' H and W
//!   pairs; `SAME` (TF.js `computeConv2DInfo`: total
//!   `max(0, (⌈in/s⌉ − 1)·s + (k − 1)·d + 1 − in)`, the odd pixel at the end):
//!   with stride 1 the total is `(k − 1)·d` whatever the input size, so the
//!   pads are written out; with a larger stride `auto_pad = SAME_UPPER`,
//!   which is that rule (TF has no strided dilated convolution).
//! - `MaxPool` → `MaxPool`, `AvgPool` → `AveragePool(count_include_pad = 0)`
//!   (TF.js averages over the window's in-image pixels only), same padding
//!   rules, `ksize`/`strides` from the H and W entries.
//!
//! Only `data_format = NHWC` is accepted (the format TF.js runs).

use super::activation::apply_fused;
use super::{to_nchw, to_nhwc, OpMapping};
use crate::graph::node::TfNode;
use crate::graph::Ctx;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::{DType, Tensor};

/// The convolution and pooling ops mapped here.
pub const OPS: &[OpMapping] = &[
    OpMapping {
        op: "Conv2D",
        onnx: "Transpose, Conv, Transpose",
        map: conv2d,
    },
    OpMapping {
        op: "_FusedConv2D",
        onnx: "Transpose, Conv(+bias), activation, Transpose",
        map: conv2d,
    },
    OpMapping {
        op: "DepthwiseConv2dNative",
        onnx: "Transpose, Conv(group=C), Transpose",
        map: depthwise,
    },
    OpMapping {
        op: "FusedDepthwiseConv2dNative",
        onnx: "Transpose, Conv(group=C, +bias), activation, Transpose",
        map: depthwise,
    },
    OpMapping {
        op: "MaxPool",
        onnx: "Transpose, MaxPool, Transpose",
        map: max_pool,
    },
    OpMapping {
        op: "AvgPool",
        onnx: "Transpose, AveragePool(count_include_pad=0), Transpose",
        map: avg_pool,
    },
];

/// TF padding of a convolution or pool.
#[derive(Debug, Clone, PartialEq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// TF `SAME`.
    Same,
    /// `[top, left, bottom, right]`.
    Explicit([i64; 4]),
}

/// The padding attributes of an NCHW ONNX conv/pool for TF padding `p`
/// with kernel `k`, strides `s`, dilations `d` (H, W each).
pub fn pad_attrs(
    p: &Padding,
    k: [i64; 2],
    s: [i64; 2],
    d: [i64; 2],
) -> Result<Vec<(String, Attr)>, String> {
    Ok(match p {
        Padding::Valid => attrs(&[("pads", Attr::Ints(vec![0, 0, 0, 0]))]),
        Padding::Explicit(v) => attrs(&[("pads", Attr::Ints(v.to_vec()))]),
        Padding::Same if s == [1, 1] => {
            let th = (k[0] - 1) * d[0];
            let tw = (k[1] - 1) * d[1];
            attrs(&[(
                "pads",
                Attr::Ints(vec![th / 2, tw / 2, th - th / 2, tw - tw / 2]),
            )])
        }
        Padding::Same => {
            if d != [1, 1] {
                return Err(format!(
                    "SAME padding with strides {s:?} and dilations {d:?}: TF has no strided dilated convolution"
                ));
            }
            attrs(&[("auto_pad", Attr::Str("SAME_UPPER".into()))])
        }
    })
}

fn hw(v: Option<Vec<i64>>, what: &str) -> Result<[i64; 2], String> {
    match v.as_deref() {
        None | Some([]) => Ok([1, 1]),
        Some([_, h, w, _]) => Ok([*h, *w]),
        Some(other) => Err(format!("`{what}` {other:?} is not 4 values")),
    }
}

fn geometry(n: &TfNode) -> Result<ConvGeometry, String> {
    if let Some(f) = n.string("data_format") {
        if f != "NHWC" {
            return Err(format!(
                "data_format {f}: only NHWC is mapped (the layout TF.js runs)"
            ));
        }
    }
    let padding = match n.string("padding").as_deref() {
        Some("VALID") => Padding::Valid,
        Some("SAME") => Padding::Same,
        Some("EXPLICIT") => {
            let e = n.ints("explicit_paddings").unwrap_or_default();
            if e.len() != 8 {
                return Err(format!(
                    "EXPLICIT padding with explicit_paddings {e:?} (need 8 values)"
                ));
            }
            if e[0] != 0 || e[1] != 0 || e[6] != 0 || e[7] != 0 {
                return Err(format!(
                    "explicit_paddings {e:?} pad the batch or channel axis"
                ));
            }
            Padding::Explicit([e[2], e[4], e[3], e[5]])
        }
        other => return Err(format!("padding {other:?} is not VALID, SAME or EXPLICIT")),
    };
    Ok(ConvGeometry {
        strides: hw(n.ints("strides"), "strides")?,
        dilations: hw(n.ints("dilations"), "dilations")?,
        padding,
    })
}

/// The fused tail of `_FusedConv2D`/`FusedDepthwiseConv2dNative`/
/// `_FusedMatMul`, read as TF.js's `fusedConvAndDepthWiseParams` does.
pub struct Fused {
    /// The bias value, if `BiasAdd`.
    pub bias: Option<String>,
    /// The PReLU slope value, if given.
    pub alpha: Option<String>,
    /// The activation, lower case (`linear` if none).
    pub activation: String,
    /// The LeakyReLU slope.
    pub leaky: f32,
}

/// The `fused_ops` (lower case) and `num_args` of a fused node, as
/// `_FusedConv2D`, `FusedDepthwiseConv2dNative` and `_FusedMatMul` carry them.
pub struct FusedOps {
    /// The fused ops: an extra op, then an activation.
    pub ops: Vec<String>,
    /// How many `args` inputs follow the two operands.
    pub num_args: usize,
}

impl FusedOps {
    /// Reads them from `n`.
    pub fn read(n: &TfNode) -> FusedOps {
        FusedOps {
            ops: n
                .strings("fused_ops")
                .unwrap_or_default()
                .iter()
                .map(|s| s.to_lowercase())
                .collect(),
            num_args: n.int("num_args").unwrap_or(0).max(0) as usize,
        }
    }

    /// The extra op (`biasadd`, …; empty if none).
    pub fn extra(&self) -> &str {
        self.ops.first().map(String::as_str).unwrap_or("")
    }

    /// The activation (`linear` if none).
    pub fn activation(&self) -> String {
        self.ops.get(1).cloned().unwrap_or_else(|| "linear".into())
    }

    /// For a `BiasAdd` extra op: checks the args are the bias, and the
    /// PReLU slope when the activation is `prelu`.
    pub fn check_bias_args(&self) -> Result<(), String> {
        let prelu = self.activation() == "prelu";
        if prelu && self.num_args != 2 {
            return Err("BiasAdd and Prelu need two args (bias, alpha)".into());
        }
        if !prelu && self.num_args != 1 {
            return Err("BiasAdd needs one arg (bias)".into());
        }
        Ok(())
    }

    /// The `args` inputs (from input 2 on).
    pub fn args(&self, c: &Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
        (0..self.num_args).map(|i| c.input(n, 2 + i)).collect()
    }
}

/// Reads `fused_ops`, `num_args` and the `args` inputs (from input 2 on).
pub fn fused(c: &Ctx<'_>, n: &TfNode) -> Result<Fused, String> {
    let f = FusedOps::read(n);
    let args = f.args(c, n)?;
    let (ops, extra, activation) = (&f.ops, f.extra(), f.activation());
    if extra == "fusedbatchnorm" {
        return Err("fused_ops FusedBatchNorm: TF.js does not run it either".into());
    }
    if ops.len() > 2 {
        return Err(format!(
            "fused_ops {ops:?}: TF.js reads at most an extra op and an activation"
        ));
    }
    let (bias, alpha) = if extra == "biasadd" {
        f.check_bias_args()?;
        (args.first().cloned(), args.get(1).cloned())
    } else {
        (None, args.first().cloned())
    };
    Ok(Fused {
        bias,
        alpha,
        activation,
        leaky: n.float("leakyrelu_alpha").unwrap_or(0.2),
    })
}

/// Strides, dilations and padding of a convolution, H and W each.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvGeometry {
    /// Strides.
    pub strides: [i64; 2],
    /// Dilations.
    pub dilations: [i64; 2],
    /// Padding.
    pub padding: Padding,
}

/// `Conv` in NCHW on an NHWC value `x` with an OIHW `weight`, an optional
/// bias value and fused activation; returns the NHWC result.
#[allow(clippy::too_many_arguments)]
pub fn conv_nhwc(
    g: &mut Graph,
    x: &str,
    weight: Tensor,
    group: i64,
    geo: &ConvGeometry,
    bias: Option<String>,
    activation: &str,
    alpha: Option<String>,
    leaky: f32,
    base: &str,
) -> Result<String, String> {
    let out_ch = weight.dims[0];
    let k = [weight.dims[2] as i64, weight.dims[3] as i64];
    let in_shape = g.shape(x).cloned();
    let w = g.constant(&format!("{base}/weight"), weight);
    let xt = to_nchw(g, x, base);
    let mut a = attrs(&[
        ("kernel_shape", Attr::Ints(k.to_vec())),
        ("strides", Attr::Ints(geo.strides.to_vec())),
        ("dilations", Attr::Ints(geo.dilations.to_vec())),
        ("group", Attr::Int(group)),
    ]);
    a.extend(pad_attrs(&geo.padding, k, geo.strides, geo.dilations)?);
    let mut inputs = vec![xt, w];
    let mut late_bias = None;
    if let Some(b) = bias {
        match g.const_value(&b) {
            Some(t) if t.dims.len() == 1 && t.dims[0] == out_ch && t.dtype == DType::F32 => {
                inputs.push(b)
            }
            _ => late_bias = Some(b),
        }
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let y = g.node("Conv", &refs, a, DType::F32, base);
    let rank4 = |g: &mut Graph, v: &str| {
        let batch = in_shape.as_ref().and_then(|s| s.first().copied().flatten());
        g.set_shape(v, vec![batch, None, None, Some(out_ch as i64)]);
    };
    // The activation goes in NCHW when nothing forces it after the bias.
    let nchw_alpha = match (&alpha, &late_bias) {
        (_, Some(_)) => None,
        (None, None) => Some(None),
        (Some(al), None) => slope_nchw(g, al, out_ch, base).map(Some),
    };
    if let Some(al) = nchw_alpha {
        let y = apply_fused(g, activation, &y, al.as_deref(), leaky, base)?;
        let out = to_nhwc(g, &y, base);
        rank4(g, &out);
        return Ok(out);
    }
    let mut y = to_nhwc(g, &y, base);
    if let Some(b) = late_bias {
        y = g.node(
            "Add",
            &[&y, &b],
            vec![],
            DType::F32,
            &format!("{base}/bias"),
        );
    }
    let out = apply_fused(g, activation, &y, alpha.as_deref(), leaky, base)?;
    rank4(g, &out);
    Ok(out)
}

/// `Conv` for a TF conv node, with the fused tail when it has one.
fn emit_conv(
    c: &mut Ctx<'_>,
    n: &TfNode,
    weight: Tensor,
    group: i64,
    fused: Option<Fused>,
) -> Result<Vec<String>, String> {
    let geo = geometry(n)?;
    let x = c.input(n, 0)?;
    let f = fused.unwrap_or(Fused {
        bias: None,
        alpha: None,
        activation: "linear".into(),
        leaky: 0.2,
    });
    Ok(vec![conv_nhwc(
        &mut c.g,
        &x,
        weight,
        group,
        &geo,
        f.bias,
        &f.activation,
        f.alpha,
        f.leaky,
        &n.name,
    )?])
}

/// A PReLU slope for NHWC data (`[C]` or `[1, …, C]`) as a `[C, 1, 1]`
/// constant for NCHW data; `None` when it is not such a constant.
fn slope_nchw(g: &mut Graph, alpha: &str, ch: usize, base: &str) -> Option<String> {
    let t = g.const_value(alpha)?;
    let ok = t.len() == ch && t.dims.last() == Some(&ch) && t.dims.len() <= 4;
    if !ok {
        return None;
    }
    let t = t.reshaped(vec![ch, 1, 1]);
    Some(g.constant(&format!("{base}/alpha_nchw"), t))
}

fn filter(c: &Ctx<'_>, n: &TfNode) -> Result<Tensor, String> {
    let f = c.const_input(n, 1, "filter")?;
    if f.dims.len() != 4 {
        return Err(format!("filter of shape {:?} is not 4-D", f.dims));
    }
    if f.dtype != DType::F32 {
        return Err(format!("filter of type {} (float32 expected)", f.dtype));
    }
    Ok(f)
}

fn is_fused(n: &TfNode) -> bool {
    n.op.starts_with('_') || n.op.starts_with("Fused")
}

fn conv2d(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let f = filter(c, n)?;
    let w = f.transposed(&[3, 2, 0, 1]);
    let fz = if is_fused(n) {
        Some(fused(c, n)?)
    } else {
        None
    };
    emit_conv(c, n, w, 1, fz)
}

fn depthwise(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    let f = filter(c, n)?;
    let (kh, kw, ch, mult) = (f.dims[0], f.dims[1], f.dims[2], f.dims[3]);
    let w = f
        .transposed(&[2, 3, 0, 1])
        .reshaped(vec![ch * mult, 1, kh, kw]);
    let fz = if is_fused(n) {
        Some(fused(c, n)?)
    } else {
        None
    };
    emit_conv(c, n, w, ch as i64, fz)
}

/// An NCHW pool `op` (`MaxPool`, `AveragePool`) on an NHWC value.
/// (`geo`'s dilations are not used.)
pub fn pool_nhwc(
    g: &mut Graph,
    x: &str,
    op: &str,
    k: [i64; 2],
    geo: &ConvGeometry,
    extra: Vec<(String, Attr)>,
    base: &str,
) -> Result<String, String> {
    let (strides, padding) = (geo.strides, &geo.padding);
    let dt = g.dtype(x).unwrap_or(DType::F32);
    let in_shape = g.shape(x).cloned();
    let xt = to_nchw(g, x, base);
    let mut a = attrs(&[
        ("kernel_shape", Attr::Ints(k.to_vec())),
        ("strides", Attr::Ints(strides.to_vec())),
    ]);
    a.extend(pad_attrs(padding, k, strides, [1, 1])?);
    a.extend(extra);
    let y = g.node(op, &[&xt], a, dt, base);
    let out = to_nhwc(g, &y, base);
    if let Some(s) = in_shape.filter(|s| s.len() == 4) {
        g.set_shape(&out, vec![s[0], None, None, s[3]]);
    }
    Ok(out)
}

fn pool(
    c: &mut Ctx<'_>,
    n: &TfNode,
    op: &str,
    extra: Vec<(String, Attr)>,
) -> Result<Vec<String>, String> {
    let geo = geometry(n)?;
    let k = hw(n.ints("ksize"), "ksize")?;
    let x = c.input(n, 0)?;
    Ok(vec![pool_nhwc(&mut c.g, &x, op, k, &geo, extra, &n.name)?])
}

fn max_pool(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    pool(c, n, "MaxPool", vec![])
}

fn avg_pool(c: &mut Ctx<'_>, n: &TfNode) -> Result<Vec<String>, String> {
    pool(
        c,
        n,
        "AveragePool",
        attrs(&[("count_include_pad", Attr::Int(0))]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_with_stride_one_is_explicit() {
        let a = pad_attrs(&Padding::Same, [3, 4], [1, 1], [2, 1]).unwrap();
        // H: (3-1)*2 = 4 -> 2/2; W: 3 -> 1 before, 2 after.
        assert_eq!(a, attrs(&[("pads", Attr::Ints(vec![2, 1, 2, 2]))]));
        let a = pad_attrs(&Padding::Same, [3, 3], [2, 2], [1, 1]).unwrap();
        assert_eq!(a, attrs(&[("auto_pad", Attr::Str("SAME_UPPER".into()))]));
        assert!(pad_attrs(&Padding::Same, [3, 3], [2, 2], [2, 2]).is_err());
    }
}
