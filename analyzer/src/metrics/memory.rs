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

/// When the page starts loading models: the earliest `model_load.start`
/// (loads found in memory after a first call, `model_origin: "memory"`, left
/// out), else the earliest `infer.start` (libraries that load without a
/// hooked load call, e.g. nsfwjs's bundled TF.js), else `None`.
pub fn first_model_start(loads: &[ModelLoad], infers: &[crate::session::Infer]) -> Option<f64> {
    loads
        .iter()
        .filter(|l| !super::latency::is_memory(l))
        .map(|l| l.start)
        .reduce(f64::min)
        .or_else(|| infers.iter().map(|i| i.start).reduce(f64::min))
}

/// Growth of one series from before `t0` to its peak: with s(t) the value
/// of the series at sample t (samples without it skipped), baseline b = s of
/// the last sample with `ts ≤ t0` (the first sample if none is that early),
/// growth = max(s(t) over samples with `ts ≥` b's `ts`) − b. `None` without
/// samples. Can be negative only if every later value is below the
/// baseline.
pub fn growth_after(samples: &[(f64, f64)], t0: f64) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = samples.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let base_at = sorted.iter().rposition(|s| s.0 <= t0).unwrap_or(0);
    let base = sorted.get(base_at)?.1;
    let peak = sorted[base_at..].iter().map(|s| s.1).reduce(f64::max)?;
    Some(peak - base)
}

/// The page's own bytes at each page sample: js_heap_used + wasm_bytes +
/// tf_gpu_bytes, each source carried forward from its latest sample (a
/// source never sampled so far counts 0). Only samples carrying at least one
/// of the three are points. `tf_bytes` is left out: TF.js tensors live in
/// the JS heap (cpu backend), in wasm memory (wasm backend) or on the GPU
/// (webgl/webgpu, `tf_gpu_bytes`), so adding it would count them twice.
pub fn page_bytes_series(samples: &[MemSample]) -> Vec<(f64, f64)> {
    let (mut js, mut wasm, mut gpu) = (None::<f64>, None::<f64>, None::<f64>);
    let mut out = Vec::new();
    for s in samples {
        let b = &s.bytes;
        if b.js_heap_used.is_none() && b.wasm_bytes.is_none() && b.tf_gpu_bytes.is_none() {
            continue;
        }
        js = b.js_heap_used.or(js);
        wasm = b.wasm_bytes.or(wasm);
        gpu = b.tf_gpu_bytes.or(gpu);
        out.push((
            s.ts,
            js.unwrap_or(0.0) + wasm.unwrap_or(0.0) + gpu.unwrap_or(0.0),
        ));
    }
    out
}

/// Memory attributable to inference (bytes) = [`growth_after`] of
/// [`page_bytes_series`] (js_heap_used + wasm_bytes + tf_gpu_bytes) from
/// the last sample at or before `t0` ([`first_model_start`]) to the peak.
pub fn inference_growth(samples: &[MemSample], t0: f64) -> Option<f64> {
    growth_after(&page_bytes_series(samples), t0)
}

/// The page renderer's RSS growth (bytes) = [`growth_after`] of the
/// `renderer_rss` samples from `t0` to the peak; `None` when the trace has
/// no `renderer_rss`.
pub fn renderer_rss_growth(samples: &[MemSample], t0: f64) -> Option<f64> {
    let s: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|m| Some((m.ts, m.renderer_rss?)))
        .collect();
    growth_after(&s, t0)
}

/// Whole-browser RSS growth (bytes), context only (every process of the
/// browser, other tabs and the GPU process included) = [`growth_after`] of
/// the `rss` samples from `t0` to the peak.
pub fn browser_rss_growth(samples: &[MemSample], t0: f64) -> Option<f64> {
    let s: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|m| Some((m.ts, m.bytes.rss?)))
        .collect();
    growth_after(&s, t0)
}
