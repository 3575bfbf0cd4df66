//! Frameworks beyond TF.js and ORT in real headless Chromium, directly and through the webinfer
//! proxy: MediaPipe Tasks (vision, from npm, bundled by esbuild, with the npm-shipped BlazeFace
//! models plus the normalisation metadata `web/fixtures/mediapipe_models.py` adds),
//! Transformers.js text generation on a tiny causal LM built by `web/fixtures/tiny_causal_lm.py`,
//! and WebGPU pages (TF.js, ORT-web) on Dawn's SwiftShader adapter.
//!
//! Every case runs its page once without the hook and once through the proxy, then checks:
//! outputs identical with and without the hook; one `infer` per library call the page made
//! (`call` 1..n); each `infer.dur` no larger than the page's own `performance.now()` around
//! that call (and not far below it: the hook must see the whole call); every record valid
//! against `format/trace.schema.json`; `seq` without gaps; the proxy's sink accepted every
//! batch whole. Per framework: `env`, `model_load` (bytes and sha256 of the file on disk) and
//! `gen` records. Ratios dur / page time are printed (`--nocapture`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use webinfer_audit::site::SiteServer;

use common::e2e::{self, PageRun};
use common::{repo_root, run_browser_test};

const HOST: &str = "frameworks.webinfer.test";
const PAGE_TIMEOUT: Duration = Duration::from_secs(150);
/// Where the tests serve MediaPipe's wasm fileset from: not the npm package's own path.
const MP_WASM_MOUNT: &str = "/vendor/mp/vision-wasm";

fn web_dir() -> PathBuf {
    repo_root().join("web")
}

/// The generated test models (git-ignored): `web/e2e/dist/models/`.
fn models_dir() -> PathBuf {
    web_dir().join("e2e/dist/models")
}

/// Runs `python3 SCRIPT OUT_DIR` once per test binary.
fn fixture(script: &str) {
    static DONE: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
    if d.iter().any(|s| s == script) {
        return;
    }
    let path = web_dir().join("fixtures").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .arg(models_dir())
        .output()
        .unwrap_or_else(|e| panic!("python3 {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "python3 {} failed: {}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    d.push(script.to_owned());
}

fn file_facts(p: &Path) -> (u64, String) {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (bytes.len() as u64, hex(&Sha256::digest(&bytes)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The test site, with MediaPipe's wasm fileset at [`MP_WASM_MOUNT`].
async fn start_site(coi: bool) -> SiteServer {
    let mp_wasm = web_dir().join("node_modules/@mediapipe/tasks-vision/wasm");
    e2e::start_site(HOST, coi, &[(MP_WASM_MOUNT, &mp_wasm)]).await
}

/// The page run without the hook, then through the proxy (hook injected), checking that both
/// runs' `outputs` (`what`: what they are) are identical: (proxied result, every record of the
/// proxied run).
async fn run_both(
    site: &SiteServer,
    name: &str,
    path: &str,
    extra: &[String],
    what: &str,
) -> (Value, Vec<Value>) {
    let run = PageRun {
        site,
        host: HOST,
        path,
        name,
        within: PAGE_TIMEOUT,
        kernels: false,
        extra,
    };
    let direct = run.direct().await;
    let (proxied, records) = run.proxied().await;
    assert_eq!(
        strings(&direct, "outputs"),
        strings(&proxied, "outputs"),
        "{name}: identical {what} with and without the hook"
    );
    (proxied, records)
}

/// The records of `kind` among `mine`.
fn of_kind<'a>(mine: &[&'a Value], kind: &str) -> Vec<&'a Value> {
    mine.iter().copied().filter(|r| r["kind"] == kind).collect()
}

fn num(r: &Value, k: &str) -> f64 {
    r.get(k)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("record without numeric `{k}`: {r}"))
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v[k].as_array()
        .unwrap_or_else(|| panic!("result without `{k}`: {v}"))
        .iter()
        .map(|o| o.as_str().expect("string").to_owned())
        .collect()
}

fn floats(v: &Value, k: &str) -> Vec<f64> {
    v[k].as_array()
        .unwrap_or_else(|| panic!("result without `{k}`: {v}"))
        .iter()
        .map(|o| o.as_f64().expect("number"))
        .collect()
}

/// The checks every page's trace must pass; returns the page session's own records.
fn check_common<'a>(name: &str, records: &'a [Value]) -> Vec<&'a Value> {
    let own = e2e::check_schema_and_seqs(name, records);
    let page = own
        .iter()
        .find(|r| r["kind"] == "session" && r["source"] == "page")
        .unwrap_or_else(|| panic!("{name}: no page session"));
    let sid = page["sid"].as_str().unwrap().to_owned();
    let mine: Vec<&Value> = own.into_iter().filter(|r| r["sid"] == sid).collect();
    assert!(
        mine.iter()
            .any(|r| r["kind"] == "end" && r["reason"] == "pagehide"),
        "{name}: end record"
    );
    mine
}

