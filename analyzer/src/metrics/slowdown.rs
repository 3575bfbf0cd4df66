//! Slowdown ×native: browser prediction p50 over native p50 of the same
//! model bytes.

/// What identifies a model across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelKey {
    /// `sha256` of the entry artifact from `model_load`, when known.
    pub sha256: Option<String>,
    /// The `model` id (URL or name).
    pub model: String,
}

/// The last path segment of a model id ("https://x/a/model.onnx" → "model.onnx").
fn base_name(model: &str) -> &str {
    let m = model.split(['?', '#']).next().unwrap_or(model);
    m.rsplit(['/', '\\']).next().unwrap_or(m)
}

/// Native p50 to compare against: among the native `(key, p50)` pairs, those
/// whose `sha256` equals the browser model's; if none, those with the same
/// `model` id; if none, the same last path segment of the id. The result is
/// the median of the matched native p50 values and how they matched
/// ("sha256", "model", "name"). `None` without a match.
pub fn native_p50(browser: &ModelKey, natives: &[(ModelKey, f64)]) -> Option<(f64, &'static str)> {
    let by_sha: Vec<f64> = match &browser.sha256 {
        Some(h) => natives
            .iter()
            .filter(|(k, _)| k.sha256.as_ref() == Some(h))
            .map(|x| x.1)
            .collect(),
        None => Vec::new(),
    };
    let (vals, how) = if !by_sha.is_empty() {
        (by_sha, "sha256")
    } else {
        let by_model: Vec<f64> = natives
            .iter()
            .filter(|(k, _)| k.model == browser.model)
            .map(|x| x.1)
            .collect();
        if !by_model.is_empty() {
            (by_model, "model")
        } else {
            let name = base_name(&browser.model);
            (
                natives
                    .iter()
                    .filter(|(k, _)| base_name(&k.model) == name)
                    .map(|x| x.1)
                    .collect(),
                "name",
            )
        }
    };
    crate::stats::percentile(&vals, 0.5).map(|p| (p, how))
}

/// Slowdown ×native = browser prediction p50 / native prediction p50
/// (> 1 means the browser is slower). `None` unless the native p50 is > 0.
pub fn slowdown(browser_p50: f64, native_p50: f64) -> Option<f64> {
    (native_p50 > 0.0).then(|| browser_p50 / native_p50)
}
