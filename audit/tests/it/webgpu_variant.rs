//! `--variant webgpu`: Chromium gets `--enable-unsafe-webgpu` and, headless, Dawn's SwiftShader
//! adapter; the default variant has no WebGPU adapter. Firefox refuses the variant clearly. A
//! probe page asks `navigator.gpu.requestAdapter()` and posts what it got; the hook's own view of
//! the adapter (`env.adapter`) is checked by `frameworks_e2e.rs` on real WebGPU pages.

use crate::common_audit;

use common_audit::{audit_error, serve_files, BROWSER};
use serde_json::Value;
use webinfer_audit::site::SiteServer;

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
    common_audit::probe(site, "chromium", variant, &name, "gpu-probe").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_webgpu_variant_gives_an_adapter() {
    let _one = BROWSER.lock().await;
    let (_dir, site) = serve_files(&[("probe.html", PROBE.as_bytes())], |b| b).await;
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
    let e = audit_error(|o| {
        o.browser = "firefox".into();
        o.variants = vec!["webgpu".into()];
    })
    .await;
    assert!(e.contains("webgpu") && e.contains("Firefox"), "{e}");
}
