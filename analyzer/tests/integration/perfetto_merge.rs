//! `perfetto::merge`: webinfer sessions joined into a browser's own Chrome trace on one
//! clock, on a hand-made trace whose numbers are known: a page session's events land on its
//! renderer process at `navigationStart.ts + 1000 × page ms`, its worker goes with it, a
//! session with no navigation in the trace is left out and named, and the browser's events
//! pass through unchanged.

use serde_json::{json, Value};
use webinfer_analyzer::perfetto::{merge, read_chrome_trace, MERGED_TID_BASE};
use webinfer_analyzer::read::{read_all, ReadOptions};

const PAGE: &str = "https://app.test/index.html";

fn session_file(dir: &std::path::Path) -> std::path::PathBuf {
    let recs = [
        json!({"v":1,"sid":"pg","seq":0,"ts":0,"kind":"session","source":"page","url":PAGE,"time_origin":1.7e12}),
        json!({"v":1,"sid":"pg","seq":1,"ts":10,"kind":"model_load","framework":"ort","model":"https://app.test/m.onnx","start":5.0,"dur":4.0}),
        json!({"v":1,"sid":"pg","seq":2,"ts":30,"kind":"infer","framework":"ort","model":"https://app.test/m.onnx","backend":"wasm","api":"InferenceSession.run","start":20.0,"dur":2.5,"call":1}),
        json!({"v":1,"sid":"pg","seq":3,"ts":40,"kind":"longtask","start":30.0,"dur":60.0}),
        json!({"v":1,"sid":"wk","seq":0,"ts":0,"kind":"session","source":"worker","url":"https://app.test/w.js","time_origin":1.7e12 + 100.0,"parent":"pg"}),
        json!({"v":1,"sid":"wk","seq":1,"ts":5,"kind":"infer","framework":"tfjs","model":"graph:1","backend":"wasm","api":"GraphModel.predict","start":1.0,"dur":3.0,"call":1}),
        json!({"v":1,"sid":"other","seq":0,"ts":0,"kind":"session","source":"page","url":"https://elsewhere.test/","time_origin":1.7e12}),
        json!({"v":1,"sid":"other","seq":1,"ts":5,"kind":"infer","framework":"ort","model":"x","start":1.0,"dur":1.0,"call":1}),
    ];
    let p = dir.join("t.jsonl");
    let text: Vec<String> = recs.iter().map(Value::to_string).collect();
    std::fs::write(&p, text.join("\n") + "\n").unwrap();
    p
}

fn chrome_trace() -> Value {
    json!({"traceEvents": [
        {"name":"thread_name","ph":"M","pid":42,"tid":7,"args":{"name":"CrRendererMain"}},
        {"name":"navigationStart","cat":"blink.user_timing","ph":"R","pid":42,"tid":7,"ts":5_000_000.0,
         "args":{"frame":"F1","data":{"documentLoaderURL":PAGE,"isLoadingMainFrame":true,"navigationId":"N1"}}},
        {"name":"RunTask","cat":"toplevel","ph":"X","pid":42,"tid":7,"ts":5_019_000.0,"dur":5000.0,"args":{}},
        {"name":"MajorGC","cat":"devtools.timeline,v8","ph":"X","pid":42,"tid":7,"ts":5_040_000.0,"dur":800.0,"args":{}}
    ], "metadata": {"source": "test"}})
}

