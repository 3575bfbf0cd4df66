//! `webinfer audit --browser firefox` of the bundled demo in real headless
//! Firefox ESR through the real proxy: Firefox trusts the proxy CA imported
//! with certutil (the HTTPS demo loads and its hooks report), both frameworks
//! infer, nothing is lost, and whatever background calls Firefox makes are
//! refused, never forwarded. `--interact` is refused with a clear error.

use crate::common_audit;

use std::time::Duration;

use common_audit::{audit_demo, audit_error, check_run, envs, records, BROWSER};

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
    let e = audit_error(|o| {
        o.browser = "firefox".into();
        o.interact = true;
        o.duration = Duration::from_secs(1);
    })
    .await;
    assert!(e.contains("not supported for Firefox"), "{e}");
}
