//! The attribution rules (one call = one inference; helper graphs apart),
//! page identity, session metrics once per page and the memory growth
//! metrics, on the recorded sample traces (`traces/samples/hooks/`) and on
//! hand-made traces whose answers are worked out in the comments.

use std::path::{Path, PathBuf};

use serde_json::Value;
use webinfer_analyzer::attribution;
use webinfer_analyzer::metrics::memory;
use webinfer_analyzer::session::SessionData;
use webinfer_analyzer::table::{page_row, session_rows, M};

use crate::common::{analyze, jsonl, read_one, temp_file, write};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/samples/hooks")
}

fn session(lines: &[&str]) -> SessionData {
    let (mut s, stats) = read_one("t.jsonl", jsonl(lines));
    assert_eq!(stats.skipped(), 0, "{stats}");
    s.remove(0)
}

fn infer_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""kind": "infer""#) || l.contains(r#""kind":"infer""#))
        .count()
}

#[test]
fn nsfwjs_sample_counts_one_inference_per_classify_call() {
    // 20 classify calls + nsfwjs's own warm-up predict = 21, one model, no helpers
    let a = analyze(vec![samples().join("nsfwjs-layers-model.jsonl")]);
    assert_eq!(a.rows.len(), 1, "{:?}", a.rows);
    let r = &a.rows[0];
    assert_eq!(r.key("model"), "layers:model_1");
    assert_eq!(r.key("role"), "model");
    assert_eq!(r.get(M::InferN), Some(21.0));
    assert_eq!(r.get(M::PredN), Some(20.0));
    assert!(a.helper_rows.is_empty());
    assert_eq!(a.page_rows.len(), 1);
    assert_eq!(a.page_rows[0].get(M::FoldedRecords), Some(0.0));
    // no label: the page (origin + path) and the browser from the user agent
    assert_eq!(
        r.key("label"),
        "https://fidelity.webinfer.test:35495/e2e/nsfwjs.html"
    );
    assert_eq!(r.key("browser"), "chromium");
    assert_eq!(r.key("browser_version"), "156.0.0.0");
}

#[test]
fn nsfwjs_unmerged_two_layer_records_still_count_once() {
    // Rebuild the trace the hooks wrote before they merged layers: every
    // LayersModel.predict and the tf.tidy it ran in as two records (the
    // tidy under its own `ops:` model id, no `layer` field on either, as the
    // older hooks wrote). 42 infer records; the guard keeps the 21 predicts.
    let src = samples().join("nsfwjs-layers-model.jsonl");
    let mut out = String::new();
    let mut next_seq = 1000;
    for line in std::fs::read_to_string(&src).unwrap().lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "infer" {
            let merged = v["merged"][0].clone();
            let o = v.as_object_mut().unwrap();
            o.remove("merged");
            o.remove("layer");
            let mut tidy = v.clone();
            let t = tidy.as_object_mut().unwrap();
            for k in ["api", "model", "start", "dur"] {
                t.insert(k.into(), merged[k].clone());
            }
            t.insert("seq".into(), next_seq.into());
            next_seq += 1;
            t.remove("input_shapes");
            out.push_str(&format!("{tidy}\n"));
        }
        out.push_str(&format!("{v}\n"));
    }
    // the tidy records' seqs 1000.. are one contiguous run after a gap; give
    // the page writer no gap by renumbering in file order
    let mut seq = 0;
    let renumbered: String = out
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v.get("by").is_none() {
                v["seq"] = seq.into();
                seq += 1;
            }
            format!("{v}\n")
        })
        .collect();
    let (_dir, p) = temp_file("unmerged.jsonl", renumbered);
    assert_eq!(infer_lines(&p), 42);
    let a = analyze(vec![p]);
    let models: Vec<&str> = a.rows.iter().map(|r| r.key("model")).collect();
    assert_eq!(models, ["layers:model_1"], "the tidy view is not a model");
    assert_eq!(a.rows[0].get(M::InferN), Some(21.0));
    assert_eq!(a.page_rows[0].get(M::FoldedRecords), Some(21.0));
    assert_eq!(a.page_rows[0].get(M::LostRecords), Some(0.0));
    let summary = webinfer_analyzer::report::summary_lines(&a).join("\n");
    assert!(
        summary.contains("Inferences: 21 (one per library call); 21 infer records folded"),
        "{summary}"
    );
}

