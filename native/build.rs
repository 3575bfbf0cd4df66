//! Records the tract-onnx version from the workspace's Cargo.lock so traces
//! can name the engine version (`session.engine_version`).

fn main() {
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut version = "unknown".to_owned();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"tract-onnx\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                version = v.trim_matches('"').to_owned();
            }
            break;
        }
    }
    println!("cargo:rustc-env=WEBINFER_TRACT_VERSION={version}");
}
