//! The page hook's fidelity in real browsers (issues 16 and 17), through the real proxy:
//! - **Abrupt close loses nothing the page acknowledged**: a page makes 20 inferences, stays
//!   200 ms, reports DONE, and its browser context is closed at once (Chromium, CDP
//!   `Target.disposeBrowserContext`, what Playwright's `context.close()` does) or its browser is
//!   SIGTERMed (Firefox): the trace holds exactly the page's 20 `infer` records. Pages: ORT
//!   (`ort.html`) and TF.js under a strict `<meta>` CSP (`csp-meta.html`).
//! - **One meaning of ORT's `dur`**: Silero VAD (vad-web's wrapper, its silero_vad_v5.onnx) with
//!   ORT as the UMD global and ORT bundled (no global): both record `InferenceSession.run`, one
//!   record per call, each inside the page's own timer around that call, and the hook's
//!   share of the page's time agrees within 5 % between the two shapes.
//! - **A forward pass is one inference**: nsfwjs (a TF.js LayersModel whose `classify` runs
//!   `predict` inside its own `tf.tidy`) gives one `LayersModel.predict` record per call (plus
//!   nsfwjs's own warm-up), with the tidy's view merged; Transformers.js (ORT inlined) on a tiny
//!   BERT fixture gives one record per extractor call and per helper-graph call, the helper
//!   graph marked (`model_origin: "generated"`, its byte size, a library-internal
//!   `create_site`).
//! - **DevTools track** (the proxy's `--devtools-track`): one `performance.measure` per
//!   inference with the extensibility payload, also in a DevTools trace recorded through CDP.
//!
//! Every page also runs directly (no proxy): outputs must be identical. Set
//! `WEBINFER_SAMPLE_DIR` to copy the recorded nsfwjs / Transformers.js traces there.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use webinfer_audit::browser::{Browser, Launch, RunningBrowser};
use webinfer_audit::cdp::Cdp;
use webinfer_audit::site::SiteServer;

use common::e2e::{self, GOOGLE_HOSTS, MOZILLA_HOSTS};
use common::{find_chromium as chromium, read_traces, repo_root, run_browser_test};

const HOST: &str = "fidelity.webinfer.test";
const PAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// A site + proxy + trace folder for one case.
struct Rig {
    site: SiteServer,
    proxy: webinfer_proxy::ProxyHandle,
    sink: Arc<webinfer_capture::TraceSink>,
    traces: tempfile::TempDir,
    _ca: tempfile::TempDir,
    _models: Option<tempfile::TempDir>,
}

impl Rig {
    /// Starts the site (`/` → web/, `/models/` → `models` when given), COOP/COEP when `coi`,
    /// and a proxy injecting the hook (`devtools_track` as the proxy's `--devtools-track`).
    async fn start(coi: bool, models: Option<tempfile::TempDir>, devtools_track: bool) -> Rig {
        let site = start_site(coi, models.as_ref().map(|m| m.path())).await;
        let traces = tempfile::tempdir().unwrap();
        let ca = tempfile::tempdir().unwrap();
        let deny: Vec<&str> = [GOOGLE_HOSTS, MOZILLA_HOSTS].concat();
        let inject = e2e::inject(false, 1000, devtools_track);
        let (proxy, sink) =
            e2e::start_proxy(&site, HOST, ca.path(), traces.path(), inject, &deny).await;
        Rig {
            site,
            proxy,
            sink,
            traces,
            _ca: ca,
            _models: models,
        }
    }

    fn url(&self, path: &str, result: &str) -> String {
        e2e::page_url(&self.site, HOST, path, &format!("result={result}"))
    }

    fn launch(&self, url: &str) -> Launch {
        Launch::headless(&self.proxy, url)
    }

    /// The page's POSTed result; panics with the page's error.
    async fn result(&self, name: &str, browser: &RunningBrowser) -> Value {
        e2e::page_result(&self.site, name, PAGE_TIMEOUT, || browser.log_tail(3000)).await
    }

