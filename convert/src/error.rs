//! Why a model could not be converted. Every message names the model;
//! op-level errors also name the node and its op (or the Keras layer and its
//! class), so a refusal says exactly what is missing.

use crate::tfjs::source::SourceError;

/// A conversion failure.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The model's files could not be read or are not a TF.js model.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The weights could not be decoded.
    #[error("{model}: weights: {reason}")]
    Weights {
        /// The model.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// The topology is malformed.
    #[error("{model}: topology: {reason}")]
    Topology {
        /// The model.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// A TF op the converter has no ONNX mapping for.
    #[error(
        "{model}: node `{node}` uses TF op `{op}`, which webinfer-convert does not map to ONNX \
         (docs/native.md lists the mapped ops); the model is not converted"
    )]
    UnsupportedOp {
        /// The model.
        model: String,
        /// The node.
        node: String,
        /// The op.
        op: String,
    },
    /// A graph with TF control flow (while loops, tensor lists, …).
    #[error(
        "{model}: node `{node}` is TF control flow (`{op}`; the graph has {count} control-flow nodes: {ops}); \
         webinfer-convert refuses graphs with control flow (a TF while loop would need an ONNX Loop, which \
         tract cannot run): the model is not converted"
    )]
    ControlFlow {
        /// The model.
        model: String,
        /// The first control-flow node.
        node: String,
        /// Its op.
        op: String,
        /// How many control-flow nodes the graph has.
        count: usize,
        /// Their distinct ops.
        ops: String,
    },
    /// A mapped op whose attributes or inputs this mapping cannot express.
    #[error("{model}: node `{node}` (TF op `{op}`): {reason}")]
    Op {
        /// The model.
        model: String,
        /// The node.
        node: String,
        /// The op.
        op: String,
        /// What cannot be expressed.
        reason: String,
    },
    /// A Keras layer class the converter has no mapping for.
    #[error(
        "{model}: layer `{layer}` is a Keras `{class}`, which webinfer-convert does not map to ONNX \
         (docs/native.md lists the mapped layers); the model is not converted"
    )]
    UnsupportedLayer {
        /// The model.
        model: String,
        /// The layer.
        layer: String,
        /// Its class.
        class: String,
    },
    /// A mapped layer whose configuration this mapping cannot express.
    #[error("{model}: layer `{layer}` (Keras `{class}`): {reason}")]
    Layer {
        /// The model.
        model: String,
        /// The layer.
        layer: String,
        /// Its class.
        class: String,
        /// What cannot be expressed.
        reason: String,
    },
}

impl ConvertError {
    /// Makes the [`ConvertError::Topology`] errors of `model` from their reasons.
    pub fn topology(model: &str) -> impl Fn(String) -> ConvertError + '_ {
        move |reason| ConvertError::Topology {
            model: model.to_owned(),
            reason,
        }
    }
}
