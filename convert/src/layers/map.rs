//! Keras layer → ONNX mappings, computing what tfjs-layers computes at
//! inference (`training = false`). Data stays NHWC (`channels_last`, the
//! only format mapped); convolutions and pools reuse the graph-model
//! mappings ([`crate::graph::ops::conv`]).
//!
//! - `Conv2D` (`kernel [kh, kw, in, out]`, `bias`), `DepthwiseConv2D`
//!   (`depthwise_kernel [kh, kw, in, mult]`): as TF `Conv2D` /
//!   `DepthwiseConv2dNative` with `strides`, `dilation_rate`, `padding`
//!   `valid`/`same`, then `activation`.
//! - `Dense(kernel [in, units], bias)` → `MatMul`, `Add`, activation (the
//!   product is over the last axis, as TF.js's `dot`).
//! - `BatchNormalization(axis = last)` → `Add(Mul(Sub(x, moving_mean), k),
//!   beta)` with `k = gamma / sqrt(moving_variance + epsilon)` computed in
//!   float64 (TF.js's kernel: `offset + (x − mean) · scale / √(var + ε)`);
//!   `center = false` drops `beta`, `scale = false` `gamma`.
//! - `ReLU(max_value)` → `Relu`, then `Clip(0, max_value)` when set
//!   (tfjs-layers reads only `max_value`); `Activation` → its activation.
//! - Activations: `linear`, `relu`, `relu6`, `elu`, `selu`, `sigmoid`,
//!   `hard_sigmoid` (`Clip(0.2·x + 0.5, 0, 1)`), `tanh`, `softplus`,
//!   `softsign`, `swish` (`x · sigmoid(x)`), `softmax` (last axis).
//! - `Add`, `Multiply`, `Maximum`, `Minimum`, `Average`
//!   (`Sum`·1/n) → element-wise ops; `Concatenate(axis)` → `Concat`.
//! - `ZeroPadding2D(padding)` → `Pad` of H and W.
//! - `MaxPooling2D`/`AveragePooling2D(pool_size, strides = pool_size,
//!   padding)` → `MaxPool`/`AveragePool(count_include_pad = 0)`;
//!   `GlobalAveragePooling2D`/`GlobalMaxPooling2D` → `ReduceMean`/
//!   `ReduceMax` over H and W (`keepdims` as configured).
//! - `Flatten` → `Flatten(axis = 1)` (NHWC order, as TF.js);
//!   `Reshape(target_shape)` → `Reshape([0, …target])` (a `null` entry, as
//!   TF.js writes `-1`, is the free dimension).
//! - `Dropout`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout` →
//!   nothing (identity at inference).

use super::{Layer, LayerCtx};
use crate::graph::ops::activation::clip;
use crate::graph::ops::conv::{conv_nhwc, pool_nhwc, ConvGeometry, Padding};
use crate::graph::ops::same_type;
use crate::ir::{attrs, Attr, Graph};
use crate::tensor::{DType, Tensor};

