//! tract, the pure-Rust ONNX engine: no set-up, single-threaded except for
//! matrix products, which use a `threads`-wide pool when `threads > 1`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{tensor_data, EngineError, LoadedModel, Output, RunResult};
use crate::shapes::InputSpec;
use crate::tensor::{ElemType, HostTensor, TensorData};

/// The tract-onnx version this crate was built with.
pub fn version() -> &'static str {
    env!("WEBINFER_TRACT_VERSION")
}

/// A model parsed by tract, planned once its input shapes are known.
pub struct TractModel {
    model: Option<InferenceModel>,
    plan: Option<Arc<TypedSimplePlan>>,
    inputs: Vec<InputSpec>,
    values: Vec<Tensor>,
    executor: Executor,
}

fn err(e: impl std::fmt::Debug) -> EngineError {
    // tract's Debug form of an error carries the whole cause chain (and,
    // with RUST_BACKTRACE set, a backtrace, which is left out).
    let text = format!("{e:?}");
    let text = text
        .split("\n\nStack backtrace:")
        .next()
        .unwrap_or_default();
    EngineError(text.replace('\n', "; "))
}

/// The element type of a tract datum type, if inputs can be made of it.
fn elem_of(dt: DatumType) -> Option<ElemType> {
    Some(match dt {
        DatumType::F32 => ElemType::F32,
        DatumType::F16 => ElemType::F16,
        DatumType::F64 => ElemType::F64,
        DatumType::I8 => ElemType::I8,
        DatumType::I16 => ElemType::I16,
        DatumType::I32 => ElemType::I32,
        DatumType::I64 => ElemType::I64,
        DatumType::U8 => ElemType::U8,
        DatumType::U16 => ElemType::U16,
        DatumType::U32 => ElemType::U32,
        DatumType::U64 => ElemType::U64,
        DatumType::Bool => ElemType::Bool,
        _ => return None,
    })
}

fn datum_of(t: ElemType) -> DatumType {
    match t {
        ElemType::F32 => DatumType::F32,
        ElemType::F16 => DatumType::F16,
        ElemType::F64 => DatumType::F64,
        ElemType::I8 => DatumType::I8,
        ElemType::I16 => DatumType::I16,
        ElemType::I32 => DatumType::I32,
        ElemType::I64 => DatumType::I64,
        ElemType::U8 => DatumType::U8,
        ElemType::U16 => DatumType::U16,
        ElemType::U32 => DatumType::U32,
        ElemType::U64 => DatumType::U64,
        ElemType::Bool => DatumType::Bool,
        ElemType::String => DatumType::String,
    }
}

fn to_tract(t: &HostTensor) -> Result<Tensor, EngineError> {
    let s = &t.shape;
    match &t.data {
        TensorData::F32(v) => Tensor::from_shape(s, v),
        TensorData::F16(v) => {
            Tensor::from_shape(s, &v.iter().map(|&b| f16::from_bits(b)).collect::<Vec<_>>())
        }
        TensorData::F64(v) => Tensor::from_shape(s, v),
        TensorData::I8(v) => Tensor::from_shape(s, v),
        TensorData::I16(v) => Tensor::from_shape(s, v),
        TensorData::I32(v) => Tensor::from_shape(s, v),
        TensorData::I64(v) => Tensor::from_shape(s, v),
        TensorData::U8(v) => Tensor::from_shape(s, v),
        TensorData::U16(v) => Tensor::from_shape(s, v),
        TensorData::U32(v) => Tensor::from_shape(s, v),
        TensorData::U64(v) => Tensor::from_shape(s, v),
        TensorData::Bool(v) => Tensor::from_shape(s, v),
    }
    .map_err(err)
}

fn from_tract(v: &Tensor) -> Option<HostTensor> {
    macro_rules! get {
        ($t:ty) => {
            v.to_plain_array_view::<$t>().ok()?.iter().copied()
        };
    }
    let data = tensor_data!(elem_of(v.datum_type())?, get);
    Some(HostTensor {
        shape: v.shape().to_vec(),
        data,
    })
}

impl TractModel {
    /// Parses the model bytes.
    pub fn load(bytes: &[u8], threads: usize) -> Result<Self, EngineError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut Cursor::new(bytes))
            .map_err(err)?;
        let outlets = model.input_outlets().map_err(err)?.to_vec();
        let mut inputs = Vec::with_capacity(outlets.len());
        for (i, outlet) in outlets.iter().enumerate() {
            let fact = model.input_fact(i).map_err(err)?;
            let dims = fact
                .shape
                .dims()
                .map(|d| {
                    d.concretize()
                        .and_then(|d| d.to_i64().ok())
                        .and_then(|d| usize::try_from(d).ok())
                })
                .collect();
            let dt = fact.datum_type.concretize();
            inputs.push(InputSpec {
                name: model.node(outlet.node).name.clone(),
                dims,
                dtype: dt.map_or_else(|| "unknown".to_owned(), |d| format!("{d:?}")),
                is_f32: dt == Some(f32::datum_type()),
                elem: dt.and_then(elem_of),
            });
        }
        let executor = if threads > 1 {
            Executor::multithread(threads)
        } else {
            Executor::SingleThread
        };
        Ok(TractModel {
            model: Some(model),
            plan: None,
            inputs,
            values: Vec::new(),
            executor,
        })
    }
}

impl LoadedModel for TractModel {
    fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }

    fn prepare_tensors(&mut self, inputs: Vec<HostTensor>) -> Result<(), EngineError> {
        let mut model = self
            .model
            .take()
            .ok_or_else(|| EngineError("model already prepared".into()))?;
        for (i, t) in inputs.iter().enumerate() {
            let fact = InferenceFact::dt_shape(datum_of(t.elem_type()), &t.shape);
            model.set_input_fact(i, fact).map_err(err)?;
        }
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        self.values = inputs.iter().map(to_tract).collect::<Result<_, _>>()?;
        self.plan = Some(plan);
        Ok(())
    }

    fn run(&mut self, collect: bool) -> Result<RunResult, EngineError> {
        let plan = self
            .plan
            .as_ref()
            .ok_or_else(|| EngineError("run before prepare".into()))?;
        let feeds: TVec<TValue> = self
            .values
            .iter()
            .map(|t| t.clone().into_tvalue())
            .collect();
        let start = Instant::now();
        let outputs =
            multithread_tract_scope(self.executor.clone(), || plan.run(feeds)).map_err(err)?;
        let dur = start.elapsed();
        let mut out = Vec::new();
        if collect {
            let names = plan.model().output_outlets().map_err(err)?;
            for (value, outlet) in outputs.iter().zip(names) {
                // The ONNX output's name (tract labels outlets with it);
                // the node name when there is no label.
                let name = plan.model().outlet_label(*outlet).map_or_else(
                    || plan.model().node(outlet.node).name.clone(),
                    str::to_owned,
                );
                out.push(Output::from_tensor_or_shape(
                    name,
                    from_tract(value),
                    value.shape().to_vec(),
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
