//! tract, the pure-Rust ONNX engine: no set-up, single-threaded except for
//! matrix products, which use a `threads`-wide pool when `threads > 1`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{EngineError, LoadedModel, Output, RunResult};
use crate::shapes::InputSpec;

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
    // tract's Debug form of an error carries the whole cause chain.
    EngineError(format!("{e:?}").replace('\n', "; "))
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

    fn prepare(&mut self, shapes: &[Vec<usize>], data: Vec<Vec<f32>>) -> Result<(), EngineError> {
        let mut model = self
            .model
            .take()
            .ok_or_else(|| EngineError("model already prepared".into()))?;
        for (i, shape) in shapes.iter().enumerate() {
            model
                .set_input_fact(i, f32::fact(shape).into())
                .map_err(err)?;
        }
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        self.values = shapes
            .iter()
            .zip(&data)
            .map(|(s, d)| Tensor::from_shape(s, d).map_err(err))
            .collect::<Result<_, _>>()?;
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
                let name = plan.model().node(outlet.node).name.clone();
                let data = value
                    .to_plain_array_view::<f32>()
                    .map(|a| a.iter().copied().collect())
                    .unwrap_or_default();
                out.push(Output {
                    name,
                    shape: value.shape().to_vec(),
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