/// `infer` records against the page's own timing of each call: exactly one per call, `call`
/// 1..n, `dur` ≤ the page's time around the call; returns the ratios dur / page time.
fn check_infers_vs_page(name: &str, infers: &[&Value], page_ms: &[f64]) -> Vec<f64> {
    assert_eq!(
        infers.len(),
        page_ms.len(),
        "{name}: one infer per library call the page made: {infers:?}"
    );
    let mut ratios = Vec::new();
    for (i, (r, &pm)) in infers.iter().zip(page_ms).enumerate() {
        assert_eq!(
            r["call"].as_u64(),
            Some(i as u64 + 1),
            "{name}: call numbers"
        );
        let dur = num(r, "dur");
        assert!(dur > 0.0, "{name}: dur > 0: {r}");
        assert!(
            dur <= pm + 1e-6,
            "{name}: infer {} dur {dur} ms > the page's own {pm} ms around the call: {r}",
            i + 1
        );
        assert!(
            num(r, "start") + dur <= num(r, "ts") + 1.0,
            "{name}: written after the inference ended: {r}"
        );
        ratios.push(dur / pm);
    }
    ratios
}

/// Writes `records` to a trace file in `dir` and runs the analyzer on it (and on `baseline`).
fn analyze(
    dir: &Path,
    records: &[Value],
    baseline: Option<&Path>,
) -> webinfer_analyzer::analysis::Analysis {
    let file = dir.join("page.jsonl");
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&file, text).unwrap();
    webinfer_analyzer::analysis::run(&webinfer_analyzer::analysis::Options {
        inputs: vec![file],
        baselines: baseline.map(|b| vec![b.to_path_buf()]).unwrap_or_default(),
        group_by: vec!["framework".into(), "model".into(), "backend".into()],
        read: Default::default(),
    })
    .expect("analyzer")
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[s.len() / 2]
}

// ---- MediaPipe Tasks ---------------------------------------------------------------------------

struct Mp {
    name: &'static str,
    /// Query of web/e2e/mediapipe.html.
    query: &'static str,
    task: &'static str,
    api: &'static str,
    mode: &'static str,
    delegate: &'static str,
    /// The model file under web/e2e/dist/models/.
    model: &'static str,
    /// `infer.ready`: "return", or "read" for results left on the GPU (masks).
    ready: &'static str,
}

