//! Trace durability when the browser dies: real headless Chromium, through the real proxy
//! with the hook injected, runs the bundled demo app (web/demo: TF.js BlazeFace on every
//! video frame and ONNX Runtime Web text detection, real weights from web/node_modules, wasm
//! backends, cross-origin isolated); once the proxy has stored enough `infer` records
//! the whole browser process tree is killed with SIGKILL (no `pagehide`, no `end` record,
//! no chance to flush). Then:
//! - every session file is whole JSON lines (a torn last line at most: here none, since
//!   the proxy writes whole lines and only the browser died);
//! - it holds every `infer` the proxy acknowledged (the count the sink had stored when
//!   the browser was killed, and every one it stored afterwards);
//! - the analyzer library reads the files without skipping a line and computes the
//!   prediction latency of every model of the killed session.
//!
//! (The e2e pages run their inferences back to back, which leaves the hook's flush timer
//! no turn until the loop ends; the demo interleaves them with rendering like a real app.)

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use webinfer_analyzer::metrics::latency;
use webinfer_analyzer::read::{read_all, ReadOptions};
use webinfer_audit::demo::{default_web_dir, demo_url, start_demo_site};
use webinfer_audit::site::DEMO_HOST;

use common::{browser_lock, e2e, Chromium};

/// Stored `infer` records to wait for before the kill.
const INFERS: u64 = 10;
/// How long the page may take to get there.
const WAIT: Duration = Duration::from_secs(45);

/// Kills `root` and all its descendants with SIGKILL (children first, so none is reparented
/// before it is found); returns the processes that got it.
fn kill_tree(root: u32) -> Vec<u32> {
    let mut killed = std::collections::BTreeSet::new();
    // Twice: a process forked while the first round ran gets the second.
    for _ in 0..2 {
        let mut pids = webinfer_audit::memory::descendants(root);
        pids.push(root);
        for pid in pids {
            // SAFETY: kill(2) with a pid read from /proc, no memory involved.
            if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
                killed.insert(pid);
            }
        }
    }
    killed.into_iter().collect()
}

/// The lines of a trace file; panics on anything but whole JSON records (and a torn,
/// unterminated last line, which the format allows).
fn parse_file(path: &PathBuf) -> (Vec<Value>, bool) {
    let text = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut torn = false;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => out.push(v),
            Err(e) if i + 1 == n => {
                torn = true;
                eprintln!("{}: torn last line: {e}", path.display());
            }
            Err(e) => panic!("{}: line {} is not a record: {e}", path.display(), i + 1),
        }
    }
    (out, torn)
}

#[test]
fn killing_the_browser_mid_session_leaves_a_readable_trace_with_every_acknowledged_infer() {
    let _lock = browser_lock();
    common::runtime().block_on(run());
}

async fn run() {
    let site = start_demo_site(&default_web_dir())
        .await
        .expect("start the demo site");
    let traces = tempfile::tempdir().unwrap();
    let ca_dir = tempfile::tempdir().unwrap();
    let inject = e2e::inject(false, 250, false);
    let (proxy, sink) = e2e::start_proxy(
        &site,
        DEMO_HOST,
        ca_dir.path(),
        traces.path(),
        inject,
        e2e::GOOGLE_HOSTS,
    )
    .await;

    // The demo infers until it is stopped: it is mid-work when it dies.
    let url = demo_url(&site, "tfjs=wasm&ort=wasm&ocr_ms=300");
    let browser = Chromium::launch(&url, &e2e::proxy_flags(&proxy));
    let stats = sink.stats();
    let started = Instant::now();
    while stats.infer_count() < INFERS {
        assert!(
            started.elapsed() < WAIT,
            "only {} infer records stored after {WAIT:?}: {:?}\nchromium log:\n{}",
            stats.infer_count(),
            stats.snapshot(),
            browser.log_tail(3000)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let acknowledged = stats.infer_count();
    let root = browser.pid();
    let killed = kill_tree(root);
    assert!(
        killed.len() >= 2,
        "the browser and its children got SIGKILL ({killed:?})"
    );
    // Nothing of the tree survives (a zombie waiting for its parent counts as dead).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<u32> = killed
            .iter()
            .copied()
            .filter(|&p| webinfer_audit::memory::is_alive(p))
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still alive after SIGKILL: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(browser);
    // A batch already in the proxy's hands when the browser died is still stored; then
    // nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let st = sink.stats().snapshot();
    proxy.shutdown().await;
    assert!(st.infer >= acknowledged);
    e2e::assert_sink_took_all(&sink, "after the kill");

    // The files: whole lines, every acknowledged infer, no `end` from the page.
    let files = sink.files();
    assert!(!files.is_empty());
    let mut infers = 0u64;
    // (sid, model) -> (infers, later calls)
    let mut per_model: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for f in &files {
        let (records, torn) = parse_file(f);
        assert!(!torn, "{}: the proxy writes whole lines", f.display());
        for r in &records {
            if r["kind"] == "infer" {
                infers += 1;
                let key = (
                    r["sid"].as_str().unwrap().to_owned(),
                    r["model"].as_str().unwrap().to_owned(),
                );
                let e = per_model.entry(key).or_default();
                e.0 += 1;
                if r["call"].as_u64().unwrap() > 1 {
                    e.1 += 1;
                }
            }
            assert!(
                !(r["kind"] == "end" && r.get("by").is_none()),
                "a killed page cannot have ended: {r}"
            );
        }
    }
    assert_eq!(infers, st.infer, "every stored infer is in the files");
    assert!(infers >= acknowledged);

    // The analyzer reads it all and computes each model's prediction latency.
    let (sessions, read) = read_all(&[traces.path().to_path_buf()], &ReadOptions::default())
        .expect("the analyzer reads the traces of a killed browser");
    assert_eq!(read.skipped(), 0, "{read}");
    assert!(read.truncated.is_empty());
    let mut predicted = 0;
    for ((sid, model), (n, later)) in &per_model {
        let s = sessions
            .iter()
            .find(|s| &s.sid == sid)
            .expect("the session is read");
        assert_eq!(s.end_reason, None, "{sid} has no end record");
        let refs: Vec<&_> = s.infers.iter().filter(|i| &*i.model == model).collect();
        assert_eq!(refs.len() as u64, *n, "{sid} {model}: every infer is read");
        let p = latency::prediction(&refs);
        assert_eq!(p.n as u64, *later, "{sid} {model}: later calls (call > 1)");
        if *later > 0 {
            let p50 = p.p50.expect("a median prediction latency");
            assert!(p50 > 0.0 && p50 < 10_000.0, "{model}: p50 {p50} ms");
            assert!(p.p99.unwrap() >= p50);
            eprintln!("{sid} {model}: {n} infers, prediction p50 {p50:.1} ms over {later} calls");
            predicted += 1;
        }
    }
    assert!(
        predicted > 0,
        "a prediction latency was computed: {per_model:?}"
    );
}
