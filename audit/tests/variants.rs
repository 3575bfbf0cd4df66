//! Each audit variant really changes what the page can use, in both browsers:
//! a probe page (served by the test site through the real proxy) validates a
//! wasm SIMD module, reads `crossOriginIsolated` and `typeof
//! SharedArrayBuffer`, and asks for a WebGL context, then posts what it found.
//! (Firefox has no `no-simd`: it is refused, see `webinfer_audit::variant`.)

mod common_audit;

use std::time::Duration;

use common_audit::BROWSER;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webinfer_audit::site::{SiteServer, DEMO_HOST};
use webinfer_audit::AuditOptions;
use webinfer_proxy::ProxyOptions;

const PROBE: &str = r#"<!doctype html><meta charset="utf-8"><title>probe</title><script>
var simd = new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,22,1,20,0,253,12,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,11]);
var r = { simd: WebAssembly.validate(simd), sab: typeof SharedArrayBuffer, coi: !!self.crossOriginIsolated,
  webgl: !!document.createElement('canvas').getContext('webgl'),
  webgl2: !!document.createElement('canvas').getContext('webgl2') };
fetch('/__results__/' + new URLSearchParams(location.search).get('name'), { method: 'POST', body: JSON.stringify(r) });
</script>"#;

/// Audits the probe page with one variant and returns what the page saw.
async fn probe(site: &SiteServer, browser: &str, variant: &str) -> Value {
    let name = format!("{browser}-{variant}");
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let proxy = common_audit::site_proxy(site, traces.path(), ca.path());
    let mut o = AuditOptions::new(proxy);
    o.urls = vec![site.url_for_host(DEMO_HOST, &format!("/probe.html?name={name}"))];
    o.browser = browser.into();
    o.variants = vec![variant.into()];
    o.duration = Duration::from_secs(8);
    o.label = Some("probe".into());
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    assert_eq!(report.runs[0].variant, variant);
    let body = site
        .result(&name)
        .unwrap_or_else(|| panic!("{name}: the probe posted nothing"));
    serde_json::from_slice(&body).unwrap()
}

/// `has_webgl`: whether the browser has WebGL at all here. Headless Firefox
/// ESR finds no usable GL driver on a display-less machine
/// (`FEATURE_FAILURE_WEBGL_EXHAUSTED_DRIVERS`, even with
/// `webgl.force-enabled`), so there `no-gpu` can only be checked to keep
/// WebGL off; headless Chromium has WebGL through SwiftShader.
async fn check_browser(browser: &str, has_webgl: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probe.html"), PROBE).unwrap();
    let site = SiteServer::builder()
        .mount("/", dir.path())
        .coop_coep(true)
        .start()
        .await
        .unwrap();

    let d = probe(&site, browser, "default").await;
    assert_eq!(d["simd"], true, "{browser} default: {d}");
    assert_eq!(d["coi"], true, "{browser} default: {d}");
    assert_eq!(d["sab"], "function", "{browser} default: {d}");
    if has_webgl {
        assert_eq!(d["webgl"], true, "{browser} default: {d}");
    }

    if browser == "chromium" {
        let s = probe(&site, browser, "no-simd").await;
        assert_eq!(s["simd"], false, "{browser} no-simd: {s}");
        assert_eq!(s["coi"], true, "{browser} no-simd: {s}");
    }

    let t = probe(&site, browser, "no-threads").await;
    assert_eq!(t["coi"], false, "{browser} no-threads: {t}");
    assert_eq!(t["sab"], "undefined", "{browser} no-threads: {t}");
    assert_eq!(t["simd"], true, "{browser} no-threads: {t}");

    let g = probe(&site, browser, "no-gpu").await;
    assert_eq!(g["webgl"], false, "{browser} no-gpu: {g}");
    assert_eq!(g["webgl2"], false, "{browser} no-gpu: {g}");
    assert_eq!(g["simd"], true, "{browser} no-gpu: {g}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_variants_change_capabilities() {
    let _one = BROWSER.lock().await;
    check_browser("chromium", true).await;
}

#[tokio::test]
async fn firefox_refuses_no_simd_clearly() {
    let ca = tempfile::tempdir().unwrap();
    let proxy = ProxyOptions {
        ca_dir: Some(ca.path().to_path_buf()),
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    o.browser = "firefox".into();
    o.variants = vec!["default".into(), "no-simd".into()];
    let e = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-simd") && e.contains("Firefox"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_variants_change_capabilities() {
    let _one = BROWSER.lock().await;
    check_browser("firefox", false).await;
}

/// A URL whose response the hooks never run in (plain text) ends the run
/// after `page_wait`, not `--duration`, and says what the proxy saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_sends_no_record_ends_the_run_and_says_so() {
    let _one = BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.txt"), "no html here\n").unwrap();
    let site = SiteServer::builder()
        .mount("/", dir.path())
        .start()
        .await
        .unwrap();
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let proxy = common_audit::site_proxy(&site, traces.path(), ca.path());
    let mut o = AuditOptions::new(proxy);
    o.urls = vec![site.url_for_host(DEMO_HOST, "/plain.txt")];
    o.duration = Duration::from_secs(120);
    o.page_wait = Duration::from_secs(4);
    o.label = Some("nopage".into());
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    let run = &report.runs[0];
    assert!(
        matches!(run.stop, webinfer_audit::StopReason::NoPage(_)),
        "{run:#?}"
    );
    assert!(run.elapsed < Duration::from_secs(60), "{run:#?}");
    assert!(run.page_sessions.is_empty(), "{run:#?}");
    assert!(
        run.forwarded.get(DEMO_HOST).copied().unwrap_or(0) >= 1,
        "{run:#?}"
    );
    assert!(
        run.proxy.forwarded >= 1 && run.failed.is_empty(),
        "{run:#?}"
    );
    assert_eq!(site.requests("/plain.txt"), 1);
    assert!(run.stop.to_string().contains("no page session"));
}
