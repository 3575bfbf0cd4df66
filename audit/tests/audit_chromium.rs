//! `webinfer audit` of the bundled demo in real headless Chromium, through the
//! real proxy with the real hooks: traces with inferences of both frameworks,
//! nothing lost, Chromium's background calls refused and never forwarded,
//! synthetic input delivered, and the `no-simd` variant visible in the trace.

mod common_audit;

use common_audit::{audit_demo, check_run, envs, records, BROWSER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_audits_the_demo_with_input() {
    let _one = BROWSER.lock().await;
    let a = audit_demo("chromium", &[], 15, true).await;
    assert_eq!(a.report.runs.len(), 1);
    let run = &a.report.runs[0];
    check_run(run);
    // Chromium calls Google even with background networking off: refused.
    assert!(
        !run.refused.is_empty(),
        "no background call was refused: {run:#?}"
    );
    assert!(
        run.refused
            .keys()
            .all(|h| h != webinfer_audit::site::DEMO_HOST),
        "{run:#?}"
    );
    let input = run.interact.expect("interaction stats");
    assert!(input.clicks >= 10, "{input:?}");
    assert!(input.keys >= 5, "{input:?}");
    // The page saw the clicks as real input (Event Timing entries).
    assert!(run.kinds.get("input").copied().unwrap_or(0) > 0, "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_simd_variant_is_recorded_and_changes_wasm_features() {
    let _one = BROWSER.lock().await;
    let a = audit_demo("chromium", &["default", "no-simd"], 15, false).await;
    assert_eq!(a.report.runs.len(), 2);
    let (def, nosimd) = (&a.report.runs[0], &a.report.runs[1]);
    assert_eq!(
        (def.variant.as_str(), nosimd.variant.as_str()),
        ("default", "no-simd")
    );
    check_run(def);
    assert!(
        nosimd
            .flags
            .iter()
            .any(|f| f == "--js-flags=--no-enable-sse4-1"),
        "{:?}",
        nosimd.flags
    );
    assert!(
        !def.flags.iter().any(|f| f.contains("sse4")),
        "{:?}",
        def.flags
    );

    let d = records(&def.files);
    let n = records(&nosimd.files);
    // The variant is in the trace: the audit's session record carries it and its flags.
    let flagged = n.iter().any(|r| {
        r["kind"] == "session"
            && r["variant"] == "no-simd"
            && r["browser"]["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "--js-flags=--no-enable-sse4-1"))
    });
    assert!(flagged, "no session record names the no-simd flags");
    // TF.js detects SIMD by default and not under no-simd.
    let simd = |recs: &[serde_json::Value]| -> Vec<bool> {
        envs(recs, "tfjs")
            .iter()
            .filter_map(|e| e["wasm_simd"].as_bool())
            .collect()
    };
    let (ds, ns) = (simd(&d), simd(&n));
    assert!(!ds.is_empty() && ds.iter().all(|&s| s), "default: {ds:?}");
    assert!(!ns.is_empty() && ns.iter().all(|&s| !s), "no-simd: {ns:?}");
    // TF.js still runs (non-SIMD wasm); ORT-web 1.30 ships only SIMD builds.
    assert!(
        nosimd.infers.get("tfjs").copied().unwrap_or(0) > 0,
        "{nosimd:#?}"
    );
}
