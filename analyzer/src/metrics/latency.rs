//! Latency per session × model × backend: setup, warm-up, prediction
//! percentiles and throughput.

use crate::session::{Infer, ModelLoad};
use crate::stats;

/// Prediction latency summary over the later calls (`call > 1`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prediction {
    /// Number of later calls.
    pub n: usize,
    /// Median `dur` (ms).
    pub p50: Option<f64>,
    /// 90th percentile `dur`.
    pub p90: Option<f64>,
    /// 99th percentile `dur`.
    pub p99: Option<f64>,
    /// Mean `dur`.
    pub mean: Option<f64>,
    /// Sample standard deviation of `dur` (n − 1).
    pub std: Option<f64>,
}

/// Setup time (ms) = `dur` of the earliest `model_load` (by `start`) of the
/// model: download + parse + session creation. Loads with `model_origin:
/// "memory"` are left out: the hook saw the model only after its first call
/// and timed the serialization, not the load. `None` without a load.
pub fn setup_ms(loads: &[&ModelLoad]) -> Option<f64> {
    loads
        .iter()
        .filter(|l| !is_memory(l))
        .min_by(|a, b| a.start.total_cmp(&b.start))
        .map(|l| l.dur)
}

/// A `model_load` the hook wrote for a model it found in memory after its
/// first call (`model_origin: "memory"`): its `start`/`dur` are not a load.
pub fn is_memory(l: &ModelLoad) -> bool {
    l.model_origin.as_deref() == Some("memory")
}

/// Warm-up time (ms) = `dur` of the inference with `call == 1` (the earliest
/// one by `start` if the model was loaded again). `None` if the first call
/// is not among `infers`.
pub fn warmup_ms(infers: &[&Infer]) -> Option<f64> {
    infers
        .iter()
        .filter(|i| i.call == 1)
        .min_by(|a, b| a.start.total_cmp(&b.start))
        .map(|i| i.dur)
}

/// Prediction latency over the later calls (`call > 1`): p50, p90, p99 (see
/// [`stats::percentile`]), mean and sample standard deviation of `dur`.
pub fn prediction(infers: &[&Infer]) -> Prediction {
    let d: Vec<f64> = infers
        .iter()
        .filter(|i| i.call > 1)
        .map(|i| i.dur)
        .collect();
    let mut sorted = d.clone();
    sorted.sort_by(f64::total_cmp);
    Prediction {
        n: d.len(),
        p50: stats::percentile_sorted(&sorted, 0.50),
        p90: stats::percentile_sorted(&sorted, 0.90),
        p99: stats::percentile_sorted(&sorted, 0.99),
        mean: stats::mean(&d),
        std: stats::std_dev(&d),
    }
}

/// Throughput (inferences/s) over the later calls (`call > 1`):
/// n / ((max(start + dur) − min(start)) / 1000), the number of later calls
/// divided by the time from the first one's start to the last one's end.
/// `None` when there is no later call or that span is not positive.
pub fn inferences_per_s(infers: &[&Infer]) -> Option<f64> {
    let later = infers.iter().filter(|i| i.call > 1);
    let (mut n, mut first, mut last) = (0usize, f64::INFINITY, f64::NEG_INFINITY);
    for i in later {
        n += 1;
        first = first.min(i.start);
        last = last.max(i.end());
    }
    (n > 0 && last > first).then(|| n as f64 / ((last - first) / 1000.0))
}
