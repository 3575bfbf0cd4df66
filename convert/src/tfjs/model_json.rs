//! The TF.js `model.json`: format, topology (a TF GraphDef in JSON for
//! graph models, a Keras `model_config` for layers models), the weights
//! manifest and the graph model's signature.

use serde::Deserialize;
use serde_json::Value;

/// What kind of TF.js model a `model.json` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `format: "graph-model"`: `modelTopology.node` is a TF GraphDef.
    Graph,
    /// `format: "layers-model"` (or a Keras topology without `format`).
    Layers,
}

impl Format {
    /// The name written into baseline records (`tfjs-graph`, `tfjs-layers`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Graph => "tfjs-graph",
            Format::Layers => "tfjs-layers",
        }
    }
}

/// One weight of the manifest.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WeightSpec {
    /// The weight's name (a `Const` node's name in a graph model).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its TF.js dtype (`float32`, `int32`, `bool`, `string`, …).
    pub dtype: String,
    /// How the stored bytes are quantized, if they are.
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

/// `quantization` of a weight: `{dtype: "float16"}` or
/// `{dtype: "uint8"|"uint16", scale, min, original_dtype?}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Quantization {
    /// The stored type.
    pub dtype: String,
    /// `value = stored * scale + min`.
    #[serde(default)]
    pub scale: Option<f64>,
    /// See `scale`.
    #[serde(default)]
    pub min: Option<f64>,
    /// Informational in TF.js (decoding uses the weight's `dtype`).
    #[serde(default)]
    pub original_dtype: Option<String>,
}

/// One group of the manifest: shard files and the weights packed in them,
/// in order.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WeightGroup {
    /// Shard paths, relative to the `model.json`.
    pub paths: Vec<String>,
    /// The weights stored in these shards, back to back.
    pub weights: Vec<WeightSpec>,
}

/// A parsed `model.json`.
#[derive(Debug, Clone)]
pub struct ModelJson {
    /// Graph or layers.
    pub format: Format,
    /// `modelTopology` as given.
    pub topology: Value,
    /// `weightsManifest` (empty when absent).
    pub manifest: Vec<WeightGroup>,
    /// Signature outputs, in file order: `(key, tensor name)` (graph models).
    pub signature_outputs: Vec<(String, String)>,
    /// Signature inputs, in file order: `(key, tensor name)` (graph models).
    pub signature_inputs: Vec<(String, String)>,
    /// `convertedBy`/`generatedBy`, for messages.
    pub converted_by: Option<String>,
}

/// A JSON object's entries in file order (`serde_json::Map` sorts keys).
#[derive(Debug, Clone, Default)]
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize, Default)]
struct RawSignature {
    #[serde(default)]
    inputs: Option<Ordered>,
    #[serde(default)]
    outputs: Option<Ordered>,
}

#[derive(Deserialize, Default)]
struct RawMeta {
    #[serde(default)]
    signature: Option<RawSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModelJson {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    model_topology: Option<Value>,
    #[serde(default)]
    weights_manifest: Option<Value>,
    #[serde(default)]
    signature: Option<RawSignature>,
    #[serde(default)]
    user_defined_metadata: Option<RawMeta>,
    #[serde(default)]
    model_initializer: Option<Value>,
    #[serde(default)]
    converted_by: Option<String>,
    #[serde(default)]
    generated_by: Option<String>,
}

impl ModelJson {
    /// Parses the text of a `model.json`. Errors say what is missing.
    pub fn parse(text: &str) -> Result<ModelJson, String> {
        let raw: RawModelJson =
            serde_json::from_str(text).map_err(|e| format!("model.json is not valid JSON: {e}"))?;
        let topology = raw
            .model_topology
            .ok_or("model.json has no `modelTopology`")?;
        let format = match raw.format.as_deref() {
            Some("graph-model") => Format::Graph,
            Some("layers-model") => Format::Layers,
            Some(other) => return Err(format!("unknown TF.js model format `{other}`")),
            None if topology.get("node").is_some() => Format::Graph,
            None if topology.get("model_config").is_some()
                || topology.get("class_name").is_some() =>
            {
                Format::Layers
            }
            None => {
                return Err(
                    "model.json has neither `format` nor a recognisable `modelTopology` (no `node`, no `model_config`)"
                        .into(),
                )
            }
        };
        let manifest = match raw.weights_manifest {
            None | Some(Value::Null) => Vec::new(),
            Some(m) => serde_json::from_value(m)
                .map_err(|e| format!("`weightsManifest` is malformed: {e}"))?,
        };
        // TF.js GraphModel prefers userDefinedMetadata.signature.
        let signature = raw
            .user_defined_metadata
            .and_then(|m| m.signature)
            .or(raw.signature)
            .unwrap_or_default();
        let entries = |o: Option<Ordered>| -> Vec<(String, String)> {
            o.unwrap_or_default()
                .0
                .into_iter()
                .map(|(k, e)| {
                    let name = e
                        .get("name")
                        .and_then(Value::as_str)
                        .map_or_else(|| k.clone(), str::to_owned);
                    (k, name)
                })
                .collect()
        };
        if let Some(init) = raw.model_initializer {
            if init
                .get("node")
                .and_then(Value::as_array)
                .is_some_and(|n| !n.is_empty())
            {
                return Err(
                    "the model has a `modelInitializer` graph (hash-table initialisation), which has no ONNX equivalent"
                        .into(),
                );
            }
        }
        Ok(ModelJson {
            format,
            topology,
            manifest,
            signature_outputs: entries(signature.outputs),
            signature_inputs: entries(signature.inputs),
            converted_by: raw.converted_by.or(raw.generated_by),
        })
    }

    /// All weight specs, group after group.
    pub fn weight_specs(&self) -> Vec<WeightSpec> {
        self.manifest
            .iter()
            .flat_map(|g| g.weights.iter().cloned())
            .collect()
    }

    /// All shard paths, group after group.
    pub fn shard_paths(&self) -> Vec<String> {
        self.manifest
            .iter()
            .flat_map(|g| g.paths.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_graph_model_with_signature_in_file_order() {
        let m = ModelJson::parse(
            r#"{"format":"graph-model","modelTopology":{"node":[]},
                "signature":{"outputs":{"z":{"name":"b:0"},"a":{"name":"c:0"}}},
                "weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"k","shape":[2],"dtype":"float32",
                  "quantization":{"dtype":"uint8","scale":0.5,"min":-1}}]}]}"#,
        )
        .unwrap();
        assert_eq!(m.format, Format::Graph);
        assert_eq!(
            m.signature_outputs,
            vec![("z".into(), "b:0".into()), ("a".into(), "c:0".into())]
        );
        assert_eq!(m.shard_paths(), vec!["w.bin"]);
        let q = m.weight_specs()[0].quantization.clone().unwrap();
        assert_eq!((q.scale, q.min), (Some(0.5), Some(-1.0)));
    }

    #[test]
    fn tells_layers_from_graph_without_format() {
        let m = ModelJson::parse(r#"{"modelTopology":{"model_config":{}}}"#).unwrap();
        assert_eq!(m.format, Format::Layers);
        let e = ModelJson::parse(r#"{"weightsManifest":[]}"#).unwrap_err();
        assert!(e.contains("modelTopology"), "{e}");
    }
}