#[test]
fn transformers_sample_lists_the_topk_helper_graph_apart() {
    // 10 extractor runs of the BERT model; Transformers.js's topk graph
    // (83 bytes, model_origin "generated") ran 10 times beside it
    let a = analyze(vec![samples().join("transformers-feature-extraction.jsonl")]);
    assert_eq!(a.rows.len(), 1, "{:?}", a.rows);
    let r = &a.rows[0];
    assert!(r.key("model").ends_with("/bert-tiny/onnx/model.onnx"));
    assert_eq!(r.get(M::InferN), Some(10.0));
    // model bytes of the page's model only (the helper's 83 B left out)
    assert_eq!(r.get(M::ModelBytes), Some(111210.0));
    assert_eq!(a.helper_rows.len(), 1);
    let h = &a.helper_rows[0];
    assert_eq!((h.key("model"), h.key("role")), ("onnx:83B", "helper"));
    assert_eq!(h.get(M::InferN), Some(10.0));
    assert_eq!(h.get(M::ModelBytes), Some(83.0));
    assert_eq!(a.page_rows[0].get(M::HelperInfers), Some(10.0));
    // the aggregate holds the page's model only
    let models: Vec<&str> = a
        .aggregate
        .groups
        .iter()
        .map(|g| g.keys[3].as_str())
        .collect();
    assert_eq!(models.len(), 1);
    assert!(models[0].ends_with("model.onnx"));
    let secs = webinfer_analyzer::report::sections(&a).unwrap();
    let helpers = secs.iter().find(|s| s.title == "Helper graphs").unwrap();
    assert_eq!(helpers.rows.len(), 1);
    assert_eq!(helpers.rows[0][1], "onnx:83B");
    assert_eq!(helpers.rows[0][3], "10");
    let latency = secs.iter().find(|s| s.title == "Latency").unwrap();
    assert!(!latency
        .rows
        .iter()
        .any(|r| r.iter().any(|c| c.contains("83B"))));
}

const ORT: &str = r#""framework":"ort","backend":"wasm""#;

