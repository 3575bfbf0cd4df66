//! The inference engines `webinfer native` can drive, behind one small
//! interface: load a model from bytes, declare its inputs, fix the input
//! shapes and data, and run it.

pub mod litert;
pub mod ort;
pub mod tract;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::shapes::InputSpec;
use crate::tensor::{HostTensor, TensorData};

/// Which engine runs the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// ONNX Runtime, native build (the engine ORT-web compiles to wasm).
    Ort,
    /// tract, the pure-Rust ONNX engine.
    Tract,
    /// LiteRT (TensorFlow Lite) for `.tflite` models, in a Python subprocess
    /// ([`litert`]).
    Litert,
}

impl EngineKind {
    /// The name used on the command line and in traces (`framework`,
    /// `session.engine`).
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Ort => "ort",
            EngineKind::Tract => "tract",
            EngineKind::Litert => "litert",
        }
    }

    /// The API name written into `infer.api`.
    pub fn api(self) -> &'static str {
        match self {
            EngineKind::Ort => "Session.run",
            EngineKind::Tract => "SimplePlan.run",
            EngineKind::Litert => "Interpreter.invoke",
        }
    }

    /// The engine's version, initializing it if needed (for ORT this loads
    /// `libonnxruntime.so`, so a missing library fails here, once).
    pub fn version(self) -> Result<String, EngineError> {
        match self {
            EngineKind::Ort => ort::version(),
            EngineKind::Tract => Ok(tract::version().to_owned()),
            EngineKind::Litert => litert::version(),
        }
    }

    /// Loads a model from its bytes with `threads` compute threads.
    pub fn load(self, bytes: &[u8], threads: usize) -> Result<Box<dyn LoadedModel>, EngineError> {
        match self {
            EngineKind::Ort => Ok(Box::new(ort::OrtModel::load(bytes, threads)?)),
            EngineKind::Tract => Ok(Box::new(tract::TractModel::load(bytes, threads)?)),
            EngineKind::Litert => Ok(Box::new(litert::LitertModel::load(bytes, threads)?)),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ort" | "onnxruntime" => Ok(EngineKind::Ort),
            "tract" => Ok(EngineKind::Tract),
            "litert" | "tflite" => Ok(EngineKind::Litert),
            _ => Err(format!(
                "unknown engine `{s}` (expected `ort`, `tract` or `litert`)"
            )),
        }
    }
}

/// The [`TensorData`] of element type `$elem` (an [`ElemType`](crate::tensor::ElemType)),
/// from an engine's output: `$get!(T)` gives the values as an iterator of
/// `T` (`half::f16` for float16). A `string` output makes the enclosing
/// function return `None`, as an output of a type the engine cannot hand
/// over does.
macro_rules! tensor_data {
    ($elem:expr, $get:ident) => {
        match $elem {
            $crate::tensor::ElemType::F32 => TensorData::F32($get!(f32).collect()),
            $crate::tensor::ElemType::F16 => {
                TensorData::F16($get!(half::f16).map(|h| h.to_bits()).collect())
            }
            $crate::tensor::ElemType::F64 => TensorData::F64($get!(f64).collect()),
            $crate::tensor::ElemType::I8 => TensorData::I8($get!(i8).collect()),
            $crate::tensor::ElemType::I16 => TensorData::I16($get!(i16).collect()),
            $crate::tensor::ElemType::I32 => TensorData::I32($get!(i32).collect()),
            $crate::tensor::ElemType::I64 => TensorData::I64($get!(i64).collect()),
            $crate::tensor::ElemType::U8 => TensorData::U8($get!(u8).collect()),
            $crate::tensor::ElemType::U16 => TensorData::U16($get!(u16).collect()),
            $crate::tensor::ElemType::U32 => TensorData::U32($get!(u32).collect()),
            $crate::tensor::ElemType::U64 => TensorData::U64($get!(u64).collect()),
            $crate::tensor::ElemType::Bool => TensorData::Bool($get!(bool).collect()),
            $crate::tensor::ElemType::String => return None,
        }
    };
}
pub(crate) use tensor_data;

/// What an engine reported when it failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

impl EngineError {
    /// An error from anything displayable.
    pub fn from_display(e: impl fmt::Display) -> Self {
        EngineError(e.to_string())
    }
}

/// One output tensor, copied out of the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The output's name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values in row-major order when it is float32 (else empty).
    pub data: Vec<f32>,
    /// Its values, any element type (`None` for a type the runner does
    /// not copy, e.g. strings).
    pub tensor: Option<HostTensor>,
}

impl Output {
    /// An output from a host tensor (`data` filled for float32).
    pub fn from_tensor(name: String, t: HostTensor) -> Output {
        Output {
            name,
            shape: t.shape.clone(),
            data: match &t.data {
                TensorData::F32(v) => v.clone(),
                _ => Vec::new(),
            },
            tensor: Some(t),
        }
    }

    /// The output `name` from `t`, or, where the engine could not hand its
    /// values over (`None`), with its name and `shape` only.
    pub fn from_tensor_or_shape(name: String, t: Option<HostTensor>, shape: Vec<usize>) -> Output {
        match t {
            Some(t) => Output::from_tensor(name, t),
            None => Output {
                name,
                shape,
                data: Vec::new(),
                tensor: None,
            },
        }
    }
}

/// One timed call of the engine.
#[derive(Debug)]
pub struct RunResult {
    /// When the engine call started.
    pub start: Instant,
    /// How long the engine call took, up to outputs readable in memory.
    pub dur: Duration,
    /// The outputs, when asked for (copied after the timed call).
    pub outputs: Vec<Output>,
}

/// A model loaded into an engine.
pub trait LoadedModel {
    /// The model's inputs.
    fn inputs(&self) -> &[InputSpec];

    /// Fixes the input tensors (any element type, one per model input, in
    /// order) used by every later [`run`] (tract plans and optimizes for
    /// their shapes here).
    ///
    /// [`run`]: LoadedModel::run
    fn prepare_tensors(&mut self, inputs: Vec<HostTensor>) -> Result<(), EngineError>;

    /// [`prepare_tensors`](LoadedModel::prepare_tensors) with float32 inputs.
    fn prepare(&mut self, shapes: &[Vec<usize>], data: Vec<Vec<f32>>) -> Result<(), EngineError> {
        self.prepare_tensors(
            shapes
                .iter()
                .zip(data)
                .map(|(s, d)| HostTensor::f32(s.clone(), d))
                .collect(),
        )
    }

    /// Runs the model once on the prepared inputs; copies the outputs out
    /// (outside the timed span) when `collect` is true.
    fn run(&mut self, collect: bool) -> Result<RunResult, EngineError>;
}
