//! Recognises TF.js graph models (`model.json` + binary weight shards), which
//! `webinfer native` cannot run yet (see `docs/native.md`).

use std::path::Path;

/// Whether the file looks like a TF.js model: its name ends in `.json`, or
/// its bytes start (after whitespace) with `{` and mention `modelTopology`
/// or `weightsManifest` near the start.
pub fn is_tfjs_model(path: &Path, bytes: &[u8]) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return true;
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| head[i] == b'{')
        && [&b"modelTopology"[..], b"weightsManifest"]
            .iter()
            .any(|k| head.windows(k.len()).any(|w| w == *k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_model_json() {
        assert!(is_tfjs_model(Path::new("m/model.json"), b"{}"));
        assert!(is_tfjs_model(
            Path::new("m/blob"),
            b" {\"format\":\"graph-model\",\"modelTopology\":{}}"
        ));
        assert!(!is_tfjs_model(
            Path::new("m/tiny.onnx"),
            b"\x08\x08\x12\x0e"
        ));
    }
}
