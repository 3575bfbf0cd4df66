//! Errors of a native run: per model (the other models still run) and for
//! the whole call.

use std::path::PathBuf;

use crate::engine::{EngineError, EngineKind};
use crate::from_trace::TraceReadError;

/// Why one model could not be measured. Every message names the model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("{path}: cannot read the model file: {source}")]
    Read {
        /// The model file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A TF.js model that could not be converted to ONNX (an op or layer
    /// without a mapping, control flow, missing shards, …).
    #[error("{path}: cannot convert the TF.js model to ONNX: {source}")]
    Convert {
        /// The model file.
        path: PathBuf,
        /// The converter's error (names the op, node and model).
        #[source]
        source: Box<webinfer_convert::ConvertError>,
    },
    /// The engine rejected the file (bad file, unsupported operator, …).
    #[error("{path}: {engine} cannot load the model: {reason}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// The engine.
        engine: EngineKind,
        /// The engine's message.
        reason: EngineError,
    },
    /// No valid values are known for an input.
    #[error("{path}: {source}")]
    InputValues {
        /// The model file.
        path: PathBuf,
        /// Which input and why.
        #[source]
        source: crate::values::NoValues,
    },
    /// The page's captured inputs named by `--from-trace` could not be read.
    #[error("{path}: the page's captured inputs: {reason}")]
    Inputs {
        /// The model file.
        path: PathBuf,
        /// Why the safetensors file could not be used.
        reason: String,
    },
    /// The engine could not plan or run the model with these input shapes.
    #[error("{path}: {engine} cannot run the model with input shapes {shapes}: {reason}{hint}")]
    Run {
        /// The model file.
        path: PathBuf,
        /// The engine.
        engine: EngineKind,
        /// The shapes tried, e.g. `x=1x3x1x1`.
        shapes: String,
        /// The engine's message.
        reason: EngineError,
        /// What to try, when the shapes came from the "dynamic dims = 1" rule.
        hint: String,
    },
    /// The trace could not be written.
    #[error(transparent)]
    Trace(#[from] webinfer_format::WriterError),
}

/// A failure that stops the whole call before any model runs.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine could not start (e.g. `libonnxruntime.so` missing).
    #[error("{engine}: {reason}")]
    Engine {
        /// The engine.
        engine: EngineKind,
        /// Why.
        reason: EngineError,
    },
    /// `--from-trace` could not be read.
    #[error(transparent)]
    FromTrace(#[from] TraceReadError),
    /// `--inputs` could not be read.
    #[error(transparent)]
    Inputs(#[from] crate::inputs_file::InputsFileError),
    /// No model was given.
    #[error("no model given")]
    NoModel,
}
