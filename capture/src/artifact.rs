//! Which URLs are model artifacts (hashed while streaming, saved with
//! `--save-models`), decided from the URL path alone.
//!
//! Rules: a path ending in `.onnx`, `.ort`, `.tflite` or `.bin`; a file named
//! `model.json`; a `.json` file with `model` anywhere in its path; a file whose
//! name contains `shard`.

/// The file extension (with dot) to save an artifact under, or `None` when the
/// path is not a model artifact.
pub fn artifact_extension(path: &str) -> Option<&'static str> {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let file = path.rsplit('/').next().unwrap_or("");
    for ext in [".onnx", ".ort", ".tflite", ".bin"] {
        if file.ends_with(ext) && file.len() > ext.len() {
            return Some(ext);
        }
    }
    if file.ends_with(".json") && (file == "model.json" || path.contains("model")) {
        return Some(".json");
    }
    if file.contains("shard") {
        return Some(".bin");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::artifact_extension as ext;

    #[test]
    fn url_rules() {
        assert_eq!(ext("/m/yolo.onnx"), Some(".onnx"));
        assert_eq!(ext("/m/yolo.ORT?v=2"), Some(".ort"));
        assert_eq!(ext("/x.tflite"), Some(".tflite"));
        assert_eq!(ext("/models/blazeface.json"), Some(".json"));
        assert_eq!(ext("/a/model.json"), Some(".json"));
        assert_eq!(ext("/a/group1-shard1of2"), Some(".bin"));
        assert_eq!(ext("/a/weights.bin"), Some(".bin"));
        assert_eq!(ext("/api/config.json"), None);
        assert_eq!(ext("/index.html"), None);
        assert_eq!(ext("/"), None);
        assert_eq!(ext("/.onnx"), None);
    }
}