/// Emits one call of a layer on its input values; returns its output.
pub type LayerFn = fn(&mut LayerCtx<'_>, &Layer, &[String], &str) -> Result<String, String>;

/// One Keras layer class's mapping.
pub struct LayerMapping {
    /// The Keras class name.
    pub class: &'static str,
    /// What it becomes in ONNX (for docs/native.md).
    pub onnx: &'static str,
    /// The emitter.
    pub map: LayerFn,
}

/// The mapped layer classes.
pub const LAYERS: &[LayerMapping] = &[
    LayerMapping {
        class: "Conv2D",
        onnx: "Transpose, Conv, activation, Transpose",
        map: conv2d,
    },
    LayerMapping {
        class: "DepthwiseConv2D",
        onnx: "Transpose, Conv(group=C), activation, Transpose",
        map: depthwise,
    },
    LayerMapping {
        class: "Dense",
        onnx: "MatMul, Add, activation",
        map: dense,
    },
    LayerMapping {
        class: "BatchNormalization",
        onnx: "Sub, Mul, Add (folded constants)",
        map: batch_norm,
    },
    LayerMapping {
        class: "ReLU",
        onnx: "Relu, Clip(0, max_value)",
        map: relu,
    },
    LayerMapping {
        class: "Activation",
        onnx: "the activation",
        map: activation_layer,
    },
    LayerMapping {
        class: "Add",
        onnx: "Add",
        map: add,
    },
    LayerMapping {
        class: "Multiply",
        onnx: "Mul",
        map: multiply,
    },
    LayerMapping {
        class: "Maximum",
        onnx: "Max",
        map: maximum,
    },
    LayerMapping {
        class: "Minimum",
        onnx: "Min",
        map: minimum,
    },
    LayerMapping {
        class: "Average",
        onnx: "Sum, Mul(1/n)",
        map: average,
    },
    LayerMapping {
        class: "Concatenate",
        onnx: "Concat(axis)",
        map: concatenate,
    },
    LayerMapping {
        class: "ZeroPadding2D",
        onnx: "Pad",
        map: zero_padding,
    },
    LayerMapping {
        class: "MaxPooling2D",
        onnx: "Transpose, MaxPool, Transpose",
        map: max_pooling,
    },
    LayerMapping {
        class: "AveragePooling2D",
        onnx: "Transpose, AveragePool, Transpose",
        map: avg_pooling,
    },
    LayerMapping {
        class: "GlobalAveragePooling2D",
        onnx: "ReduceMean(H, W)",
        map: global_avg,
    },
    LayerMapping {
        class: "GlobalMaxPooling2D",
        onnx: "ReduceMax(H, W)",
        map: global_max,
    },
    LayerMapping {
        class: "Flatten",
        onnx: "Flatten(axis=1)",
        map: flatten,
    },
    LayerMapping {
        class: "Reshape",
        onnx: "Reshape([0, …target_shape])",
        map: reshape,
    },
    LayerMapping {
        class: "Dropout",
        onnx: "(nothing at inference)",
        map: passthrough,
    },
    LayerMapping {
        class: "GaussianNoise",
        onnx: "(nothing at inference)",
        map: passthrough,
    },
    LayerMapping {
        class: "GaussianDropout",
        onnx: "(nothing at inference)",
        map: passthrough,
    },
    LayerMapping {
        class: "AlphaDropout",
        onnx: "(nothing at inference)",
        map: passthrough,
    },
];

/// The markdown table of every mapped layer class (docs/native.md carries
/// it; a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut out = String::from("| Keras layer | ONNX |\n| --- | --- |\n");
    for m in LAYERS {
        out.push_str(&format!("| `{}` | {} |\n", m.class, m.onnx));
    }
    out
}

/// The mapping of Keras class `class`, if there is one.
pub fn lookup(class: &str) -> Option<&'static LayerMapping> {
    LAYERS.iter().find(|m| m.class == class)
}

type R = Result<String, String>;

fn one(ins: &[String]) -> Result<&str, String> {
    match ins {
        [x] => Ok(x),
        _ => Err(format!("{} inputs, one expected", ins.len())),
    }
}

fn channels_last(l: &Layer) -> Result<(), String> {
    match l.str("data_format") {
        None | Some("channels_last") => Ok(()),
        Some(f) => Err(format!("data_format {f}: only channels_last is mapped")),
    }
}

fn padding(l: &Layer) -> Result<Padding, String> {
    match l.str("padding").unwrap_or("valid") {
        "valid" => Ok(Padding::Valid),
        "same" => Ok(Padding::Same),
        other => Err(format!("padding `{other}` (valid or same expected)")),
    }
}

fn pair(l: &Layer, key: &str, default: i64) -> Result<[i64; 2], String> {
    match l.ints(key, 2) {
        None => Ok([default, default]),
        Some(v) if v.len() == 2 => Ok([v[0], v[1]]),
        Some(v) => Err(format!("`{key}` {v:?} is not two values")),
    }
}

/// Applies a Keras activation by name.
pub fn activation(g: &mut Graph, name: &str, x: &str, base: &str) -> R {
    let b = |s: &str| format!("{base}/{s}");
    Ok(match name {
        "linear" => x.to_owned(),
        "relu" => same_type(g, "Relu", &[x], vec![], &b("relu")),
        "relu6" => clip(g, x, 0.0, 6.0, &b("relu6")),
        "elu" => same_type(
            g,
            "Elu",
            &[x],
            attrs(&[("alpha", Attr::Float(1.0))]),
            &b("elu"),
        ),
        "selu" => same_type(g, "Selu", &[x], vec![], &b("selu")),
        "sigmoid" => same_type(g, "Sigmoid", &[x], vec![], &b("sigmoid")),
        "tanh" => same_type(g, "Tanh", &[x], vec![], &b("tanh")),
        "softplus" => same_type(g, "Softplus", &[x], vec![], &b("softplus")),
        "softsign" => same_type(g, "Softsign", &[x], vec![], &b("softsign")),
        "softmax" => same_type(
            g,
            "Softmax",
            &[x],
            attrs(&[("axis", Attr::Int(-1))]),
            &b("softmax"),
        ),
        "hard_sigmoid" => {
            let k = g.scalar(&b("hs_a"), DType::F32, 0.2);
            let c = g.scalar(&b("hs_b"), DType::F32, 0.5);
            let m = same_type(g, "Mul", &[x, &k], vec![], &b("hs_mul"));
            let a = same_type(g, "Add", &[&m, &c], vec![], &b("hs_add"));
            clip(g, &a, 0.0, 1.0, &b("hard_sigmoid"))
        }
        "swish" => {
            let s = same_type(g, "Sigmoid", &[x], vec![], &b("swish_sigmoid"));
            same_type(g, "Mul", &[x, &s], vec![], &b("swish"))
        }
        other => return Err(format!("activation `{other}` is not mapped")),
    })
}

