//! TF.js layers models (`format: "layers-model"`, a Keras `model_config`)
//! to the converter's ONNX graph.
//!
//! - `Model`/`Functional` configs: layers with `inbound_nodes`
//!   (`[[layer, node_index, tensor_index, kwargs], …]` per call, Keras 2
//!   form); each call of a layer is mapped with the same weights; inputs are
//!   `input_layers`, outputs `output_layers`.
//! - `Sequential` configs: each layer consumes the previous one; the input
//!   is named `<first layer>_input` (TF.js's name) with the first layer's
//!   `batch_input_shape`.
//! - Weights are looked up as `<layer>/<weight>` (`Conv1/kernel`,
//!   `bn_Conv1/moving_mean`), or a manifest name ending in
//!   `/<layer>/<weight>`.
//! - ONNX inputs carry the input layers' names, outputs the output layers'
//!   names (`name:k` for a later call of a layer).
//!
//! The layer mappings are in [`map`]; a class without one is
//! [`ConvertError::UnsupportedLayer`].

pub mod map;

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ConvertError;
use crate::ir::{Graph, Shape};
use crate::tensor::{DType, Tensor};
use crate::tfjs::model_json::ModelJson;

/// A tensor of the topology: `(layer, node_index, tensor_index)`.
pub type TensorRef = (String, usize, usize);

/// One Keras layer of the config.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Its name.
    pub name: String,
    /// Its class (`Conv2D`, `BatchNormalization`, …).
    pub class: String,
    /// Its `config` object.
    pub config: Value,
    /// Per call, the inputs.
    pub calls: Vec<Vec<TensorRef>>,
}

impl Layer {
    /// A config field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key).filter(|v| !v.is_null())
    }

    /// A config string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// A config number.
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// A config bool.
    pub fn bool(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A config list of ints, or one int repeated `n` times.
    pub fn ints(&self, key: &str, n: usize) -> Option<Vec<i64>> {
        match self.get(key)? {
            Value::Number(x) => x.as_i64().map(|v| vec![v; n]),
            Value::Array(a) => a.iter().map(Value::as_i64).collect(),
            _ => None,
        }
    }
}

/// The state shared by the layer mappings while one model is converted.
pub struct LayerCtx<'a> {
    /// The ONNX graph being built.
    pub g: Graph,
    weights: &'a HashMap<String, Tensor>,
}

impl LayerCtx<'_> {
    /// The weight `<layer>/<name>`, if the manifest has it.
    pub fn weight(&self, layer: &Layer, name: &str) -> Option<Tensor> {
        let key = format!("{}/{name}", layer.name);
        if let Some(t) = self.weights.get(&key) {
            return Some(t.clone());
        }
        let suffix = format!("/{key}");
        let mut hits = self.weights.iter().filter(|(k, _)| k.ends_with(&suffix));
        match (hits.next(), hits.next()) {
            (Some((_, t)), None) => Some(t.clone()),
            _ => None,
        }
    }

    /// The weight `<layer>/<name>`, or an error naming it.
    pub fn need(&self, layer: &Layer, name: &str) -> Result<Tensor, String> {
        self.weight(layer, name)
            .ok_or_else(|| format!("the weights manifest has no `{}/{name}`", layer.name))
    }
}

fn parse_inbound(v: &Value) -> Result<Vec<Vec<TensorRef>>, String> {
    let Some(calls) = v.as_array() else {
        return Ok(Vec::new());
    };
    calls
        .iter()
        .map(|call| {
            let Some(items) = call.as_array() else {
                return Err(format!(
                    "inbound node {call} is not the Keras 2 list form [[layer, node, tensor, kwargs], …]"
                ));
            };
            items
                .iter()
                .map(|it| {
                    let a = it.as_array().ok_or("an inbound entry that is not a list")?;
                    let name = a.first().and_then(Value::as_str).ok_or("an inbound entry without a layer name")?;
                    let node = a.get(1).and_then(Value::as_u64).unwrap_or(0) as usize;
                    let tensor = a.get(2).and_then(Value::as_u64).unwrap_or(0) as usize;
                    Ok((name.to_owned(), node, tensor))
                })
                .collect()
        })
        .collect()
}

fn parse_layers(list: &[Value]) -> Result<Vec<Layer>, String> {
    list.iter()
        .map(|l| {
            let class = l
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or("a layer without `class_name`")?
                .to_owned();
            let config = l.get("config").cloned().unwrap_or(Value::Null);
            let name = l
                .get("name")
                .and_then(Value::as_str)
                .or_else(|| config.get("name").and_then(Value::as_str))
                .ok_or_else(|| format!("a `{class}` layer without a name"))?
                .to_owned();
            let calls = parse_inbound(l.get("inbound_nodes").unwrap_or(&Value::Null))?;
            Ok(Layer {
                name,
                class,
                config,
                calls,
            })
        })
        .collect()
}