    /// The page session's own records (not the proxy's), waiting until `done` holds or 15 s.
    async fn records(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let rs: Vec<Value> = read_traces(self.traces.path())
                .into_iter()
                .filter(|r| r.get("by").is_none())
                .collect();
            if done(&rs) || Instant::now() > deadline {
                return rs;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn shutdown(self) {
        self.proxy.shutdown().await;
        let st = self.sink.stats().snapshot();
        assert_eq!(
            (st.malformed, st.invalid, st.too_large, st.rate_limited),
            (0, 0, 0, 0),
            "the sink refused some of the hook's records: {st:?}"
        );
        self.site.shutdown().await;
    }
}

/// The HTTPS test site: `/` → web/, `/models/` → `models` when given, COOP/COEP when `coi`.
async fn start_site(coi: bool, models: Option<&Path>) -> SiteServer {
    let mounts: Vec<(&str, &Path)> = models.into_iter().map(|m| ("/models", m)).collect();
    e2e::start_site(HOST, coi, &mounts).await
}

fn firefox() -> Browser {
    let spec = std::env::var("FIREFOX").unwrap_or_else(|_| "firefox".to_owned());
    Browser::find(&spec).expect("firefox")
}

/// A Chromium behind the rig's proxy on about:blank, with a DevTools connection.
async fn chromium_cdp(rig: &Rig) -> (RunningBrowser, Cdp) {
    common::chromium_cdp(&rig.launch("about:blank")).await
}

/// Opens `url` in a fresh browser context; returns (context id, target id).
async fn open_in_context(cdp: &Cdp, url: &str) -> (String, String) {
    let ctx = cdp
        .call("Target.createBrowserContext", json!({}), None)
        .await
        .expect("createBrowserContext");
    let ctx = ctx["browserContextId"].as_str().unwrap().to_owned();
    let t = cdp
        .call(
            "Target.createTarget",
            json!({"url": url, "browserContextId": ctx}),
            None,
        )
        .await
        .expect("createTarget");
    (ctx, t["targetId"].as_str().unwrap().to_owned())
}

fn infers(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["kind"] == "infer").collect()
}

fn page_sid(records: &[Value]) -> Option<String> {
    records
        .iter()
        .find(|r| r["kind"] == "session" && r["source"] == "page")
        .and_then(|r| r["sid"].as_str())
        .map(str::to_owned)
}

fn outputs(v: &Value) -> Vec<String> {
    v["outputs"]
        .as_array()
        .unwrap_or_else(|| panic!("no outputs: {v}"))
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect()
}

/// Runs `path` directly (no proxy, no hook) in Chromium; returns its result.
async fn run_direct(coi: bool, models: Option<&Path>, path: &str) -> Value {
    let site = start_site(coi, models).await;
    let name = "direct";
    let url = e2e::page_url(&site, HOST, path, &format!("result={name}"));
    let browser = common::Chromium::launch(&url, &e2e::direct_flags(&site, HOST));
    let v = e2e::page_result(&site, name, PAGE_TIMEOUT, || {
        format!("direct {path}: {}", browser.log_tail(3000))
    })
    .await;
    drop(browser);
    site.shutdown().await;
    v
}

/// The median, by the project's one percentile formula.
fn p50(xs: &[f64]) -> f64 {
    webinfer_format::percentile::percentile(xs, 0.5).expect("durations")
}

// ---- abrupt close ------------------------------------------------------------------------

const CLOSE_PAGES: &[(&str, &str)] = &[
    ("ort", "/e2e/ort.html?n=20&linger=200"),
    (
        "tfjs-csp",
        "/e2e/csp-meta.html?backend=wasm&n=20&linger=200",
    ),
];

/// Chromium: the page's context is disposed the moment DONE arrives.
async fn chromium_close(path: &str) -> (usize, usize) {
    let rig = Rig::start(false, None, false).await;
    let (browser, cdp) = chromium_cdp(&rig).await;
    let url = rig.url(path, "close");
    let (ctx, _) = open_in_context(&cdp, &url).await;
    let res = rig.result("close", &browser).await;
    cdp.call(
        "Target.disposeBrowserContext",
        json!({"browserContextId": ctx}),
        None,
    )
    .await
    .expect("disposeBrowserContext");
    let calls = outputs(&res).len();
    let recs = rig.records(|rs| infers(rs).len() >= calls).await;
    // nothing arrives later: give stragglers a moment, then count
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let recs2 = rig.records(|_| true).await;
    assert!(recs2.len() >= recs.len());
    drop(cdp);
    browser.stop(Duration::from_secs(3)).await;
    let n = infers(&recs2).len();
    rig.shutdown().await;
    (n, calls)
}

/// Runs `close` (which closes the browser the moment the page says DONE and returns
/// (infer records in the trace, calls the page made)) on every page of [`CLOSE_PAGES`]:
/// each made 20 calls and the trace holds all 20 (`after`: how the browser went).
fn every_close_page_keeps_its_infers<F: std::future::Future<Output = (usize, usize)>>(
    close: impl Fn(&'static str) -> F,
    after: &str,
) {
    run_browser_test(async {
        for (name, path) in CLOSE_PAGES {
            let (got, calls) = close(path).await;
            assert_eq!(calls, 20, "{name}: the page made 20 calls");
            assert_eq!(got, calls, "{name}: infer records {after}");
        }
    });
}

#[test]
fn chromium_context_closed_right_after_done_loses_no_infer() {
    every_close_page_keeps_its_infers(chromium_close, "in the trace after the context was closed");
}

/// Firefox: the browser gets SIGTERM the moment DONE arrives.
async fn firefox_sigterm(path: &str) -> (usize, usize) {
    let rig = Rig::start(false, None, false).await;
    let url = rig.url(path, "close");
    let browser = firefox()
        .launch(&rig.launch(&url))
        .await
        .expect("launch firefox");
    let res = rig.result("close", &browser).await;
    browser.stop(Duration::from_secs(10)).await; // SIGTERM, SIGKILL after 10 s
    let calls = outputs(&res).len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let recs = rig.records(|_| true).await;
    let n = infers(&recs).len();
    rig.shutdown().await;
    (n, calls)
}

#[test]
fn firefox_sigterm_right_after_done_loses_no_infer() {
    every_close_page_keeps_its_infers(firefox_sigterm, "after SIGTERM");
}

// ---- ORT: one meaning of dur ---------------------------------------------------------------

/// Runs a vad page through the proxy (cross-origin isolated: fine timers); returns the page's
/// calls [(start, own_ms)] after warm-up and the hook's matching infer records.
async fn vad_run(path: &str) -> (Vec<(f64, f64)>, Vec<Value>, Value) {
    let rig = Rig::start(true, None, false).await;
    let url = rig.url(path, "vad");
    let browser = chromium().launch(&rig.launch(&url)).await.expect("launch");
    let res = rig.result("vad", &browser).await;
    let calls = res["calls"].as_array().unwrap().len();
    let recs = rig.records(|rs| infers(rs).len() >= calls).await;
    browser.stop(Duration::from_secs(3)).await;
    rig.shutdown().await;
    let mut inf: Vec<Value> = infers(&recs).into_iter().cloned().collect();
    inf.sort_by(|a, b| {
        a["start"]
            .as_f64()
            .unwrap()
            .total_cmp(&b["start"].as_f64().unwrap())
    });
    assert_eq!(inf.len(), calls, "{path}: one infer per page call");
    let mut pairs = Vec::new();
    let mut matched = Vec::new();
    for (c, r) in res["calls"].as_array().unwrap().iter().zip(inf) {
        let (s, own) = (c["start"].as_f64().unwrap(), c["own_ms"].as_f64().unwrap());
        let (rs, rd) = (r["start"].as_f64().unwrap(), r["dur"].as_f64().unwrap());
        assert!(
            rs >= s - 0.01 && rs + rd <= s + own + 0.01,
            "{path}: the hook's span [{rs}, {}] lies inside the page's call [{s}, {}]",
            rs + rd,
            s + own
        );
        if c["warm"] == false {
            pairs.push((own, rd));
            matched.push(r);
        }
    }
    (pairs, matched, res)
}

#[test]
fn ort_dur_means_the_js_run_for_global_and_bundled_ort() {
    run_browser_test(async {
        let mut shares = Vec::new();
        let mut hook_p50 = Vec::new();
        for (shape, path) in [
            ("global", "/e2e/vad-global.html?n=200"),
            ("bundled", "/e2e/vad-bundle.html?n=200"),
        ] {
            let (pairs, recs, _) = vad_run(path).await;
            for r in &recs {
                assert_eq!(r["api"], "InferenceSession.run", "{shape}: {r}");
                assert_eq!(r["layer"], "model");
                assert!(r["ort_run"].is_string());
                assert_eq!(r["model_origin"], "fetched");
            }
            let own: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let hook: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let share = p50(&hook) / p50(&own);
            eprintln!(
                "{shape}: hook p50 {:.3} ms, page p50 {:.3} ms, share {share:.3} ({} calls)",
                p50(&hook),
                p50(&own),
                hook.len()
            );
            shares.push(share);
            hook_p50.push(p50(&hook));
        }
        let rel = shares[1] / shares[0];
        assert!(
            (rel - 1.0).abs() <= 0.05,
            "the hook's share of the page's call: bundled {:.3} vs global {:.3} (ratio {rel:.3}), not within 5 %",
            shares[1],
            shares[0]
        );
        // The raw p50s come from two browser processes run one after the other, so on a
        // shared machine they differ by the load (0.79 seen at load average 10); the share of
        // the page's own time above is the comparison that holds whatever the load.
        let raw = hook_p50[1] / hook_p50[0];
        eprintln!("hook p50 bundled / global = {raw:.3} (context only)");
    });
}

// ---- a forward pass is one inference ---------------------------------------------------------

fn save_sample(rig_traces: &Path, name: &str) {
    let Some(dir) = std::env::var_os("WEBINFER_SAMPLE_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = Vec::new();
    for r in read_traces(rig_traces) {
        lines.push(r.to_string());
    }
    std::fs::write(dir.join(format!("{name}.jsonl")), lines.join("\n") + "\n").unwrap();
}

/// Runs `path` through the rig's proxy in Chromium (result `name`) and checks that its outputs
/// are `direct`'s; waits until `settled` holds on (the result, the page's records) or 15 s,
/// then 1.5 s more for stragglers; returns the result and the page's records, the browser
/// stopped.
async fn run_settled(
    rig: &Rig,
    path: &str,
    name: &str,
    direct: &Value,
    settled: impl Fn(&Value, &[Value]) -> bool,
) -> (Value, Vec<Value>) {
    let url = rig.url(path, name);
    let browser = chromium().launch(&rig.launch(&url)).await.expect("launch");
    let res = rig.result(name, &browser).await;
    assert_eq!(outputs(direct), outputs(&res), "identical outputs");
    rig.records(|rs| settled(&res, rs)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let recs = rig.records(|_| true).await;
    browser.stop(Duration::from_secs(3)).await;
    (res, recs)
}

#[test]
fn nsfwjs_layers_model_classify_is_one_inference() {
    run_browser_test(async {
        let path = "/e2e/nsfwjs.html?backend=wasm&n=20";
        let direct = run_direct(false, None, path).await;
        let rig = Rig::start(false, None, false).await;
        let expected = |res: &Value| outputs(res).len() + res["warmups"].as_u64().unwrap() as usize;
        let (res, recs) = run_settled(&rig, path, "nsfwjs", &direct, |res, rs| {
            infers(rs).len() >= expected(res) && page_sid(rs).is_some()
        })
        .await;
        let expected = expected(&res);
        let inf = infers(&recs);
        assert_eq!(
            inf.len(),
            expected,
            "one infer per classify plus nsfwjs's warm-up: {:?}",
            inf.iter()
                .map(|r| (r["api"].clone(), r["model"].clone()))
                .collect::<Vec<_>>()
        );
        for r in &inf {
            assert_eq!(r["api"], "LayersModel.predict", "{r}");
            assert_eq!(r["layer"], "model");
            let m = &r["merged"][0];
            assert_eq!(m["api"], "tidy", "the tidy's view is merged: {r}");
            // nsfwjs's own warm-up (call 1) predicts on tf.zeros: no kernel outside the model;
            // every classify casts and divides its input first.
            if r["call"].as_u64().unwrap() > 1 {
                assert!(m["ops"].as_u64().unwrap() >= 2, "{r}");
            }
        }
        let models: std::collections::BTreeSet<_> =
            inf.iter().map(|r| r["model"].to_string()).collect();
        assert_eq!(models.len(), 1, "one model: {models:?}");
        save_sample(rig.traces.path(), "nsfwjs-layers-model");
        rig.shutdown().await;
    });
}

/// Builds the tiny BERT fixture (web/fixtures/tiny_text_models.py) into a temp dir.
fn bert_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("web/fixtures/tiny_text_models.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn transformers_js_helper_graphs_are_marked_and_counted_once() {
    run_browser_test(async {
        let path = "/e2e/transformers.html?n=10";
        let fixture = bert_fixture();
        let direct = run_direct(false, Some(fixture.path()), path).await;
        let rig = Rig::start(false, Some(fixture), false).await;
        let counts = |res: &Value| {
            let calls = res["calls"].as_array().unwrap().len();
            (calls, res["helper_calls"].as_u64().unwrap() as usize)
        };
        let (res, recs) = run_settled(&rig, path, "tfm", &direct, |res, rs| {
            let (calls, helpers) = counts(res);
            infers(rs).len() >= calls + helpers
        })
        .await;
        let (calls, helpers) = counts(&res);
        let inf = infers(&recs);
        assert_eq!(
            inf.len(),
            calls + helpers,
            "one infer per call, each layer once"
        );
        let (helper, model): (Vec<&&Value>, Vec<&&Value>) =
            inf.iter().partition(|r| r["model_origin"] == "generated");
        assert_eq!(model.len(), calls);
        assert_eq!(helper.len(), helpers);
        for r in &model {
            assert!(
                r["model"]
                    .as_str()
                    .unwrap()
                    .ends_with("/models/bert-tiny/onnx/model.onnx"),
                "{r}"
            );
            assert_eq!(r["model_origin"], "fetched");
        }
        for r in &helper {
            assert!(r["model_bytes"].as_u64().unwrap() < 4096, "{r}");
            assert!(r["model"].as_str().unwrap().starts_with("onnx:"), "{r}");
        }
        for r in inf.iter() {
            assert_eq!(r["api"], "InferenceSession.run", "{r}");
        }
        let helper_load = recs
            .iter()
            .find(|r| r["kind"] == "model_load" && r["model_origin"] == "generated")
            .expect("a model_load of the helper graph");
        assert!(
            helper_load["create_site"]
                .as_str()
                .is_some_and(|s| s.contains("/@huggingface/transformers/dist/transformers.js:")),
            "the helper graph was created inside the library: {helper_load}"
        );
        save_sample(rig.traces.path(), "transformers-feature-extraction");
        rig.shutdown().await;
    });
}

// ---- DevTools track -------------------------------------------------------------------------

#[test]
fn devtools_track_measures_each_inference_in_the_page_and_in_a_cdp_trace() {
    run_browser_test(async {
        let rig = Rig::start(false, None, true).await;
        let (browser, cdp) = chromium_cdp(&rig).await;
        let mut events = cdp.subscribe();
        cdp.call(
            "Tracing.start",
            json!({"transferMode": "ReportEvents", "traceConfig": {"includedCategories": ["devtools.timeline", "blink.user_timing", "toplevel"]}}),
            None,
        )
        .await
        .expect("Tracing.start");
        let page = cdp.attach_to_page().await.expect("attach");
        let url = rig.url("/e2e/ort.html?n=6", "dt");
        cdp.call("Page.navigate", json!({"url": url}), Some(&page))
            .await
            .expect("navigate");
        let res = rig.result("dt", &browser).await;
        let calls = outputs(&res).len();
        let recs = rig.records(|rs| infers(rs).len() >= calls).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let measures = cdp
            .evaluate(
                &page,
                "performance.getEntriesByType('measure').filter(m => m.detail && m.detail.devtools).map(m => ({name: m.name, start: m.startTime, dur: m.duration, detail: m.detail}))",
            )
            .await
            .expect("measures");
        cdp.call("Tracing.end", json!({}), None).await.expect("end");
        let mut trace = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ev = tokio::time::timeout_at(deadline, events.recv())
                .await
                .expect("tracing complete")
                .expect("cdp open");
            match ev["method"].as_str() {
                Some("Tracing.dataCollected") => {
                    trace.extend(ev["params"]["value"].as_array().unwrap().iter().cloned())
                }
                Some("Tracing.tracingComplete") => break,
                _ => {}
            }
        }
        drop(cdp);
        browser.stop(Duration::from_secs(3)).await;
        let inf = infers(&recs);
        let ms = measures.as_array().unwrap();
        let infer_measures: Vec<&Value> = ms
            .iter()
            .filter(|m| m["detail"]["webinfer"]["kind"] == "infer")
            .collect();
        assert_eq!(
            infer_measures.len(),
            inf.len(),
            "one measure per inference: {ms:?}"
        );
        assert!(ms
            .iter()
            .any(|m| m["detail"]["webinfer"]["kind"] == "model_load"));
        for m in &infer_measures {
            let d = &m["detail"]["devtools"];
            assert_eq!(d["dataType"], "track-entry");
            assert_eq!(d["trackGroup"], "webinfer");
            assert_eq!(d["track"], "webinfer ort");
            let seq = &m["detail"]["webinfer"]["seq"];
            let r = inf.iter().find(|r| &r["seq"] == seq).expect("its infer");
            assert!((m["start"].as_f64().unwrap() - r["start"].as_f64().unwrap()).abs() < 0.01);
            assert!((m["dur"].as_f64().unwrap() - r["dur"].as_f64().unwrap()).abs() < 0.01);
        }
        // In the DevTools trace: user-timing events of the same names, with the detail.
        let names: std::collections::BTreeSet<&str> = infer_measures
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        let in_trace: std::collections::BTreeSet<&str> = trace
            .iter()
            .filter(|e| {
                e["cat"]
                    .as_str()
                    .is_some_and(|c| c.contains("blink.user_timing"))
                    && e["args"].to_string().contains("track-entry")
            })
            .filter_map(|e| e["name"].as_str())
            .collect();
        for n in &names {
            assert!(
                in_trace.contains(n),
                "{n} in the DevTools trace ({} user-timing events with a devtools payload)",
                in_trace.len()
            );
        }
        rig.shutdown().await;
    });
}

// ---- the browser's own timeline, merged ---------------------------------------------------

#[test]
fn devtools_trace_merged_with_the_sessions_parses_in_trace_engine() {
    use webinfer_analyzer::perfetto::{merge, read_chrome_trace_from};
    use webinfer_analyzer::read::{read_all, ReadOptions};
    run_browser_test(async {
        let traces = tempfile::tempdir().unwrap();
        let ca = tempfile::tempdir().unwrap();
        let proxy = webinfer_proxy::ProxyOptions {
            ca_dir: Some(ca.path().to_path_buf()),
            ..Default::default()
        };
        // `webinfer audit --devtools-trace` of the bundled demo (TF.js + ORT on every frame)
        let mut o = webinfer_audit::AuditOptions::new(proxy);
        o.capture.sink.dir = traces.path().to_path_buf();
        o.duration = Duration::from_secs(15);
        o.label = Some("devtools".into());
        o.web_dir = repo_root().join("web");
        o.devtools_trace = true;
        let report = webinfer_audit::audit(o, tokio_util::sync::CancellationToken::new())
            .await
            .expect("audit");
        let run = &report.runs[0];
        let (trace_file, n) = run.devtools_trace.clone().expect("a browser trace");
        assert!(n > 1000, "{n} browser events");
        assert!(trace_file.extension().is_some_and(|e| e == "json"));
        // `webinfer export perfetto --browser-trace`
        let (sessions, _) = read_all(&run.files, &ReadOptions::default()).unwrap();
        let (events, meta) = read_chrome_trace_from(std::io::BufReader::new(
            std::fs::File::open(&trace_file).unwrap(),
        ))
        .unwrap();
        let merged = traces.path().join("merged.json");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&merged).unwrap());
        let st = merge(&sessions, events, meta, &mut w).unwrap();
        std::io::Write::flush(&mut w).unwrap();
        drop(w);
        assert!(!st.placed.is_empty(), "{st:?}");
        let placed: std::collections::BTreeSet<&str> =
            st.placed.iter().map(|(s, _)| s.as_str()).collect();
        let placed_sessions: Vec<_> = sessions
            .iter()
            .filter(|s| placed.contains(s.sid.as_str()))
            .collect();
        let infers: usize = placed_sessions.iter().map(|s| s.infers.len()).sum();
        let loads: usize = placed_sessions.iter().map(|s| s.model_loads.len()).sum();
        assert!(infers >= 10, "the demo inferred ({infers})");
        // a real consumer of Chrome traces: the DevTools panel's trace model
        let out = std::process::Command::new("node")
            .arg(repo_root().join("web/e2e/check-merged-trace.mjs"))
            .arg(&merged)
            .output()
            .expect("node");
        assert!(
            out.status.success(),
            "trace_engine could not parse the merged trace: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("checker JSON");
        let renderer: Vec<u64> = v["renderer_pids"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        for (sid, pid) in &st.placed {
            assert!(
                renderer.contains(pid),
                "{sid} placed on renderer {pid}: {v}"
            );
        }
        let on_threads: u64 = v["webinfer_threads"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] == "webinfer inference")
            .map(|t| t["entries"].as_u64().unwrap())
            .sum();
        assert_eq!(
            on_threads as usize, infers,
            "inferences on the renderer's webinfer threads: {v}"
        );
        assert!(
            v["main_thread_tasks"].as_u64().unwrap() > 0,
            "the renderer's own tasks: {v}"
        );
        let track = v["extension_tracks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "webinfer")
            .unwrap_or_else(|| panic!("a webinfer DevTools track: {v}"));
        assert_eq!(
            track["entries"].as_u64().unwrap() as usize,
            infers + loads,
            "{v}"
        );
    });
}