async fn run_mediapipe(c: &Mp) {
    fixture("mediapipe_models.py");
    let site = start_site(false).await;
    let path = format!("/e2e/mediapipe.html?{}", c.query);
    let name = c.name;
    let (proxied, records) = run_both(&site, name, &path, &[], "outputs").await;
    let page_ms = floats(&proxied, "page_ms");
    assert!(page_ms.len() >= 5, "{name}: ≥ 5 calls");
    let mine = check_common(name, &records);
    let of = |k: &str| of_kind(&mine, k);

    let env = of("env");
    let e = env
        .iter()
        .find(|e| e["framework"] == "mediapipe")
        .unwrap_or_else(|| panic!("{name}: no mediapipe env: {env:?}"));
    let backend = if c.delegate == "GPU" { "webgl" } else { "wasm" };
    assert_eq!(
        (
            e["backend"].as_str(),
            e["delegate"].as_str(),
            e["running_mode"].as_str(),
            e["task"].as_str(),
        ),
        (Some(backend), Some(c.delegate), Some(c.mode), Some(c.task)),
        "{name}: env {e}"
    );

    let (bytes, sha) = file_facts(&models_dir().join(c.model));
    let loads = of("model_load");
    assert_eq!(loads.len(), 1, "{name}: one model_load per task: {loads:?}");
    let l = loads[0];
    assert_eq!(l["framework"], "mediapipe");
    assert!(
        l["model"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/e2e/dist/models/{}", c.model)),
        "{name}: model_load.model is the model URL: {l}"
    );
    assert_eq!(l["bytes"].as_u64(), Some(bytes), "{name}: bytes: {l}");
    assert_eq!(
        l["sha256"].as_str(),
        Some(sha.as_str()),
        "{name}: sha256: {l}"
    );
    assert!(
        num(l, "dur") > 0.0 && num(l, "dur") < 60_000.0,
        "{name}: {l}"
    );

    let infers = of("infer");
    for r in &infers {
        assert_eq!(r["framework"], "mediapipe", "{name}: {r}");
        assert_eq!(r["api"], c.api, "{name}: {r}");
        assert_eq!(
            r["model"], l["model"],
            "{name}: infer.model = model_load.model"
        );
        assert_eq!(r["backend"], backend, "{name}: {r}");
        assert_eq!(r["ready"], c.ready, "{name}: {r}");
    }
    let ratios = check_infers_vs_page(name, &infers, &page_ms);
    // The hook's window is the graph run inside the call (the first input packet to
    // waitUntilIdle): for steady-state calls it must cover nearly all of the page's time.
    let steady = median(&ratios[1..]);
    assert!(
        steady > 0.5,
        "{name}: median dur / page time {steady:.3}: the hook misses most of the call"
    );
    eprintln!(
        "{name}: {} infers for {} calls; dur/page p50 {steady:.3} (steady state), call 1 {:.3}",
        infers.len(),
        page_ms.len(),
        ratios[0]
    );
    // ×native needs one model file LiteRT can run: a .task bundle holds several models that
    // MediaPipe chains with its own pre/post-processing.
    if c.delegate == "CPU" && c.mode == "IMAGE" && c.model.ends_with(".tflite") {
        slowdown_vs_litert(name, c.model, &records, &l["model"]);
    }
    // Telemetry to Google was refused by the proxy and left no trace in the hook's records.
    for r in &mine {
        assert!(
            !r.to_string().contains("googleapis"),
            "{name}: a record about the telemetry host: {r}"
        );
    }
}

/// ×native for a MediaPipe model: the same .tflite file run by `webinfer native --engine
/// litert`, joined to the page's model on sha256 by the analyzer.
fn slowdown_vs_litert(name: &str, model_file: &str, records: &[Value], page_model: &Value) {
    use webinfer_analyzer::table::M;
    let dir = tempfile::tempdir().unwrap();
    let native_out = dir.path().join("native.jsonl");
    webinfer_native::run(&webinfer_native::Options {
        models: vec![models_dir().join(model_file)],
        engine: webinfer_native::EngineKind::Litert,
        threads: 1,
        runs: 20,
        warmup: 1,
        input_shapes: Vec::new(),
        from_trace: None,
        inputs: None,
        out: native_out.clone(),
    })
    .expect("native LiteRT run");
    let a = analyze(dir.path(), records, Some(&native_out));
    let row = a
        .rows
        .iter()
        .find(|r| {
            r.key("framework") == "mediapipe" && r.key("model") == page_model.as_str().unwrap()
        })
        .unwrap_or_else(|| panic!("{name}: no analyzer row for the MediaPipe model"));
    let x = row
        .get(M::SlowdownX)
        .unwrap_or_else(|| panic!("{name}: no ×native: the native run did not join on sha256"));
    let (p50, native) = (row.get(M::PredP50).unwrap(), row.get(M::NativeP50).unwrap());
    assert!(x > 0.0 && native > 0.0);
    eprintln!("{name}: page p50 {p50:.2} ms, LiteRT native p50 {native:.3} ms: {x:.1}× native");
}

macro_rules! e2e {
    ($fn:ident, $body:expr) => {
        #[test]
        fn $fn() {
            run_browser_test($body);
        }
    };
}

const FACE: Mp = Mp {
    name: "",
    query: "",
    task: "FaceDetector",
    api: "FaceDetector.detect",
    mode: "IMAGE",
    delegate: "CPU",
    model: "face_detection_short_range.tflite",
    ready: "return",
};

const SEGMENTER: Mp = Mp {
    task: "ImageSegmenter",
    api: "ImageSegmenter.segment",
    model: "selfie_segmentation.tflite",
    ..FACE
};

e2e!(
    mediapipe_face_detector_image_cpu,
    run_mediapipe(&Mp {
        name: "mp-face-image-cpu",
        query: "mode=IMAGE&delegate=CPU",
        ..FACE
    })
);

e2e!(
    mediapipe_face_detector_video_cpu_model_buffer,
    run_mediapipe(&Mp {
        name: "mp-face-video-cpu-buffer",
        query: "mode=VIDEO&delegate=CPU&load=buffer",
        api: "FaceDetector.detectForVideo",
        mode: "VIDEO",
        ..FACE
    })
);

e2e!(
    mediapipe_face_detector_image_gpu,
    run_mediapipe(&Mp {
        name: "mp-face-image-gpu",
        query: "mode=IMAGE&delegate=GPU&n=5",
        delegate: "GPU",
        ..FACE
    })
);

e2e!(
    mediapipe_face_detector_video_gpu_full_range,
    run_mediapipe(&Mp {
        name: "mp-face-video-gpu-full",
        query: "mode=VIDEO&delegate=GPU&model=full&n=5",
        api: "FaceDetector.detectForVideo",
        mode: "VIDEO",
        delegate: "GPU",
        model: "face_detection_full_range.tflite",
        ..FACE
    })
);

e2e!(
    mediapipe_wasm_fileset_from_another_path,
    run_mediapipe(&Mp {
        name: "mp-face-wasm-path",
        query: "mode=IMAGE&delegate=CPU&wasm=/vendor/mp/vision-wasm",
        ..FACE
    })
);

// ---- LLM generation (`gen`) ----------------------------------------------------------------------

/// `gen` records against the page: one per request, `call` 1..n, `dur` ≤ the page's time
/// around the request, `ttft` ≤ the page's time to its first token (streamed requests: the hook
/// sees the token before the page's own code does), token counts as the page counted them, and
/// the throughput fields consistent with their formulas.
fn check_gens(name: &str, gens: &[&Value], page: &Value, framework: &str) -> Vec<f64> {
    let page_ms = floats(page, "page_ms");
    let tokens = page["page_tokens"].as_array().unwrap();
    let ttft = page["page_ttft"].as_array().unwrap();
    assert_eq!(
        gens.len(),
        page_ms.len(),
        "{name}: one gen per request: {gens:?}"
    );
    let mut ratios = Vec::new();
    for (i, g) in gens.iter().enumerate() {
        assert_eq!(g["framework"], framework, "{name}: {g}");
        assert_eq!(
            g["call"].as_u64(),
            Some(i as u64 + 1),
            "{name}: call numbers"
        );
        let dur = num(g, "dur");
        assert!(
            dur > 0.0 && dur <= page_ms[i] + 1e-6,
            "{name}: gen {} dur {dur} vs the page's {}: {g}",
            i + 1,
            page_ms[i]
        );
        ratios.push(dur / page_ms[i]);
        let out = g["output_tokens"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {g}"));
        if let Some(n) = tokens[i].as_u64() {
            assert_eq!(
                out, n,
                "{name}: output_tokens = the tokens the page received: {g}"
            );
        }
        assert!(g["prompt_tokens"].as_u64().unwrap_or(0) > 0, "{name}: {g}");
        let tps = num(g, "tokens_per_s");
        assert!(
            (tps - out as f64 * 1000.0 / dur).abs() < 1e-6 * tps.max(1.0),
            "{name}: tokens_per_s = output_tokens / dur: {g}"
        );
        if let Some(pt) = ttft[i].as_f64() {
            let t = num(g, "ttft");
            assert!(
                t > 0.0 && t <= pt + 1e-6,
                "{name}: ttft {t} > the page's own {pt}: {g}"
            );
            let (p50, p90, mean) = (num(g, "tpot_p50"), num(g, "tpot_p90"), num(g, "tpot_mean"));
            assert!(
                p50 <= p90 && mean > 0.0 && t + mean * (out - 1) as f64 <= dur + 1e-6,
                "{name}: ttft + (n-1)·tpot_mean ≤ dur, p50 ≤ p90: {g}"
            );
            assert_eq!(g["stream"], true, "{name}: {g}");
        }
    }
    ratios
}

e2e!(transformers_js_text_generation, async {
    let name = "textgen";
    fixture("tiny_causal_lm.py");
    let site = start_site(false).await;
    let path = "/e2e/transformers-textgen.html?n=6&tokens=12";
    let (proxied, records) = run_both(&site, name, path, &[], "generated text").await;
    let mine = check_common(name, &records);
    let of = |k: &str| of_kind(&mine, k);
    let onnx = models_dir().join("gpt2-tiny/onnx/model.onnx");
    let (bytes, _) = file_facts(&onnx);
    let loads = of("model_load");
    let l = loads
        .iter()
        .find(|l| l["framework"] == "ort")
        .unwrap_or_else(|| panic!("{name}: no ORT model_load: {loads:?}"));
    assert!(
        l["model"]
            .as_str()
            .unwrap()
            .ends_with("/gpt2-tiny/onnx/model.onnx"),
        "{l}"
    );
    assert_eq!(l["bytes"].as_u64(), Some(bytes), "{name}: {l}");
    let gens = of("gen");
    let ratios = check_gens(name, &gens, &proxied, "transformers.js");
    for g in &gens {
        assert_eq!(
            g["model"], l["model"],
            "{name}: gen.model is the decoder's URL"
        );
        assert_eq!(g["api"], "generate");
        assert_eq!(g["output_tokens"].as_u64(), Some(12), "{name}: {g}");
        assert_eq!(g["forward_passes"].as_u64(), Some(12), "{name}: {g}");
    }
    // every forward pass is one ORT infer (the inlined onnxruntime-web's OrtRun), none twice
    let infers = of("infer");
    assert_eq!(infers.len(), 6 * 12, "{name}: one infer per forward pass");
    assert!(infers
        .iter()
        .all(|r| r["framework"] == "ort" && r["model"] == l["model"]));
    let streamed: Vec<f64> = gens
        .iter()
        .filter_map(|g| g.get("ttft").and_then(Value::as_f64))
        .collect();
    eprintln!(
        "{name}: {} gen for 6 requests, {} infers; dur/page p50 {:.3}; ttft {streamed:?} ms",
        gens.len(),
        infers.len(),
        median(&ratios[1..])
    );
    assert!(
        median(&ratios[1..]) > 0.5,
        "{name}: the hook sees most of each request"
    );
    // the analyzer: generation metrics on the model's row, tokens/s and TTFT in the headline
    use webinfer_analyzer::table::M;
    let dir = tempfile::tempdir().unwrap();
    let a = analyze(dir.path(), &records, None);
    let row = a
        .rows
        .iter()
        .find(|r| r.get(M::GenN).is_some())
        .unwrap_or_else(|| panic!("{name}: no generation row"));
    assert_eq!(row.get(M::GenN), Some(6.0));
    assert_eq!(row.get(M::GenOutputTokens), Some(12.0));
    assert!(row.get(M::GenTokensPerS).unwrap() > 0.0 && row.get(M::GenTtftP50).unwrap() > 0.0);
    assert_eq!(
        row.key("framework"),
        "ort",
        "the generation joins the decoder's infer row"
    );
    let summary = webinfer_analyzer::report::summary_lines(&a).join("\n");
    assert!(
        summary.contains("Text generation:")
            && summary.contains("tokens/s")
            && summary.contains("TTFT"),
        "{name}: headline: {summary}"
    );
    eprintln!(
        "{name}: {}",
        summary
            .lines()
            .find(|l| l.starts_with("Text generation"))
            .unwrap()
    );
});

e2e!(webllm_api_on_a_stub_engine, async {
    let name = "webllm-stub";
    let site = start_site(false).await;
    let path = "/e2e/webllm-stub.html?n=6";
    let (proxied, records) = run_both(&site, name, path, &[], "outputs").await;
    let mine = check_common(name, &records);
    let gens = of_kind(&mine, "gen");
    let ratios = check_gens(name, &gens, &proxied, "webllm");
    for (i, g) in gens.iter().enumerate() {
        assert_eq!(g["model"], "stub-llm-q4f16");
        assert_eq!(g["stream"], i % 2 == 0, "{name}: {g}");
        assert_eq!(
            g["prompt_tokens"].as_u64(),
            Some(5),
            "{name}: from usage: {g}"
        );
    }
    eprintln!("{name}: dur/page p50 {:.3}", median(&ratios));
    // a WebLLM engine has no infer rows here: its generation gets a row of its own
    use webinfer_analyzer::table::M;
    let dir = tempfile::tempdir().unwrap();
    let a = analyze(dir.path(), &records, None);
    let row = a
        .rows
        .iter()
        .find(|r| r.key("model") == "stub-llm-q4f16")
        .unwrap_or_else(|| panic!("{name}: no row for the WebLLM model"));
    assert_eq!(row.key("framework"), "webllm");
    assert_eq!(row.get(M::GenN), Some(6.0));
    assert!(row.get(M::GenTokensPerS).unwrap() > 0.0);
});

// ---- WebGPU (Dawn's SwiftShader adapter: `--variant webgpu`'s switch) -------------------------

/// A WebGPU page: one `infer` per call, `dur` ≤ and close to the page's time around the call
/// and its readback (TF.js: `predict` + `data()`; ORT: `await run()`), `env.adapter` recorded.
async fn run_webgpu(name: &str, path: &str, framework: &str, ready: &str) {
    let site = start_site(false).await;
    let flags = vec!["--enable-unsafe-webgpu".to_owned()];
    let (proxied, records) = run_both(&site, name, path, &flags, "outputs").await;
    let mine = check_common(name, &records);
    let of = |k: &str| of_kind(&mine, k);
    let env = of("env");
    let e = env
        .iter()
        .find(|e| e["framework"] == framework && e["backend"] == "webgpu")
        .unwrap_or_else(|| panic!("{name}: no {framework}/webgpu env: {env:?}"));
    let a = &e["adapter"];
    assert_eq!(a["is_fallback_adapter"], true, "{name}: SwiftShader: {e}");
    assert_eq!(a["architecture"], "swiftshader", "{name}: {e}");
    assert_eq!(e["webnn"], false, "{name}: {e}");
    let infers = of("infer");
    for r in &infers {
        assert_eq!(r["backend"], "webgpu", "{name}: {r}");
        assert_eq!(r["ready"], ready, "{name}: {r}");
    }
    let page_ms = floats(&proxied, "page_ms");
    let ratios = check_infers_vs_page(name, &infers, &page_ms);
    for (i, q) in ratios.iter().enumerate() {
        // The hook's `dur` must end on the readback, as the page's own timing does: before the
        // fix TF.js's was ~1 % of it (the 2 s read timeout ended it before WebGPU reads finished).
        assert!(
            *q > 0.9,
            "{name}: call {} dur / page time {q:.3}: dur ends before the GPU work",
            i + 1
        );
    }
    eprintln!(
        "{name}: {} infers for {} calls; dur/page {:?}; page ms {page_ms:?}",
        infers.len(),
        page_ms.len(),
        ratios.iter().map(|q| format!("{q:.4}")).collect::<Vec<_>>()
    );
}

e2e!(
    tfjs_webgpu_dur_ends_on_readback,
    run_webgpu("tfjs-webgpu", "/e2e/tfjs-webgpu.html?n=3", "tfjs", "read")
);

e2e!(
    ort_webgpu_execution_provider,
    run_webgpu("ort-webgpu", "/e2e/ort-webgpu.html?n=3", "ort", "return")
);

e2e!(
    mediapipe_image_segmenter_image_cpu,
    run_mediapipe(&Mp {
        name: "mp-seg-image-cpu",
        query: "task=segmenter&mode=IMAGE&delegate=CPU",
        ..SEGMENTER
    })
);

e2e!(
    mediapipe_image_segmenter_video_gpu_masks_read_back,
    run_mediapipe(&Mp {
        name: "mp-seg-video-gpu",
        query: "task=segmenter&mode=VIDEO&delegate=GPU&n=5",
        api: "ImageSegmenter.segmentForVideo",
        mode: "VIDEO",
        delegate: "GPU",
        ready: "read",
        ..SEGMENTER
    })
);

const HANDS: Mp = Mp {
    task: "HandLandmarker",
    api: "HandLandmarker.detect",
    model: "hand_landmarker.task",
    ..FACE
};

e2e!(
    mediapipe_hand_landmarker_task_bundle_image_cpu,
    run_mediapipe(&Mp {
        name: "mp-hands-image-cpu",
        query: "task=hands&img=sample4.jpg&mode=IMAGE&delegate=CPU",
        ..HANDS
    })
);

e2e!(
    mediapipe_hand_landmarker_video_gpu,
    run_mediapipe(&Mp {
        name: "mp-hands-video-gpu",
        query: "task=hands&img=sample4.jpg&mode=VIDEO&delegate=GPU&n=5",
        api: "HandLandmarker.detectForVideo",
        mode: "VIDEO",
        delegate: "GPU",
        ..HANDS
    })
);