fn refs(v: Option<&Value>) -> Vec<TensorRef> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let r = r.as_array()?;
                    Some((
                        r.first()?.as_str()?.to_owned(),
                        r.get(1).and_then(Value::as_u64).unwrap_or(0) as usize,
                        r.get(2).and_then(Value::as_u64).unwrap_or(0) as usize,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn input_shape_of(l: &Layer) -> Option<Shape> {
    let s = l
        .get("batch_input_shape")
        .or_else(|| l.get("batch_shape"))?;
    s.as_array()
        .map(|a| a.iter().map(|d| d.as_i64().filter(|&v| v >= 0)).collect())
}

fn dtype_of(l: &Layer) -> DType {
    l.str("dtype")
        .and_then(DType::from_tfjs)
        .map(crate::graph::node::tfjs_runtime)
        .unwrap_or(DType::F32)
}

/// The output name of a layer call: the layer name, `name:k` for call `k`.
fn call_name(layer: &str, node: usize) -> String {
    if node == 0 {
        layer.to_owned()
    } else {
        format!("{layer}:{node}")
    }
}

/// Converts a layers model with its decoded weights. `model` names the
/// model in errors.
pub fn convert(
    m: &ModelJson,
    weights: &HashMap<String, Tensor>,
    model: &str,
) -> Result<Graph, ConvertError> {
    let topo = &ConvertError::topology(model);
    let top = m.topology.get("model_config").unwrap_or(&m.topology);
    let class = top
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| topo("the Keras topology has no `class_name`".into()))?;
    let config = top.get("config").cloned().unwrap_or(Value::Null);
    let mut ctx = LayerCtx {
        g: Graph::new(model),
        weights,
    };
    // (layer, node, tensor) -> value
    let mut values: HashMap<TensorRef, String> = HashMap::new();
    let mut outputs: Vec<TensorRef> = Vec::new();
    let layers: Vec<Layer>;

    match class {
        "Sequential" => {
            let list = config
                .get("layers")
                .or(Some(&config))
                .and_then(Value::as_array)
                .ok_or_else(|| topo("a Sequential config without `layers`".into()))?;
            let mut ls = parse_layers(list).map_err(topo)?;
            let first = ls
                .first()
                .ok_or_else(|| topo("a Sequential model without layers".into()))?;
            let (in_name, shape, dtype) = if first.class == "InputLayer" {
                (first.name.clone(), input_shape_of(first), dtype_of(first))
            } else {
                (
                    format!("{}_input", first.name),
                    input_shape_of(first),
                    dtype_of(first),
                )
            };
            if shape.is_none() {
                return Err(topo(format!(
                    "the first layer `{}` has no batch_input_shape: the input shape is unknown",
                    first.name
                )));
            }
            ctx.g.add_input(&in_name, dtype, shape);
            values.insert((in_name.clone(), 0, 0), in_name.clone());
            let mut prev = in_name;
            for l in &mut ls {
                if l.class == "InputLayer" {
                    continue;
                }
                l.calls = vec![vec![(prev.clone(), 0, 0)]];
                prev = l.name.clone();
            }
            outputs.push((prev, 0, 0));
            layers = ls.into_iter().filter(|l| l.class != "InputLayer").collect();
        }
        "Model" | "Functional" => {
            let list = config
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| topo("a Model config without `layers`".into()))?;
            let ls = parse_layers(list).map_err(topo)?;
            let inputs = refs(config.get("input_layers"));
            outputs = refs(config.get("output_layers"));
            if inputs.is_empty() || outputs.is_empty() {
                return Err(topo(
                    "a Model config without input_layers or output_layers".into(),
                ));
            }
            for (name, node, tensor) in &inputs {
                let l = ls
                    .iter()
                    .find(|l| &l.name == name)
                    .ok_or_else(|| topo(format!("input layer `{name}` is not among the layers")))?;
                ctx.g.add_input(name, dtype_of(l), input_shape_of(l));
                values.insert((name.clone(), *node, *tensor), name.clone());
            }
            layers = ls.into_iter().filter(|l| l.class != "InputLayer").collect();
        }
        other => {
            return Err(topo(format!(
                "a Keras `{other}` topology (Sequential, Model or Functional expected)"
            )))
        }
    }
    for (name, node, _) in &outputs {
        ctx.g.reserve(&call_name(name, *node));
    }
    // Every class must be mapped before any work is done.
    if let Some(l) = layers.iter().find(|l| map::lookup(&l.class).is_none()) {
        return Err(ConvertError::UnsupportedLayer {
            model: model.to_owned(),
            layer: l.name.clone(),
            class: l.class.clone(),
        });
    }
    // Map calls whose inputs are ready until all are done.
    let mut pending: Vec<(usize, usize)> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| (0..l.calls.len()).map(move |k| (i, k)))
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for (i, k) in pending {
            let l = &layers[i];
            let ins: Option<Vec<String>> =
                l.calls[k].iter().map(|r| values.get(r).cloned()).collect();
            let Some(ins) = ins else {
                rest.push((i, k));
                continue;
            };
            let mapping = map::lookup(&l.class).expect("checked above");
            let base = call_name(&l.name, k);
            let out =
                (mapping.map)(&mut ctx, l, &ins, &base).map_err(|reason| ConvertError::Layer {
                    model: model.to_owned(),
                    layer: l.name.clone(),
                    class: l.class.clone(),
                    reason,
                })?;
            values.insert((l.name.clone(), k, 0), out);
        }
        if rest.len() == before {
            let (i, _) = rest[0];
            return Err(topo(format!(
                "layer `{}` consumes outputs no layer produces (or the layers form a cycle)",
                layers[i].name
            )));
        }
        pending = rest;
    }
    for r in &outputs {
        let v = values
            .get(r)
            .cloned()
            .ok_or_else(|| topo(format!("output layer `{}` produced nothing", r.0)))?;
        let name = call_name(&r.0, r.1);
        ctx.g.add_output_from(v, &name);
    }
    Ok(ctx.g)
}
