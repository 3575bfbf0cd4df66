//! Responsiveness: main-thread probe delays inside vs outside inference,
//! input delay and interaction duration (INP-like).

use std::collections::HashMap;

use super::windows::Windows;
use crate::session::{Input, Probe};
use crate::stats::percentile;

/// Probe delay percentiles inside vs outside inference (ms).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProbeSplit {
    pub n_inside: usize,
    pub n_outside: usize,
    pub p50_inside: Option<f64>,
    pub p95_inside: Option<f64>,
    pub p50_outside: Option<f64>,
    pub p95_outside: Option<f64>,
}

/// Splits probes: a probe is *inside* when its wait `[start, start + delay]`
/// overlaps an inference window ([`Windows::overlaps`]); then p50 and p95 of
/// `delay` on each side.
pub fn probe_split(probes: &[Probe], windows: &Windows) -> ProbeSplit {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for p in probes {
        if windows.overlaps(p.start, p.start + p.delay) {
            inside.push(p.delay);
        } else {
            outside.push(p.delay);
        }
    }
    ProbeSplit {
        n_inside: inside.len(),
        n_outside: outside.len(),
        p50_inside: percentile(&inside, 0.5),
        p95_inside: percentile(&inside, 0.95),
        p50_outside: percentile(&outside, 0.5),
        p95_outside: percentile(&outside, 0.95),
    }
}

/// The probe delays inside and outside inference (for CDF charts).
pub fn probe_delays(probes: &[Probe], windows: &Windows) -> (Vec<f64>, Vec<f64>) {
    let (a, b): (Vec<&Probe>, Vec<&Probe>) = probes
        .iter()
        .partition(|p| windows.overlaps(p.start, p.start + p.delay));
    (
        a.iter().map(|p| p.delay).collect(),
        b.iter().map(|p| p.delay).collect(),
    )
}

/// Input delay p95 (ms) = 95th percentile of `processing_start − start` over
/// all `input` records.
pub fn input_delay_p95(inputs: &[Input]) -> Option<f64> {
    let d: Vec<f64> = inputs
        .iter()
        .map(|i| i.processing_start - i.start)
        .collect();
    percentile(&d, 0.95)
}

/// Input delay p95 (ms) inside and outside inference: an input is *inside*
/// when its wait `[start, processing_start]` overlaps an inference window
/// ([`Windows::overlaps`]); then the 95th percentile of
/// `processing_start − start` on each side, as (inside, outside).
pub fn input_delay_p95_split(inputs: &[Input], windows: &Windows) -> (Option<f64>, Option<f64>) {
    let (inside, outside): (Vec<&Input>, Vec<&Input>) = inputs
        .iter()
        .partition(|i| windows.overlaps(i.start, i.processing_start));
    let p95 = |v: &[&Input]| {
        let d: Vec<f64> = v.iter().map(|i| i.processing_start - i.start).collect();
        percentile(&d, 0.95)
    };
    (p95(&inside), p95(&outside))
}

/// Interaction duration p98 (ms, INP-like): for every `interaction_id` > 0
/// take the largest `dur` of its entries, then the 98th percentile of those.
pub fn interaction_p98(inputs: &[Input]) -> Option<f64> {
    let mut by_id: HashMap<u64, f64> = HashMap::new();
    for i in inputs {
        if let Some(id) = i.interaction_id.filter(|&id| id > 0) {
            let e = by_id.entry(id).or_insert(i.dur);
            *e = e.max(i.dur);
        }
    }
    let v: Vec<f64> = by_id.into_values().collect();
    percentile(&v, 0.98)
}