fn keep_shape(g: &mut Graph, from: &str, to: &str) {
    if let Some(s) = g.shape(from).cloned() {
        g.set_shape(to, s);
    }
}

fn conv(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str, depthwise: bool) -> R {
    let x = one(ins)?;
    channels_last(l)?;
    let geo = ConvGeometry {
        strides: pair(l, "strides", 1)?,
        dilations: pair(l, "dilation_rate", 1)?,
        padding: padding(l)?,
    };
    let (weight, group) = if depthwise {
        let k = c.need(l, "depthwise_kernel")?;
        if k.dims.len() != 4 {
            return Err(format!("depthwise_kernel of shape {:?}", k.dims));
        }
        let (kh, kw, ch, m) = (k.dims[0], k.dims[1], k.dims[2], k.dims[3]);
        (
            k.transposed(&[2, 3, 0, 1])
                .reshaped(vec![ch * m, 1, kh, kw]),
            ch as i64,
        )
    } else {
        let k = c.need(l, "kernel")?;
        if k.dims.len() != 4 {
            return Err(format!("kernel of shape {:?}", k.dims));
        }
        (k.transposed(&[3, 2, 0, 1]), 1)
    };
    let bias = if l.bool("use_bias", true) {
        let b = c.need(l, "bias")?;
        Some(c.g.constant(&format!("{base}/bias"), b))
    } else {
        None
    };
    let act = l.str("activation").unwrap_or("linear").to_owned();
    let y = conv_nhwc(
        &mut c.g, x, weight, group, &geo, bias, "linear", None, 0.2, base,
    )?;
    let out = activation(&mut c.g, &act, &y, base)?;
    keep_shape(&mut c.g, &y, &out);
    Ok(out)
}

fn conv2d(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    conv(c, l, ins, base, false)
}

fn depthwise(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    conv(c, l, ins, base, true)
}

fn dense(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    let k = c.need(l, "kernel")?;
    let units = *k.dims.last().ok_or("a scalar kernel")? as i64;
    let g = &mut c.g;
    let kv = g.constant(&format!("{base}/kernel"), k);
    let mut y = same_type(g, "MatMul", &[x, &kv], vec![], &format!("{base}/matmul"));
    if l.bool("use_bias", true) {
        let b = c.need(l, "bias")?;
        let g = &mut c.g;
        let bv = g.constant(&format!("{base}/bias"), b);
        y = same_type(g, "Add", &[&y, &bv], vec![], &format!("{base}/bias_add"));
    }
    let g = &mut c.g;
    let out = activation(g, l.str("activation").unwrap_or("linear"), &y, base)?;
    if let Some(mut s) = g.shape(x).cloned() {
        if let Some(last) = s.last_mut() {
            *last = Some(units);
        }
        g.set_shape(&out, s);
    }
    Ok(out)
}

