//! `webinfer audit --browser firefox` of the bundled demo in real headless
//! Firefox ESR through the real proxy: Firefox trusts the proxy CA imported
//! with certutil (the HTTPS demo loads and its hooks report), both frameworks
//! infer, nothing is lost, and whatever background calls Firefox makes are
//! refused, never forwarded. `--interact` is refused with a clear error.

use crate::common_audit;

use std::time::Duration;

use common_audit::{audit_demo, check_run, envs, records, BROWSER};
use tokio_util::sync::CancellationToken;
use webinfer_audit::AuditOptions;
use webinfer_proxy::ProxyOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_audits_the_demo() {
    let _one = BROWSER.lock().await;
    let a = audit_demo("firefox", &[], 15, false).await;
    assert_eq!(a.report.runs.len(), 1);
    let run = &a.report.runs[0];
    assert_eq!(run.browser, "firefox");
    check_run(run);
    let recs = records(&run.files);
    // The page itself reported (its own session record, not only the proxy's).
    assert!(recs.iter().any(|r| r["kind"] == "session"
        && r.get("by").is_none()
        && r["user_agent"]
            .as_str()
            .is_some_and(|ua| ua.contains("Firefox"))));
    assert!(!envs(&recs, "tfjs").is_empty() && !envs(&recs, "ort").is_empty());
}

#[tokio::test]
async fn firefox_interact_is_a_clear_error() {
    let ca = tempfile::tempdir().unwrap();
    let proxy = ProxyOptions {
        ca_dir: Some(ca.path().to_path_buf()),
        ..Default::default()
    };
    let mut o = AuditOptions::new(proxy);
    o.browser = "firefox".into();
    o.interact = true;
    o.duration = Duration::from_secs(1);
    let e = webinfer_audit::audit(o, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not supported for Firefox"), "{e}");
}
