//! Attribution: which `infer` records of a session count as inferences, and
//! which models are a library's helper graphs rather than the page's model.
//!
//! Two rules (docs/analyzer.md "Attribution rules"):
//!
//! - **One call, one inference** ([`fold_layers`]): a record overlapping
//!   another record of the same session recorded at a higher layer is that
//!   call seen twice; the higher layer's record counts, the other is folded.
//! - **Helper graphs** ([`helper_models`]): a small model built in the page
//!   (`model_origin: "generated"`, or a buffer-created `onnx:<n>B` id), run
//!   next to a real model, is a helper; its rows are kept out of the
//!   headline tables and listed apart.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::session::{Infer, ModelLoad};

/// Largest model (bytes) that can be a helper graph: 16 KiB.
pub const HELPER_MAX_BYTES: f64 = 16.0 * 1024.0;

/// The rank of an `infer` record's layer, higher wins: `model` 3 ›
/// `handler` 2 › `ops` 1 › `wasm` 0. Without a `layer` field (traces of
/// older hooks) the layer follows from `api`: `tidy` → `ops`, `OrtRun` →
/// `wasm`, `SessionHandler.run` → `handler`, anything else → `model`.
pub fn layer_rank(inf: &Infer) -> u8 {
    let from_api = || match &*inf.api {
        "tidy" => 1,
        "OrtRun" => 0,
        "SessionHandler.run" => 2,
        _ => 3,
    };
    match inf.layer.as_deref() {
        Some("model") => 3,
        Some("handler") => 2,
        Some("ops") => 1,
        Some("wasm") => 0,
        _ => from_api(),
    }
}

/// Whether `a` and `b` may be the same library call: their windows
/// `[start, start + dur]` overlap (`a.start < b.end` and `b.start < a.end`,
/// or equal starts) and they do not carry different `ort_run` values (two
/// ORT runs with different handles or numbers are different runs).
pub fn same_call(a: &Infer, b: &Infer) -> bool {
    let overlap = (a.start < b.end() && b.start < a.end()) || a.start == b.start;
    let distinct_runs = matches!((&a.ort_run, &b.ort_run), (Some(x), Some(y)) if x != y);
    overlap && !distinct_runs
}

/// Which of a session's `infer` records count (`true`) and which are folded
/// into another layer's record of the same call (`false`), index for index.
///
/// Rule: record j is folded when some record i of the session has a higher
/// [`layer_rank`] and [`same_call`]`(i, j)` holds. The hooks already merge
/// layers within a realm (`merged`), so on their traces this folds nothing;
/// it guards traces where two layers or two copies of a runtime each wrote a
/// record (a `LayersModel.predict` and the `tf.tidy` it ran in; an
/// `InferenceSession.run` and its wasm `OrtRun`).
pub fn fold_layers(infers: &[Infer]) -> Vec<bool> {
    // sorted by start: only records starting before j's end can overlap it
    let mut order: Vec<usize> = (0..infers.len()).collect();
    order.sort_by(|&a, &b| infers[a].start.total_cmp(&infers[b].start));
    // prefix_end[k] = the latest end among order[..=k]: scanning back stops
    // once no earlier record can reach j's start
    let mut prefix_end = Vec::with_capacity(order.len());
    let mut latest = f64::NEG_INFINITY;
    for &i in &order {
        latest = latest.max(infers[i].end());
        prefix_end.push(latest);
    }
    let mut keep = vec![true; infers.len()];
    for (pos, &j) in order.iter().enumerate() {
        let b = &infers[j];
        let rank = layer_rank(b);
        let beats = |i: usize| layer_rank(&infers[i]) > rank && same_call(&infers[i], b);
        let before = (0..pos)
            .rev()
            .take_while(|&k| prefix_end[k] >= b.start)
            .map(|k| order[k]);
        let after = order[pos + 1..]
            .iter()
            .copied()
            .take_while(|&i| infers[i].start <= b.end());
        if before.chain(after).any(beats) {
            keep[j] = false;
        }
    }
    keep
}

/// The byte size of `model`: the `model_bytes` of one of its `infer`
/// records, else the `bytes` of its `model_load`, else `n` from an
/// `onnx:<n>B` id (the hooks' name for a buffer-created ORT session).
pub fn model_size(model: &str, infers: &[&Infer], loads: &[ModelLoad]) -> Option<f64> {
    infers
        .iter()
        .filter(|i| &*i.model == model)
        .find_map(|i| i.model_bytes)
        .or_else(|| {
            loads
                .iter()
                .filter(|l| &*l.model == model)
                .find_map(|l| l.bytes)
        })
        .or_else(|| {
            model
                .strip_prefix("onnx:")?
                .strip_suffix('B')?
                .parse::<f64>()
                .ok()
        })
}

/// Whether `model` is a helper candidate on its own: its size
/// ([`model_size`]) is at most [`HELPER_MAX_BYTES`] and it was built in the
/// page: `model_origin: "generated"` on one of its records, or (no origin
/// recorded) an `onnx:<n>B` id, i.e. a buffer no fetched resource matched.
pub fn helper_candidate(model: &str, infers: &[&Infer], loads: &[ModelLoad]) -> bool {
    let origins: Vec<&str> = infers
        .iter()
        .filter(|i| &*i.model == model)
        .filter_map(|i| i.model_origin.as_deref())
        .chain(
            loads
                .iter()
                .filter(|l| &*l.model == model)
                .filter_map(|l| l.model_origin.as_deref()),
        )
        .collect();
    let built_in_page = if origins.is_empty() {
        model.starts_with("onnx:")
    } else {
        origins.contains(&"generated")
    };
    built_in_page && model_size(model, infers, loads).is_some_and(|b| b <= HELPER_MAX_BYTES)
}

/// The session's helper graphs: the models of `infers` that are
/// [`helper_candidate`]s, provided the session ran at least one model that
/// is not (a page whose only model is a small generated graph is measuring
/// that graph: it is the page's model, not a helper).
pub fn helper_models(infers: &[&Infer], loads: &[ModelLoad]) -> BTreeSet<Arc<str>> {
    let models: BTreeSet<Arc<str>> = infers.iter().map(|i| i.model.clone()).collect();
    let helpers: BTreeSet<Arc<str>> = models
        .iter()
        .filter(|m| helper_candidate(m, infers, loads))
        .cloned()
        .collect();
    if helpers.len() == models.len() {
        BTreeSet::new()
    } else {
        helpers
    }
}
