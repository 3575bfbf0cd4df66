//! `webinfer-convert`: converts TF.js models to ONNX so that the native
//! engines (ONNX Runtime, tract) can run the very model a page runs.
//!
//! Inputs: a TF.js graph model (`model.json` whose `modelTopology` is a TF
//! GraphDef, [`graph`]) or layers model (a Keras topology, [`layers`]), with
//! the weight shards its manifest names beside it; a directory holding one;
//! or a model bundled into JavaScript files as nsfwjs ships them
//! ([`tfjs::jsmodule`]). Weights are decoded as TF.js decodes them
//! (float16 and uint8/uint16 quantization included, [`tfjs::weights`]).
//!
//! Output: ONNX protobuf bytes (IR version 8, opset 17, [`onnx`]) computing
//! what TF.js computes, op by op: every TF op or Keras layer has a
//! documented mapping, and one without a mapping is an error naming the op,
//! the node and the model, never a different model. Graphs with TF control
//! flow are refused. NHWC↔NCHW transposes around convolutions are then
//! cancelled where they meet ([`layout`]).
//!
//! The crate does not run models; its tests run the ONNX with both engines
//! against TF.js's own outputs (`convert/tests/`).

pub mod error;
pub mod graph;
pub mod ir;
pub mod layers;
pub mod layout;
pub mod onnx;
pub mod tensor;
pub mod tfjs;

use std::path::{Path, PathBuf};

pub use error::ConvertError;
pub use tfjs::model_json::{Format, ModelJson};
pub use tfjs::source::{Artifact, SourceError};

/// A converted model.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The ONNX `ModelProto` bytes.
    pub onnx: Vec<u8>,
    /// What it was converted from.
    pub format: Format,
    /// The files read, the model file (`model.json` or `model.min.js`)
    /// first, each with its SHA-256.
    pub artifacts: Vec<Artifact>,
    /// The model file.
    pub entry: PathBuf,
    /// The ONNX graph's inputs.
    pub inputs: Vec<ir::ValueInfo>,
    /// The ONNX graph's outputs.
    pub outputs: Vec<ir::ValueInfo>,
    /// ONNX nodes written.
    pub onnx_nodes: usize,
    /// `Transpose` nodes the layout pass removed.
    pub transposes_removed: usize,
}

/// Converts the TF.js model at `path` (see the crate doc for what `path`
/// may be).
pub fn convert_path(path: &Path) -> Result<Converted, ConvertError> {
    let loaded = tfjs::source::load(path)?;
    let name = loaded.entry.display().to_string();
    let (graph, removed) = convert_model(&loaded.model, &loaded.weight_data, &name)?;
    let metadata = vec![
        (
            "webinfer.source_format".to_owned(),
            loaded.model.format.as_str().to_owned(),
        ),
        (
            "webinfer.source_sha256".to_owned(),
            loaded.artifacts[0].sha256.clone(),
        ),
    ];
    let doc = format!(
        "Converted by webinfer-convert {} from the TF.js {} model {}{}",
        env!("CARGO_PKG_VERSION"),
        loaded.model.format.as_str(),
        loaded.entry.display(),
        loaded
            .model
            .converted_by
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    Ok(Converted {
        onnx: onnx::encode(&graph, &doc, &metadata),
        format: loaded.model.format,
        artifacts: loaded.artifacts,
        entry: loaded.entry,
        inputs: graph.inputs.clone(),
        outputs: graph.outputs.clone(),
        onnx_nodes: graph.nodes.len(),
        transposes_removed: removed,
    })
}

/// Converts a parsed model with its concatenated shard bytes into the
/// converter's graph, after the layout pass; also returns how many
/// transposes that pass removed. `name` names the model in errors.
pub fn convert_model(
    model: &ModelJson,
    weight_data: &[u8],
    name: &str,
) -> Result<(ir::Graph, usize), ConvertError> {
    let weights = tfjs::weights::decode(&model.weight_specs(), weight_data).map_err(|reason| {
        ConvertError::Weights {
            model: name.to_owned(),
            reason,
        }
    })?;
    let mut g = match model.format {
        Format::Graph => graph::convert(model, &weights, name)?,
        Format::Layers => layers::convert(model, &weights, name)?,
    };
    g.prune();
    let removed = layout::optimize(&mut g);
    g.prune();
    tracing::debug!(
        "{name}: {} ONNX nodes, {} initializers, {removed} transposes removed",
        g.nodes.len(),
        g.initializers.len()
    );
    Ok((g, removed))
}

/// Whether `path` looks like a TF.js model (a directory holding one, a
/// `.json` file, or a file mentioning `modelTopology`/`weightsManifest` in
/// `head`, its first bytes).
pub fn is_tfjs(path: &Path, head: &[u8]) -> bool {
    tfjs::source::looks_like_tfjs(path, head)
}
