//! Model artifacts through the real proxy with the capture layer: hashed
//! while streaming (the `net` record's `sha256`), saved with `--save-models`
//! as `<sha256><ext>`, and a body cut short leaves no file and no digest.

use sha2::{Digest, Sha256};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_artifacts_are_hashed_while_streaming_and_saved() {
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().to_path_buf();
    let h = Harness::start(move |c| c.save_models = Some(dir)).await;
    let proxy_file = h.sink.session_dir().join("_proxy.jsonl");
    let net_of = |lines: &[serde_json::Value], path: &str| {
        lines
            .iter()
            .find(|r| r["kind"] == "net" && r["url"] == h.url(path))
            .cloned()
    };

    let (status, _, body) = h.get("/models/m.onnx", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, binary(100 << 10), "the body passes through unchanged");
    let sha = hex::encode(Sha256::digest(&body));
    let lines = wait_lines(&proxy_file, |l| net_of(l, "/models/m.onnx").is_some()).await;
    let net = net_of(&lines, "/models/m.onnx").unwrap();
    assert_eq!(net["sha256"], sha.as_str(), "{net}");
    assert_eq!(net["bytes"], 100 << 10, "{net}");
    let saved = models.path().join(format!("{sha}.onnx"));
    let bytes = std::fs::read(&saved).expect("saved artifact");
    assert_eq!(hex::encode(Sha256::digest(&bytes)), sha);

    // A non-artifact is not hashed.
    let (status, _, _) = h.get("/bin", &[]).await;
    assert_eq!(status, 200);
    let lines = wait_lines(&proxy_file, |l| net_of(l, "/bin").is_some()).await;
    let net = net_of(&lines, "/bin").unwrap();
    assert!(net.get("sha256").is_none(), "{net}");

    // A body cut short leaves no file behind and carries no digest.
    let cut = h.get_result("/cut/broken.onnx", &[]).await;
    assert!(cut.is_err(), "the client sees the cut: {cut:?}");
    let lines = wait_lines(&proxy_file, |l| net_of(l, "/cut/broken.onnx").is_some()).await;
    let net = net_of(&lines, "/cut/broken.onnx").unwrap();
    assert!(net["error"].is_string(), "a cut body is reported: {net}");
    assert!(net.get("sha256").is_none(), "{net}");
    let files: Vec<_> = std::fs::read_dir(models.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(files, vec![format!("{sha}.onnx")]);
}
