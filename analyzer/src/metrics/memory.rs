//! Memory: peak of each source and the overhead over the model size.

use crate::session::{MemBytes, MemSample, ModelLoad};

/// The largest value seen of each `mem` source (bytes); `None` if never
/// sampled. [`MemBytes::max`] is the largest of the peaks.
pub type Peaks = MemBytes;

/// Peak of each source = max over the session's `mem` samples of that field.
pub fn peaks(samples: &[MemSample]) -> Peaks {
    samples
        .iter()
        .fold(Peaks::default(), |p, s| p.max_with(&s.bytes))
}

/// Model bytes = Σ `bytes` over the session's `model_load` records. `None`
/// when no load carries `bytes` or the sum is 0.
pub fn model_bytes(loads: &[ModelLoad]) -> Option<f64> {
    let s: f64 = loads.iter().filter_map(|l| l.bytes).sum();
    (s > 0.0).then_some(s)
}

/// Memory overhead (×) = peak / model bytes. `None` if either is unknown.
pub fn overhead(peak: Option<f64>, model_bytes: Option<f64>) -> Option<f64> {
    match (peak, model_bytes) {
        (Some(p), Some(m)) if m > 0.0 => Some(p / m),
        _ => None,
    }
}
