//! Each audit variant really changes what the page can use, in both browsers:
//! a probe page (served by the test site through the real proxy) validates a
//! wasm SIMD module, reads `crossOriginIsolated` and `typeof
//! SharedArrayBuffer`, and asks for a WebGL context, then posts what it found.
//! (Firefox has no `no-simd`: it is refused, see `webinfer_audit::variant`.)

use crate::common_audit;

use std::time::Duration;

use common_audit::{audit_error, serve_files, BROWSER};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webinfer_audit::site::{SiteServer, DEMO_HOST};

const PROBE: &str = r#"<!doctype html><meta charset="utf-8"><title>probe</title><script>
var simd = new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,22,1,20,0,253,12,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,11]);
var r = { simd: WebAssembly.validate(simd), sab: typeof SharedArrayBuffer, coi: !!self.crossOriginIsolated,
  webgl: !!document.createElement('canvas').getContext('webgl'),
  webgl2: !!document.createElement('canvas').getContext('webgl2') };
fetch('/__results__/' + new URLSearchParams(location.search).get('name'), { method: 'POST', body: JSON.stringify(r) });
</script>"#;

/// The probe page, served cross-origin isolated (COOP/COEP).
async fn probe_site() -> (tempfile::TempDir, SiteServer) {
    serve_files(&[("probe.html", PROBE.as_bytes())], |b| b.coop_coep(true)).await
}

/// Audits the probe page in `browser` with one variant and returns what the page saw.
async fn probe(site: &SiteServer, browser: &str, variant: &str) -> Value {
    let name = format!("{browser}-{variant}");
    common_audit::probe(site, browser, variant, &name, "probe").await
}

/// `has_webgl`: whether the browser has WebGL at all here. Headless Firefox
/// ESR finds no usable GL driver on a display-less machine
/// (`FEATURE_FAILURE_WEBGL_EXHAUSTED_DRIVERS`, even with
/// `webgl.force-enabled`), so there `no-gpu` can only be checked to keep
/// WebGL off; headless Chromium has WebGL through SwiftShader.
async fn check_browser(browser: &str, has_webgl: bool) {
    let (_dir, site) = probe_site().await;

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
    let e = audit_error(|o| {
        o.browser = "firefox".into();
        o.variants = vec!["default".into(), "no-simd".into()];
    })
    .await;
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
    let (_dir, site) = serve_files(&[("plain.txt", b"no html here\n".as_slice())], |b| b).await;
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let mut o = common_audit::site_audit(&site, traces.path(), ca.path());
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

/// `--shard K/N` (`webinfer_audit::shard`): two shards of one audit (2 URLs × 2 variants)
/// run side by side into one shared traces folder. Together they do every run of the
/// unsharded plan exactly once, each in its own `shard-K-of-2/<label>/` folder (no file
/// written by both), with distinct session ids and the one label given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_run_every_run_of_the_audit_once() {
    use std::collections::BTreeSet;
    use webinfer_audit::shard::Shard;
    let _one = BROWSER.lock().await;
    let (_dir, site) = probe_site().await;
    let traces = tempfile::tempdir().unwrap();
    let urls: Vec<String> = ["shard-a", "shard-b"]
        .iter()
        .map(|n| site.url_for_host(DEMO_HOST, &format!("/probe.html?name={n}")))
        .collect();
    let cas = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let opts = |k: u32, label: Option<&str>| {
        let mut o = common_audit::site_audit(&site, traces.path(), cas[k as usize - 1].path());
        o.urls = urls.clone();
        o.variants = vec!["default".into(), "no-threads".into()];
        o.duration = Duration::from_secs(3);
        o.label = label.map(str::to_owned);
        o.shard = Some(Shard { k, n: 2 });
        o
    };
    let e = webinfer_audit::audit(opts(1, None), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("needs --label"), "{e}");

    let (a, b) = tokio::join!(
        webinfer_audit::audit(opts(1, Some("sharded")), CancellationToken::new()),
        webinfer_audit::audit(opts(2, Some("sharded")), CancellationToken::new()),
    );
    let (a, b) = (a.expect("shard 1"), b.expect("shard 2"));
    let set = |r: &webinfer_audit::AuditReport| -> BTreeSet<(String, String, u32)> {
        r.runs
            .iter()
            .map(|x| (x.url.clone(), x.variant.clone(), x.repeat))
            .collect()
    };
    let (sa, sb) = (set(&a), set(&b));
    assert_eq!(sa.len(), 2, "{sa:?}");
    assert!(sa.is_disjoint(&sb), "{sa:?} {sb:?}");
    let all: BTreeSet<(String, String, u32)> = urls
        .iter()
        .flat_map(|u| {
            ["default", "no-threads"]
                .into_iter()
                .map(move |v| (u.clone(), v.to_owned(), 1))
        })
        .collect();
    assert_eq!(sa.union(&sb).cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(a.trace_dir, traces.path().join("shard-1-of-2/sharded"));
    assert_eq!(b.trace_dir, traces.path().join("shard-2-of-2/sharded"));
    let mut files = BTreeSet::new();
    let mut sids = BTreeSet::new();
    for (r, dir) in [(&a, &a.trace_dir), (&b, &b.trace_dir)] {
        for run in &r.runs {
            assert_eq!(run.label, "sharded");
            assert!(!run.page_sessions.is_empty(), "{run:?}");
            for s in &run.page_sessions {
                assert!(sids.insert(s.clone()), "session {s} in two runs");
            }
            for f in &run.files {
                assert!(
                    f.starts_with(dir),
                    "{} outside {}",
                    f.display(),
                    dir.display()
                );
                files.insert(f.clone());
            }
        }
    }
    // page sessions and audit files have names unique across the shards (only the
    // proxy's `_proxy.jsonl` repeats, in each shard's own folder)
    let names = |d: &std::path::Path| -> Vec<std::ffi::OsString> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "_proxy.jsonl")
            .collect()
    };
    let (na, nb) = (names(&a.trace_dir), names(&b.trace_dir));
    assert!(!na.is_empty() && !nb.is_empty());
    assert!(na.iter().all(|n| !nb.contains(n)), "{na:?} {nb:?}");
    assert!(files.len() >= 4);
}
