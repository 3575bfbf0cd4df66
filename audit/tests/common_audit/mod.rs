//! Helpers shared by the audit end-to-end tests: running an audit of the
//! bundled demo into temporary folders and reading its trace files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webinfer_audit::{AuditOptions, AuditReport, RunSummary};
use webinfer_proxy::ProxyOptions;

/// Browser tests share two cores: one at a time.
pub static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Temporary traces and CA folders, kept alive with the report.
pub struct Audited {
    pub report: AuditReport,
    pub traces: tempfile::TempDir,
    pub ca: tempfile::TempDir,
}

pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Audits the bundled demo with `browser` for `secs` per run.
pub async fn audit_demo(browser: &str, variants: &[&str], secs: u64, interact: bool) -> Audited {
    audit_demo_with(browser, variants, secs, interact, false).await
}

/// [`audit_demo`], with `native`: the saved models run natively afterwards.
pub async fn audit_demo_with(
    browser: &str,
    variants: &[&str],
    secs: u64,
    interact: bool,
    native: bool,
) -> Audited {
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let proxy = ProxyOptions {
        ca_dir: Some(ca.path().to_path_buf()),
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    o.capture.sink.dir = traces.path().to_path_buf();
    o.browser = browser.into();
    o.duration = Duration::from_secs(secs);
    o.variants = variants.iter().map(|s| s.to_string()).collect();
    o.interact = interact;
    o.native = native;
    o.label = Some("test".into());
    o.web_dir = web_dir();
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    Audited { report, traces, ca }
}

/// Audit options for pages of a test `site` under the demo's fake host name
/// (resolved to the site, its CA trusted upstream), writing traces and the CA
/// into the given folders.
pub fn site_audit(
    site: &webinfer_audit::site::SiteServer,
    traces: &Path,
    ca: &Path,
) -> AuditOptions {
    let host = webinfer_audit::site::DEMO_HOST;
    let proxy = ProxyOptions {
        ca_dir: Some(ca.to_path_buf()),
        upstream_ca: vec![site.ca_pem_path.clone()],
        resolve: vec![format!("{host}:{}:127.0.0.1", site.port()).parse().unwrap()],
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    o.capture.sink.dir = traces.to_path_buf();
    o
}

/// Every record of the given files.
pub fn records(files: &[PathBuf]) -> Vec<Value> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines() {
            out.push(
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("{}: {e}: {line}", f.display())),
            );
        }
    }
    out
}

/// The checks every audited demo run must pass.
pub fn check_run(run: &RunSummary) {
    assert!(!run.files.is_empty(), "no trace files: {run:#?}");
    for f in &run.files {
        assert!(Path::new(f).is_file());
    }
    assert!(
        run.infers.get("tfjs").copied().unwrap_or(0) > 0,
        "no TF.js inference: {run:#?}"
    );
    assert!(
        run.infers.get("ort").copied().unwrap_or(0) > 0,
        "no ORT inference: {run:#?}"
    );
    assert!(
        run.seq_problems.is_empty(),
        "lost records: {:?}",
        run.seq_problems
    );
    assert_eq!(run.bad_lines, 0);
    assert!(!run.page_sessions.is_empty());
    // Refused hosts were never contacted.
    for host in run.refused.keys() {
        assert!(
            !run.forwarded.contains_key(host),
            "{host} was refused and forwarded: {run:#?}"
        );
    }
    // Only the demo host was reached.
    assert_eq!(
        run.forwarded.keys().collect::<Vec<_>>(),
        vec![webinfer_audit::site::DEMO_HOST],
        "{run:#?}"
    );
    // Memory of the browser's process tree, sampled by the audit.
    assert!(run.mem_samples >= 5, "{run:#?}");
    let recs = records(&run.files);
    let rss: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "mem" && r["by"] == "audit")
        .collect();
    assert_eq!(rss.len() as u64, run.mem_samples);
    // The first sample may be taken right after exec; later ones see the whole browser.
    assert!(rss.iter().all(|r| r["rss"].as_u64().unwrap() > 0));
    let peak = rss
        .iter()
        .map(|r| r["rss"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(peak, run.peak_rss);
    assert!(
        peak > 100 << 20,
        "a browser running two models in under 100 MiB? {peak}"
    );
    // The page's own renderer, a part of the whole tree: present once the page
    // runs, below the tree's sum in every sample that has it.
    let renderer: Vec<u64> = rss
        .iter()
        .filter_map(|r| {
            let x = r["renderer_rss"].as_u64()?;
            assert!(x < r["rss"].as_u64().unwrap(), "renderer ≥ whole tree: {r}");
            Some(x)
        })
        .collect();
    // Samples taken before the page existed (negative `ts`: a slow browser start) have no
    // page renderer to name yet.
    let while_page_ran = rss
        .iter()
        .filter(|r| r["ts"].as_f64().is_some_and(|t| t >= 0.0))
        .count();
    assert!(
        renderer.len() * 2 >= while_page_ran,
        "renderer_rss in most of the {while_page_ran} samples taken while the page ran: {renderer:?}"
    );
    assert!(
        *renderer.iter().max().unwrap() > 20 << 20,
        "a renderer running two models in under 20 MiB? {renderer:?}"
    );
    // The audit's session record names browser, flags, label and variant.
    let meta: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "session" && r["by"] == "audit")
        .collect();
    assert_eq!(meta.len(), run.page_sessions.len());
    for m in meta {
        assert_eq!(m["variant"], run.variant.as_str());
        assert_eq!(m["label"], "test");
        assert_eq!(m["browser"]["name"], run.browser.as_str());
        assert!(!m["browser"]["flags"].as_array().unwrap().is_empty());
    }
}

/// `env` records of the run's page and worker sessions for `framework`.
pub fn envs<'a>(recs: &'a [Value], framework: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["kind"] == "env" && r["framework"] == framework)
        .collect()
}