fn line(seq: u64, rest: &str) -> String {
    format!(r#"{{"v":1,"sid":"o","seq":{seq},"ts":{seq},{rest}}}"#)
}

#[test]
fn ort_model_and_wasm_records_of_one_run_count_once() {
    let lines = [
        line(0, r#""kind":"session","source":"page","label":"L""#),
        // run 1 at the JS API and its OrtRun inside it (same ort_run): one call
        line(
            1,
            &format!(
                r#""kind":"infer",{ORT},"model":"m.onnx","api":"InferenceSession.run","layer":"model","start":10,"dur":20,"call":1,"ort_run":"7:1""#
            ),
        ),
        line(
            2,
            &format!(
                r#""kind":"infer",{ORT},"model":"onnx:5000B","api":"OrtRun","layer":"wasm","start":12,"dur":15,"call":1,"ort_run":"7:1""#
            ),
        ),
        // run 2: the same, the wasm record without ort_run
        line(
            3,
            &format!(
                r#""kind":"infer",{ORT},"model":"m.onnx","api":"InferenceSession.run","layer":"model","start":40,"dur":20,"call":2,"ort_run":"7:2""#
            ),
        ),
        line(
            4,
            &format!(
                r#""kind":"infer",{ORT},"model":"onnx:5000B","api":"OrtRun","layer":"wasm","start":41,"dur":10,"call":2"#
            ),
        ),
        // another session handle's OrtRun overlapping run 3: a different run, kept
        line(
            5,
            &format!(
                r#""kind":"infer",{ORT},"model":"m.onnx","api":"InferenceSession.run","layer":"model","start":70,"dur":20,"call":3,"ort_run":"7:3""#
            ),
        ),
        line(
            6,
            &format!(
                r#""kind":"infer",{ORT},"model":"other.onnx","api":"OrtRun","layer":"wasm","start":75,"dur":5,"call":1,"ort_run":"9:1""#
            ),
        ),
        // a wasm run overlapping nothing: kept
        line(
            7,
            &format!(
                r#""kind":"infer",{ORT},"model":"other.onnx","api":"OrtRun","layer":"wasm","start":100,"dur":5,"call":2,"ort_run":"9:2""#
            ),
        ),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let s = session(&refs);
    // kept: 1, 3, 5, 6, 7 (indices 0, 2, 4, 5, 6); folded: 2 and 4
    assert_eq!(
        attribution::fold_layers(&s.infers),
        [true, false, true, false, true, true, true]
    );
    let rows = session_rows(&s);
    let n = |model: &str| {
        rows.iter()
            .find(|r| r.key("model") == model)
            .and_then(|r| r.get(M::InferN))
    };
    assert_eq!(n("m.onnx"), Some(3.0));
    assert_eq!(n("other.onnx"), Some(2.0));
    assert_eq!(n("onnx:5000B"), None);
    assert_eq!(page_row(&s).get(M::FoldedRecords), Some(2.0));
}

#[test]
fn layer_rank_follows_layer_then_api() {
    let s = session(&[
        r#"{"v":1,"sid":"r","seq":0,"ts":0,"kind":"infer","framework":"tfjs","model":"a","api":"tidy","start":0,"dur":1,"call":1}"#,
        r#"{"v":1,"sid":"r","seq":1,"ts":1,"kind":"infer","framework":"ort","model":"a","api":"SessionHandler.run","start":0,"dur":1,"call":2}"#,
        r#"{"v":1,"sid":"r","seq":2,"ts":2,"kind":"infer","framework":"ort","model":"a","api":"OrtRun","start":0,"dur":1,"call":3}"#,
        r#"{"v":1,"sid":"r","seq":3,"ts":3,"kind":"infer","framework":"tfjs","model":"a","api":"GraphModel.predict","start":0,"dur":1,"call":4}"#,
        r#"{"v":1,"sid":"r","seq":4,"ts":4,"kind":"infer","framework":"tfjs","model":"a","api":"tidy","layer":"model","start":0,"dur":1,"call":5}"#,
    ]);
    let ranks: Vec<u8> = s.infers.iter().map(attribution::layer_rank).collect();
    assert_eq!(ranks, [1, 2, 0, 3, 3]);
}

fn helper_session(extra: &[&str]) -> SessionData {
    let mut lines =
        vec![r#"{"v":1,"sid":"h","seq":0,"ts":0,"kind":"session","source":"page","label":"L"}"#];
    lines.extend_from_slice(extra);
    session(&lines)
}

#[test]
fn helper_rule_needs_small_generated_bytes_beside_a_real_model() {
    let real = r#"{"v":1,"sid":"h","seq":1,"ts":1,"kind":"infer","framework":"ort","backend":"wasm","model":"https://a.test/m.onnx","api":"InferenceSession.run","start":0,"dur":5,"call":1,"model_bytes":900000,"model_origin":"fetched"}"#;
    let small = r#"{"v":1,"sid":"h","seq":2,"ts":10,"kind":"infer","framework":"ort","backend":"wasm","model":"onnx:120B","api":"InferenceSession.run","start":10,"dur":1,"call":1,"model_bytes":120,"model_origin":"generated"}"#;
    // 20 KiB generated: above the 16 KiB limit, not a helper
    let big = r#"{"v":1,"sid":"h","seq":3,"ts":20,"kind":"infer","framework":"ort","backend":"wasm","model":"onnx:20480B","api":"InferenceSession.run","start":20,"dur":1,"call":1,"model_bytes":20480,"model_origin":"generated"}"#;
    // no origin recorded (older hooks): an onnx:<n>B id of 300 B is one
    let old = r#"{"v":1,"sid":"h","seq":4,"ts":30,"kind":"infer","framework":"ort","backend":"wasm","model":"onnx:300B","api":"InferenceSession.run","start":30,"dur":1,"call":1}"#;
    // small but fetched: the page's own (tiny) model, not a helper
    let fetched = r#"{"v":1,"sid":"h","seq":5,"ts":40,"kind":"infer","framework":"ort","backend":"wasm","model":"https://a.test/tiny.onnx","api":"InferenceSession.run","start":40,"dur":1,"call":1,"model_bytes":200,"model_origin":"fetched"}"#;
    let s = helper_session(&[real, small, big, old, fetched]);
    let infers: Vec<_> = s.infers.iter().collect();
    let h: Vec<String> = attribution::helper_models(&infers, &s.model_loads)
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(h, ["onnx:120B", "onnx:300B"]);
    // the origin may come from the model_load alone
    let load = r#"{"v":1,"sid":"h","seq":2,"ts":9,"kind":"model_load","framework":"ort","model":"graph-x","start":8,"dur":1,"bytes":64,"model_origin":"generated"}"#;
    let run = r#"{"v":1,"sid":"h","seq":3,"ts":10,"kind":"infer","framework":"ort","backend":"wasm","model":"graph-x","api":"InferenceSession.run","start":10,"dur":1,"call":1}"#;
    let s = helper_session(&[real, load, run]);
    let infers: Vec<_> = s.infers.iter().collect();
    assert_eq!(attribution::helper_models(&infers, &s.model_loads).len(), 1);
    // a page whose only model is a small generated graph is measuring it
    let s = helper_session(&[small]);
    let rows = session_rows(&s);
    assert_eq!(rows[0].key("role"), "model");
}

#[test]
fn memory_growth_from_before_the_first_load_to_the_peak() {
    // js heap / wasm / rss samples; first model_load starts at 100.
    // page bytes (js + wasm + tf_gpu, carried forward):
    //   ts 50: js 10 + wasm 0 (not yet sampled)  = 10
    //   ts 90: js 12 + wasm 8                    = 20   ← last at or before 100: baseline
    //   ts 200: js 30 + wasm 8 (carried)         = 38
    //   ts 300: js 25 + wasm 40 + gpu 5          = 70   ← peak
    //   ts 400: js 20 + wasm 40                  = 65  (gpu 5 carried → 65)
    // growth = 70 − 20 = 50; the tf_bytes sample (ts 250) is not a point.
    // renderer RSS: 1000 at 80 (baseline), 1600 at 350 → 600
    // browser RSS: 5000 at 60 (baseline), 9000 at 310 → 4000
    let s = session(&[
        r#"{"v":1,"sid":"m","seq":0,"ts":0,"kind":"session","source":"page","url":"https://a.test/p.html?x=1","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}"#,
        r#"{"v":1,"sid":"m","seq":1,"ts":50,"kind":"mem","js_heap_used":10}"#,
        r#"{"v":1,"sid":"m","seq":0,"ts":60,"kind":"mem","by":"audit","rss":5000}"#,
        r#"{"v":1,"sid":"m","seq":1,"ts":80,"kind":"mem","by":"audit","renderer_rss":1000}"#,
        r#"{"v":1,"sid":"m","seq":2,"ts":90,"kind":"mem","js_heap_used":12,"wasm_bytes":8}"#,
        r#"{"v":1,"sid":"m","seq":3,"ts":150,"kind":"model_load","framework":"ort","model":"https://a.test/m.onnx","start":100,"dur":50,"bytes":10}"#,
        r#"{"v":1,"sid":"m","seq":4,"ts":200,"kind":"mem","js_heap_used":30}"#,
        r#"{"v":1,"sid":"m","seq":5,"ts":250,"kind":"mem","tf_bytes":999}"#,
        r#"{"v":1,"sid":"m","seq":6,"ts":300,"kind":"mem","js_heap_used":25,"wasm_bytes":40,"tf_gpu_bytes":5}"#,
        r#"{"v":1,"sid":"m","seq":2,"ts":310,"kind":"mem","by":"audit","rss":9000}"#,
        r#"{"v":1,"sid":"m","seq":3,"ts":350,"kind":"mem","by":"audit","renderer_rss":1600}"#,
        r#"{"v":1,"sid":"m","seq":7,"ts":400,"kind":"mem","js_heap_used":20}"#,
        r#"{"v":1,"sid":"m","seq":8,"ts":410,"kind":"infer","framework":"ort","backend":"wasm","model":"https://a.test/m.onnx","api":"InferenceSession.run","start":400,"dur":5,"call":1}"#,
    ]);
    let t0 = memory::first_model_start(&s.model_loads, &s.infers).unwrap();
    assert_eq!(t0, 100.0);
    let series = memory::page_bytes_series(&s.mems);
    assert_eq!(
        series,
        [
            (50.0, 10.0),
            (90.0, 20.0),
            (200.0, 38.0),
            (300.0, 70.0),
            (400.0, 65.0)
        ]
    );
    assert_eq!(memory::inference_growth(&s.mems, t0), Some(50.0));
    assert_eq!(memory::renderer_rss_growth(&s.mems, t0), Some(600.0));
    assert_eq!(memory::browser_rss_growth(&s.mems, t0), Some(4000.0));
    // before every sample: the first sample is the baseline (10 → 70)
    assert_eq!(memory::growth_after(&series, 0.0), Some(60.0));
    assert_eq!(memory::growth_after(&[], 0.0), None);
    let p = page_row(&s);
    assert_eq!(p.get(M::MemGrowth), Some(50.0));
    assert_eq!(p.get(M::MemGrowthX), Some(5.0)); // 50 / 10 model bytes
    assert_eq!(p.get(M::RendererRssGrowth), Some(600.0));
    assert_eq!(p.get(M::BrowserRssGrowth), Some(4000.0));
    // one model in the session: the ratio stays on its row too
    let rows = session_rows(&s);
    assert_eq!(rows[0].get(M::MemGrowthX), Some(5.0));
    // page identity without label or browser field
    assert_eq!(p.key("label"), "https://a.test/p.html");
    assert_eq!(p.key("page"), "https://a.test/p.html");
    assert_eq!(
        (p.key("browser"), p.key("browser_version")),
        ("firefox", "128.0")
    );
    assert_eq!(p.key("model"), "");
}

#[test]
fn session_metrics_once_per_page_not_per_model() {
    // two models in one session, two sessions of the same page: the
    // Memory table has one group (the page), the Latency table two (models)
    let dir = tempfile::tempdir().unwrap();
    for sid in ["s1", "s2"] {
        let rec = |seq: u64, rest: &str| {
            format!(r#"{{"v":1,"sid":"{sid}","seq":{seq},"ts":{seq},{rest}}}"#)
        };
        let lines = [
            rec(
                0,
                r#""kind":"session","source":"page","url":"https://a.test/app.html?run=1""#,
            ),
            rec(
                1,
                r#""kind":"model_load","framework":"ort","model":"a.onnx","start":0,"dur":1,"bytes":100"#,
            ),
            rec(
                2,
                r#""kind":"model_load","framework":"ort","model":"b.onnx","start":0,"dur":1,"bytes":300"#,
            ),
            rec(3, r#""kind":"mem","js_heap_used":1000"#),
            rec(
                4,
                r#""kind":"infer","framework":"ort","backend":"wasm","model":"a.onnx","api":"InferenceSession.run","start":10,"dur":2,"call":1"#,
            ),
            rec(
                5,
                r#""kind":"infer","framework":"ort","backend":"wasm","model":"b.onnx","api":"InferenceSession.run","start":20,"dur":2,"call":1"#,
            ),
            rec(6, r#""kind":"mem","js_heap_used":1800"#),
            rec(7, r#""kind":"end","reason":"done""#),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        write(dir.path(), &format!("{sid}.jsonl"), jsonl(&refs));
    }
    let a = analyze(vec![dir.path().to_path_buf()]);
    assert_eq!(a.rows.len(), 4);
    // two models per session: no per-model memory ratio
    assert!(a.rows.iter().all(|r| r.get(M::MemGrowthX).is_none()));
    assert_eq!(a.page_rows.len(), 2);
    // growth 1800 − 1000 = 800 over 400 model bytes = 2×, per page
    assert_eq!(a.page_rows[0].get(M::MemGrowthX), Some(2.0));
    assert_eq!(a.page_aggregate.groups.len(), 1);
    assert_eq!(a.page_aggregate.groups[0].sessions, 2);
    let secs = webinfer_analyzer::report::sections(&a).unwrap();
    let mem = secs.iter().find(|s| s.title == "Memory").unwrap();
    assert_eq!(mem.rows.len(), 1, "{:?}", mem.rows);
    assert!(!mem.headers.contains(&"model".to_string()));
    let lat = secs.iter().find(|s| s.title == "Latency").unwrap();
    assert_eq!(lat.rows.len(), 2);
}

#[test]
fn headline_per_page_in_plain_language() {
    let a = analyze(vec![
        samples().join("transformers-feature-extraction.jsonl"),
        samples().join("nsfwjs-layers-model.jsonl"),
    ]);
    let doc = webinfer_analyzer::report::page::document(&a).unwrap();
    // one section per page, the helper graph in none of its tiles or tables
    assert_eq!(
        doc.pages.len(),
        2,
        "{:?}",
        doc.pages.iter().map(|p| &p.title).collect::<Vec<_>>()
    );
    let text = format!(
        "{:?}",
        doc.pages
            .iter()
            .map(|p| (&p.tiles, &p.models))
            .collect::<Vec<_>>()
    );
    assert!(!text.contains("83B"), "{text}");
    let tfm = doc
        .pages
        .iter()
        .find(|p| p.title.contains("transformers.html"))
        .unwrap();
    assert_eq!(tfm.sessions, 1);
    let p50 = &tfm.tiles[0];
    assert!(
        p50.label.starts_with("Prediction p50 · onnx/model.onnx"),
        "{p50:?}"
    );
    assert!(p50.line.ends_with("; 10 inferences per session"), "{p50:?}");
    assert_eq!(
        p50.chart.as_deref(),
        Some(format!("{}-latency", tfm.id).as_str())
    );
    assert!(
        tfm.tiles
            .iter()
            .any(|t| t.label == "Memory attributable to inference"),
        "{:?}",
        tfm.tiles
    );
    assert_eq!(tfm.models.rows.len(), 1, "{:?}", tfm.models.rows);
    let nsfw = doc
        .pages
        .iter()
        .find(|p| p.title.contains("nsfwjs.html"))
        .unwrap();
    assert!(
        nsfw.tiles[0].label.ends_with("layers:model_1 · wasm")
            && nsfw.tiles[0].line.ends_with("; 21 inferences per session"),
        "{:?}",
        nsfw.tiles
    );
    // the Markdown report has the same sections in the same order as the HTML one
    let dir = tempfile::tempdir().unwrap();
    webinfer_analyzer::report::write_all(&a, dir.path(), &["md".into(), "html".into()]).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let order = |doc: &str| {
        let mut at: Vec<(usize, &str)> = [
            tfm.tiles[0].line.as_str(),
            nsfw.tiles[0].line.as_str(),
            "Appendix: full tables",
            "Definitions",
        ]
        .iter()
        .map(|s| (doc.find(s).unwrap_or_else(|| panic!("{s} missing")), *s))
        .collect();
        at.sort();
        at.into_iter().map(|x| x.1).collect::<Vec<_>>()
    };
    assert_eq!(order(&md), order(&html));
    assert!(html.contains("class=\"tile\""));
}
