//! `webinfer audit` of the bundled demo in real headless Chromium, through the
//! real proxy with the real hooks: traces with inferences of both frameworks,
//! nothing lost, Chromium's background calls refused and never forwarded,
//! synthetic input delivered, and the `no-simd` variant visible in the trace.

mod common_audit;

use common_audit::{audit_demo, audit_demo_with, check_run, envs, records, BROWSER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_audits_the_demo_with_input() {
    let _one = BROWSER.lock().await;
    let a = audit_demo_with("chromium", &[], 15, true, true).await;
    assert_eq!(a.report.runs.len(), 1);
    let run = &a.report.runs[0];
    check_run(run);
    native_baselines_match_the_pages_models(&a.report, run);
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

/// `native`: both demo models (the ONNX text detector and the TF.js BlazeFace
/// graph model, rebuilt from the proxy's content-addressed files) ran natively,
/// and each baseline's `model_load.sha256` is the digest the proxy recorded for
/// the page's model URL, which is how the analyzer joins them.
fn native_baselines_match_the_pages_models(
    report: &webinfer_audit::AuditReport,
    run: &webinfer_audit::RunSummary,
) {
    let ok: Vec<_> = report
        .native
        .iter()
        .filter(|n| n.result.is_ok())
        .map(|n| n.model.clone())
        .collect();
    for m in ["ch_PP-OCRv4_det_infer.onnx", "blazeface.json"] {
        assert!(
            ok.iter().any(|u| u.ends_with(m)),
            "{m} has no native baseline: {:#?}",
            report.native
        );
    }
    let native_file = report.native_trace.clone().expect("native trace");
    let native = records(&[native_file]);
    let page = records(&run.files);
    let net_sha = |suffix: &str| {
        page.iter()
            .find(|r| r["kind"] == "net" && r["url"].as_str().is_some_and(|u| u.ends_with(suffix)))
            .and_then(|r| r["sha256"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no net record with a sha256 for {suffix}"))
    };
    for suffix in ["ch_PP-OCRv4_det_infer.onnx", "blazeface.json"] {
        let sha = net_sha(suffix);
        assert!(
            native
                .iter()
                .any(|r| r["kind"] == "model_load" && r["sha256"] == sha.as_str()),
            "no native model_load with the page's sha256 {sha} of {suffix}"
        );
        let measured = native
            .iter()
            .filter(|r| r["kind"] == "infer" && r["warmup"] != true)
            .count();
        assert!(measured >= 2 * webinfer_audit::native_baseline::NATIVE_RUNS);
    }
}
