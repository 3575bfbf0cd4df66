//! Helpers shared by the audit end-to-end tests: running an audit of the
//! bundled demo (or of a test site's pages) into temporary folders, reading its
//! trace files and the input tensors it captured.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webinfer_audit::site::{SiteBuilder, SiteServer, DEMO_HOST};
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

/// A temporary folder holding `files` (name, content) served at `/` by a test site; `configure`
/// adds mounts or COOP/COEP. The folder lives as long as the returned guard.
pub async fn serve_files(
    files: &[(&str, &[u8])],
    configure: impl FnOnce(SiteBuilder) -> SiteBuilder,
) -> (tempfile::TempDir, SiteServer) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let site = configure(SiteServer::builder().mount("/", dir.path()))
        .start()
        .await
        .unwrap();
    (dir, site)
}

/// The error of an audit with a fresh CA folder and the options `configure` sets.
pub async fn audit_error(configure: impl FnOnce(&mut AuditOptions)) -> String {
    let ca = tempfile::tempdir().unwrap();
    let proxy = ProxyOptions {
        ca_dir: Some(ca.path().to_path_buf()),
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    configure(&mut o);
    webinfer_audit::audit(o, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string()
}

/// Audits `site`'s `/probe.html?name=NAME` in `browser` with one `variant` for 8 s (traces
/// labelled `label`) and returns what the probe page POSTed as `name`.
pub async fn probe(
    site: &SiteServer,
    browser: &str,
    variant: &str,
    name: &str,
    label: &str,
) -> Value {
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let mut o = site_audit(site, traces.path(), ca.path());
    o.urls = vec![site.url_for_host(DEMO_HOST, &format!("/probe.html?name={name}"))];
    o.browser = browser.into();
    o.variants = vec![variant.into()];
    o.duration = Duration::from_secs(8);
    o.label = Some(label.into());
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    assert_eq!(report.runs[0].variant, variant);
    let body = site
        .result(name)
        .unwrap_or_else(|| panic!("{name}: the probe posted nothing"));
    serde_json::from_slice(&body).unwrap()
}

/// Audits `site`'s page `path` with `--capture-inputs` and `--native` (traces labelled
/// `label`, for `secs` or until `until_infers` inferences); returns the traces folder and the
/// report.
pub async fn audit_capturing(
    site: &SiteServer,
    path: &str,
    label: &str,
    secs: u64,
    until_infers: Option<u64>,
) -> (tempfile::TempDir, AuditReport) {
    let traces = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    let mut o = site_audit(site, traces.path(), ca.path());
    o.capture.sink.capture_inputs = true;
    o.urls = vec![site.url_for_host(DEMO_HOST, path)];
    o.until_infers = until_infers;
    o.duration = Duration::from_secs(secs);
    o.native = true;
    o.label = Some(label.into());
    let report = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .expect("audit");
    (traces, report)
}

/// The one `infer` record of `recs` that names captured inputs (`inputs_sha256`).
pub fn captured_infer(recs: &[Value]) -> &Value {
    let captured: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "infer" && r["inputs_sha256"].is_string())
        .collect();
    assert_eq!(captured.len(), 1, "{captured:?}");
    captured[0]
}

/// A safetensors file as bytes, split: (the whole file, its JSON header, the offset of the
/// tensor data: 8 bytes of header length, then the header).
pub fn read_safetensors(path: &Path) -> (Vec<u8>, Value, usize) {
    let st = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hlen = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&st[8..8 + hlen]).unwrap();
    (st, header, 8 + hlen)
}

/// Asserts that `data` is `n` little-endian f32 values, every one `v`.
pub fn assert_all_f32(data: &[u8], n: usize, v: f32) {
    assert_eq!(data.len(), 4 * n);
    assert!(data
        .chunks(4)
        .all(|c| f32::from_le_bytes(c.try_into().unwrap()) == v));
}

/// Asserts that the native `model_load` record `nload` fed its first input, `name`, from the
/// captured inputs file.
pub fn assert_fed_from_file(nload: &Value, name: &str) {
    let fed = &nload["input_values"][0];
    assert_eq!(
        (fed["name"].as_str(), fed["rule"].as_str()),
        (Some(name), Some("file")),
        "{nload}"
    );
}
