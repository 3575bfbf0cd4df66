//! Real headless Chromium through the real proxy: the injected inline script
//! runs under a strict CSP (its hash is allowed), its POST to the trace
//! endpoint is allowed by the patched `connect-src`, the page's own nonce'd
//! script still runs, and a classic and a module worker each get the hook
//! (and the module the module worker imports does not) with the page as
//! parent.
//!
//! Run twice: with a tiny test hook that only posts a `session` record (this
//! checks the injector, CSP patching and the sink alone), and with the real
//! hook embedded from `injector/js/`.

use std::process::Stdio;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;
use webinfer_injector::{Hook, Injector};

const TEST_HOOK: &str = r#"(function (G) {
  'use strict';
  var c = G.__WEBINFER_CONFIG__;
  if (!c) return;
  var rec = { v: 1, sid: c.sid, seq: 0, ts: G.performance.now(), kind: 'session',
    source: c.scope === 'worker' ? 'worker' : 'page', url: String(G.location.href),
    time_origin: G.performance.timeOrigin };
  if (c.parent) rec.parent = c.parent;
  G.fetch(c.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify([rec]) });
})(globalThis);"#;

/// Records written by the hook itself (no `by`) in every session file.
fn hook_records(h: &Harness) -> Vec<Value> {
    let mut out = Vec::new();
    for f in h.sink.files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v.get("by").is_none() {
                out.push(v);
            }
        }
    }
    out
}

/// Opens `path` in headless Chromium through the proxy and waits until the
/// hooks of the page and of both workers have posted, and the page's own
/// inline script ran; returns the hook-written records.
async fn browse(h: &Harness, path: &str) -> Vec<Value> {
    let profile = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-unsafe-swiftshader",
            "--proxy-bypass-list=<-loopback>",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--proxy-server=http://{}", h.proxy.addr()))
        .arg(format!(
            "--ignore-certificate-errors-spki-list={}",
            h.proxy.ca().leaf_spki_pin()
        ))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(h.url(path))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let recs = hook_records(h);
        let sessions = |source: &str| {
            recs.iter()
                .filter(|r| r["kind"] == "session" && r["source"] == source)
                .count()
        };
        if sessions("page") >= 1
            && sessions("worker") >= 2
            && h.upstream.hits_for("/inline-ran.png") >= 1
        {
            let _ = child.kill().await;
            return recs;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill().await;
            panic!(
                "timed out: hook records {recs:?}; upstream saw {:?}; sink {:?}",
                hit_counts(&h.upstream),
                h.sink.stats().snapshot()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks the page and worker sessions the hooks opened.
fn check_sessions(h: &Harness, records: &[Value]) {
    let sessions: Vec<&Value> = records.iter().filter(|r| r["kind"] == "session").collect();
    let page = sessions.iter().find(|r| r["source"] == "page").unwrap();
    assert_eq!(page["url"], h.url("/csp"));
    let page_sid = page["sid"].as_str().unwrap();
    // The page's session file starts with the proxy's own session record.
    let text = std::fs::read_to_string(h.session_file(page_sid)).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["by"].as_str(), first["kind"].as_str()),
        (Some("proxy"), Some("session"))
    );
    let workers: Vec<&&Value> = sessions
        .iter()
        .filter(|r| r["source"] == "worker")
        .collect();
    let mut urls: Vec<&str> = workers.iter().map(|w| w["url"].as_str().unwrap()).collect();
    urls.sort();
    assert_eq!(
        urls,
        vec![h.url("/mworker.js"), h.url("/worker.js")],
        "one hook per worker, none in the module the module worker imports"
    );
    for w in workers {
        assert_eq!(w["parent"], page_sid, "worker {w}");
        assert_ne!(w["sid"], page_sid);
    }
    assert_eq!(h.upstream.hits_for("/__webinfer__/trace"), 0);
    assert_eq!(h.upstream.hits_for("/dep.js"), 1);
    assert_eq!(h.sink.stats().snapshot().invalid, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_hook_runs_under_strict_csp_in_chromium_with_workers() {
    let h = Harness::start_with(Injector::with_hook(Hook::from_source(TEST_HOOK)), |_| {}).await;
    let records = browse(&h, "/csp").await;
    check_sessions(&h, &records);
}

/// The real hook embedded from `injector/js/`, in the same page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_hook_runs_under_strict_csp_in_chromium_with_workers() {
    let h = Harness::start(|_| {}).await;
    let records = browse(&h, "/csp").await;
    check_sessions(&h, &records);
    let page = records
        .iter()
        .find(|r| r["kind"] == "session" && r["source"] == "page")
        .unwrap();
    assert!(page["user_agent"].as_str().unwrap().contains("Chrome"));
    assert!(page["time_origin"].as_f64().unwrap() > 1.0e12);
}
