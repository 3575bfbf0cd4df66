//! Memory: peak of each source and the overhead over the model size.

use crate::session::{MemSample, ModelLoad};

/// The largest value seen of each `mem` source (bytes); `None` if never sampled.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Peaks {
    pub js_heap_used: Option<f64>,
    pub wasm_bytes: Option<f64>,
    pub tf_bytes: Option<f64>,
    pub tf_gpu_bytes: Option<f64>,
    pub ua_bytes: Option<f64>,
    pub rss: Option<f64>,
}

impl Peaks {
    /// The largest of the peaks.
    pub fn max(&self) -> Option<f64> {
        [
            self.js_heap_used,
            self.wasm_bytes,
            self.tf_bytes,
            self.tf_gpu_bytes,
            self.ua_bytes,
            self.rss,
        ]
        .into_iter()
        .flatten()
        .reduce(f64::max)
    }
}

/// Peak of each source = max over the session's `mem` samples of that field.
pub fn peaks(samples: &[MemSample]) -> Peaks {
    fn mx(a: Option<f64>, b: Option<f64>) -> Option<f64> {
        match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, None) => x,
            (None, y) => y,
        }
    }
    samples.iter().fold(Peaks::default(), |p, s| Peaks {
        js_heap_used: mx(p.js_heap_used, s.js_heap_used),
        wasm_bytes: mx(p.wasm_bytes, s.wasm_bytes),
        tf_bytes: mx(p.tf_bytes, s.tf_bytes),
        tf_gpu_bytes: mx(p.tf_gpu_bytes, s.tf_gpu_bytes),
        ua_bytes: mx(p.ua_bytes, s.ua_bytes),
        rss: mx(p.rss, s.rss),
    })
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
