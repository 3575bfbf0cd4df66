//! ONNX Runtime through the `ort` crate, loading `libonnxruntime.so` at run
//! time (see [`crate::dylib`]). One ORT environment per process.

use std::ffi::CStr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, ValueType};

use super::{EngineError, LoadedModel, Output, RunResult};
use crate::shapes::InputSpec;

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
    tensors: Vec<Tensor<f32>>,
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
                },
                other => InputSpec {
                    name: o.name().to_owned(),
                    dims: Vec::new(),
                    dtype: other.to_string(),
                    is_f32: false,
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

    fn prepare(&mut self, shapes: &[Vec<usize>], data: Vec<Vec<f32>>) -> Result<(), EngineError> {
        self.tensors = shapes
            .iter()
            .zip(data)
            .map(|(shape, values)| {
                Tensor::from_array((shape.clone(), values)).map_err(EngineError::from_display)
            })
            .collect::<Result<_, _>>()?;
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
                let (shape, data) = match value.try_extract_tensor::<f32>() {
                    Ok((shape, data)) => {
                        (shape.iter().map(|&d| d as usize).collect(), data.to_vec())
                    }
                    Err(_) => (Vec::new(), Vec::new()),
                };
                out.push(Output {
                    name: name.to_owned(),
                    shape,
                    data,
                });
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
