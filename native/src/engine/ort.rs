//! ONNX Runtime through the `ort` crate, loading `libonnxruntime.so` at run
//! time (see [`crate::dylib`]). One ORT environment per process.

use std::ffi::CStr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use ort::session::{Session, SessionInputValue};
use ort::value::{DynTensor, DynValue, Tensor, TensorElementType, ValueType};

use super::{tensor_data, EngineError, LoadedModel, Output, RunResult};
use crate::shapes::InputSpec;
use crate::tensor::{ElemType, HostTensor, TensorData};

/// The process-wide environment and the library's version, or why there is
/// none.
static ENV: OnceLock<Result<(ort::environment::Environment, String), String>> = OnceLock::new();

fn env() -> Result<&'static (ort::environment::Environment, String), EngineError> {
    ENV.get_or_init(|| {
        let path = crate::dylib::locate().map_err(|e| e.to_string())?;
        let builder =
            ort::init_from(&path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        let env = builder
            .with_name("webinfer-native")
            .build()
            .map_err(|e| e.to_string())?;
        tracing::info!("loaded ONNX Runtime from {}", path.display());
        let version = library_version(&path).unwrap_or_else(|e| {
            tracing::warn!("cannot read the version of {}: {e}", path.display());
            ort::info().to_owned()
        });
        Ok((env, version))
    })
    .as_ref()
    .map_err(|e| EngineError(e.clone()))
}

/// The version of the loaded ONNX Runtime (e.g. `1.30.0`).
pub fn version() -> Result<String, EngineError> {
    env().map(|(_, v)| v.clone())
}

/// The release of the ONNX Runtime library at `path` (e.g. `1.30.0`), from
/// its `OrtGetApiBase()->GetVersionString()`; the build info string does
/// not always name it.
fn library_version(path: &Path) -> Result<String, String> {
    // SAFETY: `path` is the ONNX Runtime library `ort` has just loaded
    // (dlopen hands back the same, already initialized, library).
    // `OrtGetApiBase` has this signature in every ONNX Runtime release and
    // returns a pointer to a static struct whose `GetVersionString` returns
    // a static NUL-terminated string, copied here before the handle is
    // dropped (ort keeps its own handle, so the library stays loaded).
    unsafe {
        let lib = libloading::Library::new(path).map_err(|e| e.to_string())?;
        let get: libloading::Symbol<'_, unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            lib.get(b"OrtGetApiBase").map_err(|e| e.to_string())?;
        let base = get();
        if base.is_null() {
            return Err("OrtGetApiBase returned null".into());
        }
        let s = ((*base).GetVersionString)();
        if s.is_null() {
            return Err("GetVersionString returned null".into());
        }
        Ok(CStr::from_ptr(s).to_string_lossy().into_owned())
    }
}

/// A model in an ORT session.
pub struct OrtModel {
    session: Session,
    inputs: Vec<InputSpec>,
    tensors: Vec<DynTensor>,
}

/// The element type of an ORT tensor type, if inputs can be made of it.
fn elem_of(t: TensorElementType) -> Option<ElemType> {
    Some(match t {
        TensorElementType::Float32 => ElemType::F32,
        TensorElementType::Float16 => ElemType::F16,
        TensorElementType::Float64 => ElemType::F64,
        TensorElementType::Int8 => ElemType::I8,
        TensorElementType::Int16 => ElemType::I16,
        TensorElementType::Int32 => ElemType::I32,
        TensorElementType::Int64 => ElemType::I64,
        TensorElementType::Uint8 => ElemType::U8,
        TensorElementType::Uint16 => ElemType::U16,
        TensorElementType::Uint32 => ElemType::U32,
        TensorElementType::Uint64 => ElemType::U64,
        TensorElementType::Bool => ElemType::Bool,
        _ => return None,
    })
}

