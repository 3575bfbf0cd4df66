//! One TF `NodeDef` of a graph model's `modelTopology.node`, with typed
//! access to its attributes in the protobuf JSON mapping TF.js uses:
//! `{"i": "3"}` (int64 as string), `{"f": 0.5}`, `{"b": true}`,
//! `{"s": "<base64>"}`, `{"type": "DT_FLOAT"}`, `{"shape": {"dim": […]}}`,
//! `{"list": {"i": […], "s": […], …}}`.

use base64::Engine as _;
use serde_json::Value;

use crate::ir::Shape;
use crate::tensor::DType;

/// A reference to a node's output: `name` (port 0), `name:k`, or a
/// control dependency `^name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRef {
    /// The producing node.
    pub node: String,
    /// Its output port.
    pub port: usize,
}

impl InputRef {
    /// Parses `name`, `name:k`; `None` for `^name` (control inputs carry no
    /// data) and for function-style `name:out:0` references.
    pub fn parse(s: &str) -> Option<Result<InputRef, String>> {
        if s.starts_with('^') {
            return None;
        }
        let mut parts = s.rsplitn(2, ':');
        let last = parts.next().unwrap_or("");
        Some(match (parts.next(), last.parse::<usize>()) {
            (Some(node), Ok(port)) if !node.contains(':') => Ok(InputRef {
                node: node.to_owned(),
                port,
            }),
            (Some(_), _) => Err(format!(
                "input `{s}` is a function-style reference, which only TF functions use"
            )),
            (None, _) => Ok(InputRef {
                node: s.to_owned(),
                port: 0,
            }),
        })
    }

    /// The TF tensor name: `node` for port 0, else `node:port`.
    pub fn tensor_name(&self) -> String {
        if self.port == 0 {
            self.node.clone()
        } else {
            format!("{}:{}", self.node, self.port)
        }
    }
}

/// A TF node.
#[derive(Debug, Clone)]
pub struct TfNode {
    /// Its unique name.
    pub name: String,
    /// The TF op (`Conv2D`, `_FusedConv2D`, …).
    pub op: String,
    /// Data inputs, in order (control inputs left out).
    pub inputs: Vec<InputRef>,
    /// The `attr` object.
    pub attr: serde_json::Map<String, Value>,
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn float_of(v: &Value) -> Option<f32> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f as f32),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f32::NAN),
            "Infinity" => Some(f32::INFINITY),
            "-Infinity" => Some(f32::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

fn bytes_of(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(raw).ok()
}

/// The type TF.js holds a tensor of TF type `t` in.
pub fn tfjs_runtime(t: DType) -> DType {
    match t {
        DType::F16 | DType::F64 => DType::F32,
        t if t.is_int() => DType::I32,
        t => t,
    }
}

impl TfNode {
    /// Reads a `NodeDef` JSON object.
    pub fn from_json(v: &Value) -> Result<TfNode, String> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a node without `name`")?
            .to_owned();
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("node `{name}` has no `op`"))?
            .to_owned();
        let mut inputs = Vec::new();
        for i in v
            .get("input")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = i
                .as_str()
                .ok_or_else(|| format!("node `{name}`: an input that is not a string"))?;
            if let Some(r) = InputRef::parse(s) {
                inputs.push(r.map_err(|e| format!("node `{name}`: {e}"))?);
            }
        }
        let attr = v
            .get("attr")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Ok(TfNode {
            name,
            op,
            inputs,
            attr,
        })
    }

    /// An int attribute.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.attr.get(name)?.get("i").and_then(int_of)
    }

    /// An int attribute, `default` when absent (TF's proto default is 0).
    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        match self.attr.get(name) {
            Some(a) => a.get("i").and_then(int_of).unwrap_or(0),
            None => default,
        }
    }

    /// A float attribute.
    pub fn float(&self, name: &str) -> Option<f32> {
        self.attr.get(name)?.get("f").and_then(float_of)
    }

    /// A bool attribute (`false` when absent: the proto default).
    pub fn bool(&self, name: &str) -> bool {
        self.attr
            .get(name)
            .and_then(|a| a.get("b"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A string attribute.
    pub fn string(&self, name: &str) -> Option<String> {
        self.attr.get(name)?.get("s").and_then(bytes_of)
    }

    /// A type attribute, as the type TF.js computes with: TF.js has only
    /// float32, int32 and bool tensors, so `DT_HALF`/`DT_DOUBLE` are float32
    /// and every integer type (`DT_INT64`, `DT_UINT8`, …) is int32 in a page.
    pub fn dtype(&self, name: &str) -> Option<DType> {
        self.type_attr(name)
            .and_then(DType::from_tf)
            .map(tfjs_runtime)
    }

    /// The raw name of a type attribute (for messages about unknown types).
    pub fn dtype_name(&self, name: &str) -> Option<String> {
        self.type_attr(name).map(str::to_owned)
    }

    /// The `type` value (`DT_FLOAT`, …) of attribute `name`.
    fn type_attr(&self, name: &str) -> Option<&str> {
        self.attr.get(name)?.get("type").and_then(Value::as_str)
    }

    fn list(&self, name: &str, key: &str) -> Option<Vec<Value>> {
        let l = self.attr.get(name)?.get("list")?;
        Some(
            l.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        )
    }

    /// An int list attribute.
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.list(name, "i")
            .map(|v| v.iter().filter_map(int_of).collect())
    }

    /// A string list attribute.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.list(name, "s")
            .map(|v| v.iter().filter_map(bytes_of).collect())
    }

    /// A shape attribute (`None` if absent or of unknown rank; `-1` dims
    /// become `None`).
    pub fn shape(&self, name: &str) -> Option<Shape> {
        let s = self.attr.get(name)?.get("shape")?;
        if s.get("unknownRank").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        Some(
            s.get("dim")
                .and_then(Value::as_array)
                .map(|dims| {
                    dims.iter()
                        .map(|d| d.get("size").and_then(int_of).filter(|&n| n >= 0))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_and_inputs() {
        let v: Value = serde_json::from_str(
            r#"{"name":"c","op":"_FusedConv2D","input":["x","w:1","^dep"],
               "attr":{"padding":{"s":"U0FNRQ=="},"strides":{"list":{"i":["1","2","2","1"]}},
                       "fused_ops":{"list":{"s":["Qmlhc0FkZA==","UmVsdQ=="]}},"T":{"type":"DT_FLOAT"},
                       "epsilon":{"f":0},"num_args":{"i":"1"},"keep":{"b":true},
                       "shape":{"shape":{"dim":[{"size":"-1"},{"size":"3"}]}}}}"#,
        )
        .unwrap();
        let n = TfNode::from_json(&v).unwrap();
        assert_eq!(n.inputs.len(), 2);
        assert_eq!(
            n.inputs[1],
            InputRef {
                node: "w".into(),
                port: 1
            }
        );
        assert_eq!(n.string("padding").as_deref(), Some("SAME"));
        assert_eq!(n.ints("strides"), Some(vec![1, 2, 2, 1]));
        assert_eq!(
            n.strings("fused_ops"),
            Some(vec!["BiasAdd".into(), "Relu".into()])
        );
        assert_eq!(n.dtype("T"), Some(DType::F32));
        assert_eq!(n.float("epsilon"), Some(0.0));
        assert_eq!(n.int("num_args"), Some(1));
        assert!(n.bool("keep") && !n.bool("absent"));
        assert_eq!(n.shape("shape"), Some(vec![None, Some(3)]));
        assert!(InputRef::parse("f:output:0").unwrap().is_err());
    }
}