fn batch_norm(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    let axis = l
        .get("axis")
        .and_then(|a| a.as_i64().or_else(|| a.as_array()?.first()?.as_i64()))
        .unwrap_or(-1);
    if axis != -1 {
        let rank =
            c.g.rank(x)
                .ok_or("axis given as a positive index on an input of unknown rank")?;
        if axis != rank as i64 - 1 {
            return Err(format!(
                "axis {axis} on a rank-{rank} input: only the last (channel) axis is mapped"
            ));
        }
    }
    let f = |t: Tensor, what: &str| -> Result<Vec<f64>, String> {
        t.to_f64().ok_or_else(|| format!("{what} is not numeric"))
    };
    let mean = f(c.need(l, "moving_mean")?, "moving_mean")?;
    let var = f(c.need(l, "moving_variance")?, "moving_variance")?;
    let n = mean.len();
    let gamma = if l.bool("scale", true) {
        f(c.need(l, "gamma")?, "gamma")?
    } else {
        vec![1.0; n]
    };
    let beta = if l.bool("center", true) {
        f(c.need(l, "beta")?, "beta")?
    } else {
        vec![0.0; n]
    };
    if var.len() != n || gamma.len() != n || beta.len() != n {
        return Err("gamma, beta, moving_mean and moving_variance differ in length".into());
    }
    let eps = l.f64("epsilon").unwrap_or(1e-3);
    // TF.js stores the statistics as float32 and computes in float64.
    let k: Vec<f32> = (0..n)
        .map(|i| (gamma[i] / ((var[i] as f32 as f64) + (eps as f32 as f64)).sqrt()) as f32)
        .collect();
    let m32: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
    let b32: Vec<f32> = beta.iter().map(|&v| v as f32).collect();
    let g = &mut c.g;
    let mv = g.constant(&format!("{base}/mean"), Tensor::f32(vec![n], &m32));
    let kv = g.constant(&format!("{base}/scale"), Tensor::f32(vec![n], &k));
    let bv = g.constant(&format!("{base}/offset"), Tensor::f32(vec![n], &b32));
    let d = same_type(g, "Sub", &[x, &mv], vec![], &format!("{base}/centered"));
    let s = same_type(g, "Mul", &[&d, &kv], vec![], &format!("{base}/scaled"));
    let y = same_type(g, "Add", &[&s, &bv], vec![], base);
    keep_shape(g, x, &y);
    Ok(y)
}

fn relu(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    let g = &mut c.g;
    let r = same_type(g, "Relu", &[x], vec![], &format!("{base}/relu"));
    let y = match l.f64("max_value") {
        Some(m) => clip(g, &r, 0.0, m, base),
        None => r,
    };
    keep_shape(g, x, &y);
    Ok(y)
}

fn activation_layer(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    let y = activation(&mut c.g, l.str("activation").unwrap_or("linear"), x, base)?;
    keep_shape(&mut c.g, x, &y);
    Ok(y)
}

fn merge(c: &mut LayerCtx<'_>, ins: &[String], op: &str, base: &str) -> R {
    if ins.len() < 2 {
        return Err(format!("{} inputs, at least two expected", ins.len()));
    }
    let g = &mut c.g;
    let mut y = ins[0].clone();
    for (i, x) in ins[1..].iter().enumerate() {
        y = same_type(g, op, &[&y, x], vec![], &format!("{base}/{i}"));
    }
    keep_shape(g, &ins[0], &y);
    Ok(y)
}

fn add(c: &mut LayerCtx<'_>, _: &Layer, ins: &[String], base: &str) -> R {
    merge(c, ins, "Add", base)
}
fn multiply(c: &mut LayerCtx<'_>, _: &Layer, ins: &[String], base: &str) -> R {
    merge(c, ins, "Mul", base)
}
fn maximum(c: &mut LayerCtx<'_>, _: &Layer, ins: &[String], base: &str) -> R {
    merge(c, ins, "Max", base)
}
fn minimum(c: &mut LayerCtx<'_>, _: &Layer, ins: &[String], base: &str) -> R {
    merge(c, ins, "Min", base)
}

fn average(c: &mut LayerCtx<'_>, _: &Layer, ins: &[String], base: &str) -> R {
    let s = merge(c, ins, "Add", &format!("{base}/sum"))?;
    let g = &mut c.g;
    let k = g.scalar(&format!("{base}/inv_n"), DType::F32, 1.0 / ins.len() as f64);
    let y = same_type(g, "Mul", &[&s, &k], vec![], base);
    keep_shape(g, &ins[0], &y);
    Ok(y)
}

fn concatenate(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let axis = l
        .get("axis")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(-1);
    let g = &mut c.g;
    let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
    let y = same_type(
        g,
        "Concat",
        &refs,
        attrs(&[("axis", Attr::Int(axis))]),
        base,
    );
    if let Some(r) = g.rank(&ins[0]) {
        g.set_shape(&y, vec![None; r]);
    }
    Ok(y)
}