fn to_ort(t: HostTensor) -> Result<DynTensor, EngineError> {
    let shape = t.shape;
    macro_rules! mk {
        ($v:expr) => {
            Tensor::from_array((shape, $v))
                .map(|x| x.upcast())
                .map_err(EngineError::from_display)
        };
    }
    match t.data {
        TensorData::F32(v) => mk!(v),
        TensorData::F16(v) => mk!(v.into_iter().map(half::f16::from_bits).collect::<Vec<_>>()),
        TensorData::F64(v) => mk!(v),
        TensorData::I8(v) => mk!(v),
        TensorData::I16(v) => mk!(v),
        TensorData::I32(v) => mk!(v),
        TensorData::I64(v) => mk!(v),
        TensorData::U8(v) => mk!(v),
        TensorData::U16(v) => mk!(v),
        TensorData::U32(v) => mk!(v),
        TensorData::U64(v) => mk!(v),
        TensorData::Bool(v) => mk!(v),
    }
}

fn from_ort(value: &DynValue) -> Option<HostTensor> {
    let ValueType::Tensor { ty, .. } = value.dtype() else {
        return None;
    };
    let shape: Vec<usize>;
    macro_rules! get {
        ($t:ty) => {{
            let (s, data) = value.try_extract_tensor::<$t>().ok()?;
            shape = s.iter().map(|&d| d as usize).collect();
            data.iter().copied()
        }};
    }
    let data = tensor_data!(elem_of(*ty)?, get);
    Some(HostTensor { shape, data })
}

impl OrtModel {
    /// Creates a session from the model bytes with `threads` intra-op
    /// threads (and one inter-op thread: nodes run one after another, as in
    /// ORT-web).
    pub fn load(bytes: &[u8], threads: usize) -> Result<Self, EngineError> {
        let (env, _) = env()?;
        let session = Session::builder(env)
            .map_err(EngineError::from_display)?
            .with_intra_threads(threads)
            .map_err(EngineError::from_display)?
            .with_inter_threads(1)
            .map_err(EngineError::from_display)?
            .commit_from_memory(bytes)
            .map_err(EngineError::from_display)?;
        let inputs = session
            .inputs()
            .iter()
            .map(|o| match o.dtype() {
                ValueType::Tensor { ty, shape, .. } => InputSpec {
                    name: o.name().to_owned(),
                    dims: shape.iter().map(|&d| usize::try_from(d).ok()).collect(),
                    dtype: ty.to_string(),
                    is_f32: *ty == TensorElementType::Float32,
                    elem: elem_of(*ty),
                },
                other => InputSpec {
                    name: o.name().to_owned(),
                    dims: Vec::new(),
                    dtype: other.to_string(),
                    is_f32: false,
                    elem: None,
                },
            })
            .collect();
        Ok(OrtModel {
            session,
            inputs,
            tensors: Vec::new(),
        })
    }
}

impl LoadedModel for OrtModel {
    fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }

    fn prepare_tensors(&mut self, inputs: Vec<HostTensor>) -> Result<(), EngineError> {
        self.tensors = inputs.into_iter().map(to_ort).collect::<Result<_, _>>()?;
        Ok(())
    }

    fn run(&mut self, collect: bool) -> Result<RunResult, EngineError> {
        let feeds: Vec<(&str, SessionInputValue<'_>)> = self
            .inputs
            .iter()
            .zip(&self.tensors)
            .map(|(spec, t)| (spec.name.as_str(), SessionInputValue::from(t)))
            .collect();
        let start = Instant::now();
        let outputs = self.session.run(feeds).map_err(EngineError::from_display)?;
        let dur = start.elapsed();
        let mut out = Vec::new();
        if collect {
            for (name, value) in outputs.iter() {
                out.push(Output::from_tensor_or_shape(
                    name.to_owned(),
                    from_ort(&value),
                    Vec::new(),
                ));
            }
        }
        Ok(RunResult {
            start,
            dur,
            outputs: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_library_release() {
        let v = version().unwrap_or_else(|e| panic!("ONNX Runtime is needed here: {e}"));
        let parts: Vec<&str> = v.split('.').collect();
        assert_eq!(parts.len(), 3, "a release number like 1.30.0, got {v}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{v}");
    }
}