#[test]
fn sessions_land_on_their_renderer_on_the_trace_clock() {
    let dir = tempfile::tempdir().unwrap();
    let f = session_file(dir.path());
    let (sessions, _) = read_all(&[f], &ReadOptions::default()).unwrap();
    let (events, meta) = read_chrome_trace(chrome_trace()).unwrap();
    let mut out = Vec::new();
    let st = merge(&sessions, events, meta, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["metadata"]["source"], "test",
        "the trace's other members are kept"
    );
    let ev = v["traceEvents"].as_array().unwrap();
    assert_eq!(st.browser_events, 4);
    assert_eq!(
        &ev[..4],
        chrome_trace()["traceEvents"].as_array().unwrap().as_slice(),
        "browser events unchanged, first"
    );
    assert_eq!(
        st.placed,
        vec![("pg".to_owned(), 42), ("wk".to_owned(), 42)]
    );
    assert_eq!(st.unplaced, vec!["other".to_owned()]);

    // the page's inference: navigationStart + 20 ms, 2.5 ms long, on a webinfer thread of pid 42
    let inf: Vec<&Value> = ev.iter().filter(|e| e["cat"] == "inference").collect();
    assert_eq!(inf.len(), 2);
    let page_inf = inf
        .iter()
        .find(|e| e["args"]["model"] == "https://app.test/m.onnx")
        .unwrap();
    assert_eq!(page_inf["pid"], 42);
    assert_eq!(page_inf["ts"], 5_020_000.0);
    assert_eq!(page_inf["dur"], 2500.0);
    assert!(page_inf["tid"].as_u64().unwrap() > MERGED_TID_BASE);
    let names: Vec<&str> = ev
        .iter()
        .filter(|e| e["name"] == "thread_name" && e["tid"] == page_inf["tid"])
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(names, vec!["webinfer inference"]);
    // it overlaps the renderer task that ran it (5 019 000 … 5 024 000)
    assert!(
        page_inf["ts"].as_f64().unwrap() >= 5_019_000.0
            && page_inf["ts"].as_f64().unwrap() + 2500.0 <= 5_024_000.0
    );

    // the worker: its time origin is 100 ms after the page's
    let w = inf
        .iter()
        .find(|e| e["args"]["model"] == "graph:1")
        .unwrap();
    assert_eq!(w["pid"], 42);
    assert_eq!(w["ts"], 5_000_000.0 + 100_000.0 + 1000.0);

    // long task on the webinfer long-task thread
    let lt = ev.iter().find(|e| e["cat"] == "longtask").unwrap();
    assert_eq!(lt["ts"], 5_030_000.0);

    // DevTools track: a user-timing measure per inference and load on the main thread
    let b: Vec<&Value> = ev
        .iter()
        .filter(|e| e["cat"] == "blink.user_timing" && e["ph"] == "b")
        .collect();
    assert_eq!(b.len(), 3, "2 inferences + 1 model load");
    let m = b
        .iter()
        .find(|e| e["name"] == "webinfer app.test/m.onnx #1")
        .unwrap();
    assert_eq!(
        (m["pid"].clone(), m["tid"].clone(), m["ts"].clone()),
        (json!(42), json!(7), json!(5_020_000.0))
    );
    let detail: Value = serde_json::from_str(m["args"]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["devtools"]["dataType"], "track-entry");
    let e = ev
        .iter()
        .find(|e| e["ph"] == "e" && e["id2"] == m["id2"])
        .unwrap();
    assert_eq!(e["ts"], 5_022_500.0);
}

#[test]
fn a_trace_with_the_pages_own_measures_gets_no_second_copy() {
    let dir = tempfile::tempdir().unwrap();
    let f = session_file(dir.path());
    let (sessions, _) = read_all(&[f], &ReadOptions::default()).unwrap();
    let mut t = chrome_trace();
    t["traceEvents"].as_array_mut().unwrap().push(json!({"name":"webinfer m.onnx #1","cat":"blink.user_timing","ph":"b","pid":42,"tid":7,"ts":5_020_000.0,"id2":{"local":"0x1"},"args":{"detail":"{}"}}));
    let (events, meta) = read_chrome_trace(t).unwrap();
    let mut out = Vec::new();
    merge(&sessions, events, meta, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let b = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "blink.user_timing" && e["ph"] == "b")
        .count();
    assert_eq!(b, 1);
}

#[test]
fn not_a_chrome_trace_is_a_clear_error() {
    assert!(read_chrome_trace(json!({"events": []}))
        .unwrap_err()
        .contains("traceEvents"));
    assert!(read_chrome_trace(json!(3)).is_err());
    let (e, m) = read_chrome_trace(json!([{"name": "x"}])).unwrap();
    assert_eq!((e.len(), m.len()), (1, 0));
}