fn zero_padding(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    channels_last(l)?;
    let p = l.get("padding").ok_or("no padding")?;
    let ((t, b), (lf, r)) = match p {
        serde_json::Value::Number(v) => {
            let v = v.as_i64().ok_or("padding is not an integer")?;
            ((v, v), (v, v))
        }
        serde_json::Value::Array(a) if a.len() == 2 => {
            let side = |v: &serde_json::Value| -> Result<(i64, i64), String> {
                match v {
                    serde_json::Value::Number(n) => {
                        let n = n.as_i64().ok_or("padding is not an integer")?;
                        Ok((n, n))
                    }
                    serde_json::Value::Array(p) if p.len() == 2 => Ok((
                        p[0].as_i64().ok_or("padding is not an integer")?,
                        p[1].as_i64().ok_or("padding is not an integer")?,
                    )),
                    other => Err(format!("padding entry {other}")),
                }
            };
            (side(&a[0])?, side(&a[1])?)
        }
        other => return Err(format!("padding {other}")),
    };
    let g = &mut c.g;
    let pads = g.ints(&format!("{base}/pads"), &[0, t, lf, 0, 0, b, r, 0]);
    let y = same_type(
        g,
        "Pad",
        &[x, &pads],
        attrs(&[("mode", Attr::Str("constant".into()))]),
        base,
    );
    if let Some(s) = g.shape(x).cloned() {
        if s.len() == 4 {
            g.set_shape(
                &y,
                vec![
                    s[0],
                    s[1].map(|h| h + t + b),
                    s[2].map(|w| w + lf + r),
                    s[3],
                ],
            );
        }
    }
    Ok(y)
}

fn pooling(
    c: &mut LayerCtx<'_>,
    l: &Layer,
    ins: &[String],
    base: &str,
    op: &str,
    extra: Vec<(String, Attr)>,
) -> R {
    let x = one(ins)?;
    channels_last(l)?;
    let k = pair(l, "pool_size", 2)?;
    let s = match l.ints("strides", 2) {
        Some(v) if v.len() == 2 => [v[0], v[1]],
        _ => k,
    };
    let geo = ConvGeometry {
        strides: s,
        dilations: [1, 1],
        padding: padding(l)?,
    };
    pool_nhwc(&mut c.g, x, op, k, &geo, extra, base)
}

fn max_pooling(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    pooling(c, l, ins, base, "MaxPool", vec![])
}

fn avg_pooling(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    pooling(
        c,
        l,
        ins,
        base,
        "AveragePool",
        attrs(&[("count_include_pad", Attr::Int(0))]),
    )
}

fn global(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str, op: &str) -> R {
    let x = one(ins)?;
    channels_last(l)?;
    let keep = l.bool("keepdims", false);
    let g = &mut c.g;
    let y = same_type(
        g,
        op,
        &[x],
        attrs(&[
            ("axes", Attr::Ints(vec![1, 2])),
            ("keepdims", Attr::Int(i64::from(keep))),
        ]),
        base,
    );
    if let Some(s) = g.shape(x).cloned() {
        if s.len() == 4 {
            let out = if keep {
                vec![s[0], Some(1), Some(1), s[3]]
            } else {
                vec![s[0], s[3]]
            };
            g.set_shape(&y, out);
        }
    }
    Ok(y)
}

fn global_avg(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    global(c, l, ins, base, "ReduceMean")
}

fn global_max(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    global(c, l, ins, base, "ReduceMax")
}

fn flatten(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    channels_last(l)?;
    let g = &mut c.g;
    let y = same_type(g, "Flatten", &[x], attrs(&[("axis", Attr::Int(1))]), base);
    let flat = g
        .shape(x)
        .filter(|s| !s.is_empty())
        .map(|s| (s[0], s[1..].iter().copied().product::<Option<i64>>()));
    g.set_shape(
        &y,
        match flat {
            Some((b, rest)) => vec![b, rest],
            None => vec![None, None],
        },
    );
    Ok(y)
}

fn reshape(c: &mut LayerCtx<'_>, l: &Layer, ins: &[String], base: &str) -> R {
    let x = one(ins)?;
    // TF.js writes the one free dimension (-1) as null.
    let target: Vec<i64> = l
        .get("target_shape")
        .and_then(serde_json::Value::as_array)
        .ok_or("no target_shape")?
        .iter()
        .map(|d| if d.is_null() { Some(-1) } else { d.as_i64() })
        .collect::<Option<_>>()
        .ok_or("target_shape is not a list of sizes")?;
    let mut shape = vec![0i64];
    shape.extend(&target);
    let g = &mut c.g;
    let s = g.ints(&format!("{base}/shape"), &shape);
    let y = same_type(g, "Reshape", &[x, &s], vec![], base);
    let batch = g.shape(x).and_then(|s| s.first().copied().flatten());
    let mut out = vec![batch];
    out.extend(target.iter().map(|&d| (d >= 0).then_some(d)));
    g.set_shape(&y, out);
    Ok(y)
}

fn passthrough(_: &mut LayerCtx<'_>, _: &Layer, ins: &[String], _: &str) -> R {
    Ok(one(ins)?.to_owned())
}
