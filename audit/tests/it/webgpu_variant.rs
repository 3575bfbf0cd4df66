//! `--variant webgpu`: Chromium gets `--enable-unsafe-webgpu` and, headless, Dawn's SwiftShader
//! adapter; the default variant has no WebGPU adapter. Firefox refuses the variant clearly. A
//! probe page asks `navigator.gpu.requestAdapter()` and posts what it got; the hook's own view of
//! the adapter (`env.adapter`) is checked by `frameworks_e2e.rs` on real WebGPU pages.

use crate::common_audit;

use std::time::Duration;

use common_audit::BROWSER;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webinfer_audit::site::{SiteServer, DEMO_HOST};
use webinfer_audit::AuditOptions;
use webinfer_proxy::ProxyOptions;

const PROBE: &str = r#"<!doctype html><meta charset="utf-8"><title>gpu probe</title><script>
(async function () {
  var r = { gpu: typeof navigator.gpu, adapter: null };
  try {
    var a = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
    if (a) r.adapter = { vendor: a.info.vendor, architecture: a.info.architecture, fallback: a.info.isFallbackAdapter };
  } catch (e) { r.error = String(e); }
  fetch('/__results__/' + new URLSearchParams(location.search).get('name'), { method: 'POST', body: JSON.stringify(r) });
})();
</script>"#;

async fn probe(site: &SiteServer, variant: &str) -> Value {
    let name = format!("gpu-{variant}");
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let mut o = common_audit::site_audit(site, traces.path(), ca.path());
    o.urls = vec![site.url_for_host(DEMO_HOST, &format!("/probe.html?name={name}"))];
    o.browser = "chromium".into();
    o.variants = vec![variant.into()];
    o.duration = Duration::from_secs(8);
    o.label = Some("gpu-probe".into());
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    assert_eq!(report.runs[0].variant, variant);
    let body = site
        .result(&name)
        .unwrap_or_else(|| panic!("{name}: the probe posted nothing"));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_webgpu_variant_gives_an_adapter() {
    let _one = BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probe.html"), PROBE).unwrap();
    let site = SiteServer::builder()
        .mount("/", dir.path())
        .start()
        .await
        .unwrap();
    let d = probe(&site, "default").await;
    assert!(d["adapter"].is_null(), "default: no WebGPU adapter: {d}");
    let w = probe(&site, "webgpu").await;
    let a = &w["adapter"];
    assert!(a.is_object(), "webgpu: an adapter: {w}");
    assert_eq!(
        a["fallback"], true,
        "webgpu: SwiftShader is a fallback adapter: {w}"
    );
    assert_eq!(a["architecture"], "swiftshader", "{w}");
}

#[tokio::test]
async fn firefox_refuses_the_webgpu_variant_clearly() {
    let ca = tempfile::tempdir().unwrap();
    let proxy = ProxyOptions {
        ca_dir: Some(ca.path().to_path_buf()),
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    o.browser = "firefox".into();
    o.variants = vec!["webgpu".into()];
    let e = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("webgpu") && e.contains("Firefox"), "{e}");
}
