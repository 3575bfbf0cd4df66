//! Every metric on a small hand-made trace, with the expected answer worked
//! out by hand in the comments.

use std::path::PathBuf;

use webinfer_analyzer::metrics::windows::Windows;
use webinfer_analyzer::metrics::{
    latency, memory, qoe, rendering, responsiveness, slowdown, smoothness,
};
use webinfer_analyzer::read::{read_all, ReadOptions};
use webinfer_analyzer::session::SessionData;
use webinfer_analyzer::table::{apply_baselines, session_rows, M};

use crate::common::{jsonl, read_one};

fn close(a: Option<f64>, b: f64) {
    let a = a.unwrap_or_else(|| panic!("expected {b}, got None"));
    assert!((a - b).abs() < 1e-3, "expected {b}, got {a}");
}

/// Writes `lines` (one record per line) to a temp file and reads it back.
fn session(lines: &[&str]) -> SessionData {
    let (mut s, stats) = read_one("t.jsonl", jsonl(lines));
    assert_eq!(stats.skipped(), 0, "{stats}");
    assert_eq!(s.len(), 1);
    s.remove(0)
}

const LATENCY: &[&str] = &[
    r#"{"v":1,"sid":"lat","seq":0,"ts":0,"kind":"session","source":"page","label":"L"}"#,
    r#"{"v":1,"sid":"lat","seq":1,"ts":1,"kind":"env","framework":"tfjs","backend":"wasm"}"#,
    r#"{"v":1,"sid":"lat","seq":2,"ts":210,"kind":"model_load","framework":"tfjs","model":"m","start":10,"dur":200,"bytes":1000,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
    r#"{"v":1,"sid":"lat","seq":3,"ts":350,"kind":"infer","framework":"tfjs","model":"m","api":"a","start":300,"dur":50,"call":1}"#,
    r#"{"v":1,"sid":"lat","seq":4,"ts":410,"kind":"infer","framework":"tfjs","model":"m","api":"a","start":400,"dur":10,"call":2}"#,
    r#"{"v":1,"sid":"lat","seq":5,"ts":440,"kind":"infer","framework":"tfjs","model":"m","api":"a","start":420,"dur":20,"call":3}"#,
    r#"{"v":1,"sid":"lat","seq":6,"ts":480,"kind":"infer","framework":"tfjs","model":"m","api":"a","start":450,"dur":30,"call":4}"#,
    r#"{"v":1,"sid":"lat","seq":7,"ts":530,"kind":"infer","framework":"tfjs","model":"m","api":"a","start":490,"dur":40,"call":5}"#,
];

#[test]
fn latency_setup_warmup_percentiles_and_rate() {
    let s = session(LATENCY);
    let infers: Vec<_> = s.infers.iter().collect();
    let loads: Vec<_> = s.model_loads.iter().collect();
    // setup = model_load dur = 200; warm-up = call 1 dur = 50
    assert_eq!(latency::setup_ms(&loads), Some(200.0));
    assert_eq!(latency::warmup_ms(&infers), Some(50.0));
    // later calls: 10, 20, 30, 40
    let p = latency::prediction(&infers);
    assert_eq!(p.n, 4);
    close(p.p50, 25.0); // h = 3·0.5 = 1.5 → 20 + 0.5·10
    close(p.p90, 37.0); // h = 2.7 → 30 + 0.7·10
    close(p.p99, 39.7); // h = 2.97 → 30 + 0.97·10
    close(p.mean, 25.0);
    close(p.std, (500.0f64 / 3.0).sqrt()); // (15²+5²+5²+15²)/3 = 166.67 → 12.91
                                           // 4 later calls from start 400 to end 490 + 40 = 530: 4 / 0.130 s
    close(latency::inferences_per_s(&infers), 4.0 / 0.130);
    // the backend comes from the env record (infer has none)
    let rows = session_rows(&s);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key("backend"), "wasm");
    assert_eq!(rows[0].key("label"), "L");
    close(rows[0].get(M::PredP50), 25.0);
}

#[test]
fn slowdown_matches_native_by_sha256_then_model() {
    let browser = session(LATENCY);
    // native run of the same bytes (same sha256, other model id): later calls 4, 5, 6 → p50 5
    let native = session(&[
        r#"{"v":1,"sid":"nat","seq":0,"ts":0,"kind":"session","source":"native","engine":"ort"}"#,
        r#"{"v":1,"sid":"nat","seq":1,"ts":1,"kind":"model_load","framework":"ort","model":"/models/m.onnx","start":0,"dur":5,"bytes":1000,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
        r#"{"v":1,"sid":"nat","seq":2,"ts":9,"kind":"infer","framework":"ort","model":"/models/m.onnx","backend":"cpu","api":"run","start":6,"dur":3,"call":1}"#,
        r#"{"v":1,"sid":"nat","seq":3,"ts":14,"kind":"infer","framework":"ort","model":"/models/m.onnx","backend":"cpu","api":"run","start":10,"dur":4,"call":2}"#,
        r#"{"v":1,"sid":"nat","seq":4,"ts":20,"kind":"infer","framework":"ort","model":"/models/m.onnx","backend":"cpu","api":"run","start":15,"dur":5,"call":3}"#,
        r#"{"v":1,"sid":"nat","seq":5,"ts":27,"kind":"infer","framework":"ort","model":"/models/m.onnx","backend":"cpu","api":"run","start":21,"dur":6,"call":4}"#,
    ]);
    // another native run with the same model id "m" but other bytes: 100 ms; must lose to sha256
    let other = slowdown::ModelKey {
        sha256: Some("b".repeat(64)),
        model: "m".into(),
    };
    let mut rows = session_rows(&browser);
    let natives = session_rows(&native);
    let mut other_row = natives[0].clone();
    other_row.keys[7] = "m".into();
    other_row.keys[9] = other.sha256.clone().unwrap();
    other_row.values[M::PredP50 as usize] = Some(100.0);
    apply_baselines(&mut rows, &[natives[0].clone(), other_row]);
    // browser p50 25 / native p50 5 = 5×
    close(rows[0].get(M::NativeP50), 5.0);
    close(rows[0].get(M::SlowdownX), 5.0);
    // without a sha256 on the browser side the model id decides: 25 / 100
    let key = slowdown::ModelKey {
        sha256: None,
        model: "m".into(),
    };
    let nat = vec![
        (other, 100.0),
        (
            slowdown::ModelKey {
                sha256: None,
                model: "/x/m.onnx".into(),
            },
            5.0,
        ),
    ];
    assert_eq!(slowdown::native_p50(&key, &nat), Some((100.0, "model")));
    assert_eq!(slowdown::slowdown(25.0, 100.0), Some(0.25));
    assert_eq!(slowdown::slowdown(25.0, 0.0), None);
}

#[test]
fn slowdown_joins_the_page_model_to_native_bytes_through_the_proxy_net_sha256() {
    // The page's model_load has no sha256 (pages rarely know it); the proxy's
    // net record for the model URL (query ignored) carries the bytes' hash.
    // Warm calls 10, 20, 30 → browser p50 20 ms.
    let url = "https://site.test/models/det.onnx";
    let sha = "c".repeat(64);
    let page = session(&[
        r#"{"v":1,"sid":"pg","seq":0,"ts":0,"kind":"session","source":"page"}"#,
        &format!(
            r#"{{"v":1,"sid":"pg","seq":1,"ts":50,"kind":"model_load","framework":"ort","model":"{url}","start":0,"dur":50,"bytes":1000}}"#
        ),
        r#"{"v":1,"sid":"pg","seq":2,"ts":110,"kind":"infer","framework":"ort","model":"https://site.test/models/det.onnx","backend":"wasm","api":"InferenceSession.run","start":60,"dur":50,"call":1}"#,
        r#"{"v":1,"sid":"pg","seq":3,"ts":130,"kind":"infer","framework":"ort","model":"https://site.test/models/det.onnx","backend":"wasm","api":"InferenceSession.run","start":120,"dur":10,"call":2}"#,
        r#"{"v":1,"sid":"pg","seq":4,"ts":160,"kind":"infer","framework":"ort","model":"https://site.test/models/det.onnx","backend":"wasm","api":"InferenceSession.run","start":140,"dur":20,"call":3}"#,
        r#"{"v":1,"sid":"pg","seq":5,"ts":200,"kind":"infer","framework":"ort","model":"https://site.test/models/det.onnx","backend":"wasm","api":"InferenceSession.run","start":170,"dur":30,"call":4}"#,
        &format!(
            r#"{{"v":1,"sid":"pg","seq":0,"by":"proxy","ts":5,"kind":"net","url":"{url}?v=3","method":"GET","status":200,"bytes":1000,"start_unix_ms":1.0,"dur":4,"sha256":"{sha}"}}"#
        ),
    ]);
    // The native run of the saved file `<sha>.onnx`: no name in common with
    // the page's URL, only the bytes. Warm calls 4, 5 → p50 4.5 ms.
    let native = session(&[
        r#"{"v":1,"sid":"nt","seq":0,"ts":0,"kind":"session","source":"native"}"#,
        &format!(
            r#"{{"v":1,"sid":"nt","seq":1,"ts":1,"kind":"model_load","framework":"ort","model":"{sha}.onnx","start":0,"dur":1,"bytes":1000,"sha256":"{sha}"}}"#
        ),
        &format!(
            r#"{{"v":1,"sid":"nt","seq":2,"ts":5,"kind":"infer","framework":"ort","model":"{sha}.onnx","backend":"cpu","api":"Session.run","start":2,"dur":3,"call":1}}"#
        ),
        &format!(
            r#"{{"v":1,"sid":"nt","seq":3,"ts":10,"kind":"infer","framework":"ort","model":"{sha}.onnx","backend":"cpu","api":"Session.run","start":6,"dur":4,"call":2}}"#
        ),
        &format!(
            r#"{{"v":1,"sid":"nt","seq":4,"ts":16,"kind":"infer","framework":"ort","model":"{sha}.onnx","backend":"cpu","api":"Session.run","start":11,"dur":5,"call":3}}"#
        ),
    ]);
    assert_eq!(page.model_sha256(url).as_deref(), Some(sha.as_str()));
    let mut rows = session_rows(&page);
    assert_eq!(
        rows[0].key("sha256"),
        sha,
        "the row carries the net record's hash"
    );
    apply_baselines(&mut rows, &session_rows(&native));
    // 20 / 4.5 = 4.444…
    close(rows[0].get(M::NativeP50), 4.5);
    close(rows[0].get(M::SlowdownX), 20.0 / 4.5);
}

#[test]
fn memory_peaks_and_overhead() {
    let s = session(&[
        r#"{"v":1,"sid":"mem","seq":0,"ts":0,"kind":"model_load","framework":"tfjs","model":"a","start":0,"dur":1,"bytes":1000}"#,
        r#"{"v":1,"sid":"mem","seq":1,"ts":0,"kind":"model_load","framework":"tfjs","model":"b","start":0,"dur":1,"bytes":1500}"#,
        r#"{"v":1,"sid":"mem","seq":2,"ts":1,"kind":"mem","js_heap_used":100,"wasm_bytes":500}"#,
        r#"{"v":1,"sid":"mem","seq":3,"ts":2,"kind":"mem","js_heap_used":300,"tf_bytes":2000}"#,
        r#"{"v":1,"by":"audit","sid":"mem","seq":0,"ts":3,"kind":"mem","js_heap_used":200,"rss":5000}"#,
    ]);
    let p = memory::peaks(&s.mems);
    // peaks: js 300, wasm 500, tf 2000, rss 5000, never-sampled sources None
    assert_eq!(
        (p.js_heap_used, p.wasm_bytes, p.tf_bytes, p.rss),
        (Some(300.0), Some(500.0), Some(2000.0), Some(5000.0))
    );
    assert_eq!((p.tf_gpu_bytes, p.ua_bytes), (None, None));
    // model bytes 1000 + 1500 = 2500; overhead = 5000 / 2500 = 2×; js heap 300 / 2500 = 0.12×
    assert_eq!(memory::model_bytes(&s.model_loads), Some(2500.0));
    assert_eq!(memory::overhead(p.max(), Some(2500.0)), Some(2.0));
    assert_eq!(memory::overhead(p.js_heap_used, Some(2500.0)), Some(0.12));
    assert_eq!(memory::overhead(p.max(), None), None);
}

/// Inference windows [100, 150] and [300, 320] plus frames, long tasks, LoAFs,
/// video frames, probes, inputs and paints.
const PAGE: &[&str] = &[
    r#"{"v":1,"sid":"pg","seq":0,"ts":0,"kind":"session","source":"page"}"#,
    r#"{"v":1,"sid":"pg","seq":1,"ts":150,"kind":"infer","framework":"tfjs","model":"m","backend":"webgl","api":"a","start":100,"dur":50,"call":1}"#,
    r#"{"v":1,"sid":"pg","seq":2,"ts":320,"kind":"infer","framework":"tfjs","model":"m","backend":"webgl","api":"a","start":300,"dur":20,"call":2}"#,
    r#"{"v":1,"sid":"pg","seq":3,"ts":200,"kind":"frames","t":[0,20,40,60,80,100,160]}"#,
    r#"{"v":1,"sid":"pg","seq":4,"ts":400,"kind":"frames","t":[180,200,300,350,370]}"#,
    r#"{"v":1,"sid":"pg","seq":5,"ts":400,"kind":"longtask","start":0,"dur":40}"#,
    r#"{"v":1,"sid":"pg","seq":6,"ts":400,"kind":"longtask","start":100,"dur":70}"#,
    r#"{"v":1,"sid":"pg","seq":7,"ts":400,"kind":"longtask","start":300,"dur":120}"#,
    r#"{"v":1,"sid":"pg","seq":8,"ts":400,"kind":"loaf","start":100,"dur":80,"blocking_dur":5}"#,
    r#"{"v":1,"sid":"pg","seq":9,"ts":400,"kind":"loaf","start":300,"dur":90,"blocking_dur":12.5}"#,
    r#"{"v":1,"sid":"pg","seq":10,"ts":400,"kind":"video_frames","t":[0,33,100,133],"presented":[0,1,3,4]}"#,
    r#"{"v":1,"sid":"pg","seq":11,"ts":400,"kind":"probe","start":50,"delay":2}"#,
    r#"{"v":1,"sid":"pg","seq":12,"ts":400,"kind":"probe","start":90,"delay":15}"#,
    r#"{"v":1,"sid":"pg","seq":13,"ts":400,"kind":"probe","start":120,"delay":30}"#,
    r#"{"v":1,"sid":"pg","seq":14,"ts":400,"kind":"probe","start":200,"delay":1}"#,
    r#"{"v":1,"sid":"pg","seq":15,"ts":400,"kind":"probe","start":310,"delay":8}"#,
    r#"{"v":1,"sid":"pg","seq":16,"ts":400,"kind":"probe","start":400,"delay":3}"#,
    r#"{"v":1,"sid":"pg","seq":17,"ts":400,"kind":"input","name":"pointerdown","start":10,"dur":40,"processing_start":12,"processing_end":20,"interaction_id":1}"#,
    r#"{"v":1,"sid":"pg","seq":18,"ts":400,"kind":"input","name":"pointerup","start":11,"dur":56,"processing_start":19,"processing_end":30,"interaction_id":1}"#,
    r#"{"v":1,"sid":"pg","seq":19,"ts":600,"kind":"input","name":"click","start":500,"dur":16,"processing_start":501,"processing_end":505,"interaction_id":2}"#,
    r#"{"v":1,"sid":"pg","seq":20,"ts":700,"kind":"input","name":"keydown","start":600,"dur":104,"processing_start":630,"processing_end":640,"interaction_id":3}"#,
    r#"{"v":1,"sid":"pg","seq":21,"ts":800,"kind":"input","name":"mousemove","start":700,"dur":8,"processing_start":704,"processing_end":705}"#,
    r#"{"v":1,"sid":"pg","seq":22,"ts":120,"kind":"paint","name":"first-contentful-paint","start":110}"#,
    r#"{"v":1,"sid":"pg","seq":23,"ts":300,"kind":"paint","name":"largest-contentful-paint","start":290}"#,
    r#"{"v":1,"sid":"pg","seq":24,"ts":500,"kind":"paint","name":"largest-contentful-paint","start":480}"#,
];

#[test]
fn smoothness_fps_dropped_longtasks_loaf_video() {
    let s = session(PAGE);
    let w = Windows::from_infers(&s.infers);
    let f = smoothness::frame_split(&s.frames, &w);
    // intervals: [0,20] [20,40] [40,60] [60,80] [80,100] (touches 100: outside) = 20 each,
    // [100,160] = 60 inside, [160,180] [180,200] = 20, [200,300] = 100 (touches 300: outside),
    // [300,350] = 50 inside, [350,370] = 20. Sorted: eight 20s, 50, 60, 100 → median 20,
    // dropped when > 30.
    assert_eq!(f.median_interval, Some(20.0));
    assert_eq!((f.n_inside, f.n_outside), (2, 9));
    // inside: 60, 50 → mean 55 → 1000/55 = 18.18 fps, both dropped
    close(f.fps_inside, 1000.0 / 55.0);
    close(f.dropped_inside, 1.0);
    // outside: 8·20 + 100 = 260 over 9 → 28.89 ms → 34.62 fps; 1 of 9 dropped
    close(f.fps_outside, 1000.0 / (260.0 / 9.0));
    close(f.dropped_outside, 1.0 / 9.0);
    // long tasks 40, 70, 120 → 3, TBT = 0 + 20 + 70 = 90
    assert_eq!(smoothness::long_tasks(&s.longtasks), (3, 90.0));
    // LoAF blocking 5 + 12.5
    assert_eq!(smoothness::loaf_blocking(&s.loafs), 17.5);
    // video: presented 0 → 4 over 133 ms → 4 / 0.133 = 30.08 fps
    close(smoothness::video_fps(&s.video), 4.0 / 0.133);
}

#[test]
fn responsiveness_probes_inputs_interactions() {
    let s = session(PAGE);
    let w = Windows::from_infers(&s.infers);
    let p = responsiveness::probe_split(&s.probes, &w);
    // [50,52] out, [90,105] in, [120,150] in, [200,201] out, [310,318] in, [400,403] out
    assert_eq!((p.n_inside, p.n_outside), (3, 3));
    // inside 8, 15, 30: p50 15, p95 h = 1.9 → 15 + 0.9·15 = 28.5
    close(p.p50_inside, 15.0);
    close(p.p95_inside, 28.5);
    // outside 1, 2, 3: p50 2, p95 → 2 + 0.9·1 = 2.9
    close(p.p50_outside, 2.0);
    close(p.p95_outside, 2.9);
    // input delays 2, 8, 1, 30, 4 → sorted 1 2 4 8 30, p95 h = 3.8 → 8 + 0.8·22 = 25.6
    close(responsiveness::input_delay_p95(&s.inputs), 25.6);
    // every input waited outside the session's inferences [100,150] and [300,320]
    let (inside, outside) = responsiveness::input_delay_p95_split(&s.inputs, &w);
    assert_eq!(inside, None);
    close(outside, 25.6);
    // with windows [0,15] and [620,700]: waits [10,12], [11,19], [600,630] inside (2, 8, 30:
    // p95 h = 1.9 → 8 + 0.9·22 = 27.8); [500,501] and [700,704] (touches 700) outside
    // (1, 4: p95 h = 0.95 → 1 + 0.95·3 = 3.85)
    let w2 = Windows::from_spans([(0.0, 15.0), (620.0, 700.0)]);
    let (inside, outside) = responsiveness::input_delay_p95_split(&s.inputs, &w2);
    close(inside, 27.8);
    close(outside, 3.85);
    // per interaction max dur: id1 max(40, 56) = 56, id2 16, id3 104 (no id: ignored)
    // sorted 16 56 104, p98 h = 1.96 → 56 + 0.96·48 = 102.08
    close(responsiveness::interaction_p98(&s.inputs), 102.08);
}

#[test]
fn rendering_paints_and_frame_time_increase() {
    let s = session(PAGE);
    assert_eq!(rendering::fcp(&s.paints), Some(110.0));
    // the later LCP candidate (ts 500) replaces the earlier one
    assert_eq!(rendering::lcp(&s.paints), Some(480.0));
    let w = Windows::from_infers(&s.infers);
    let f = smoothness::frame_split(&s.frames, &w);
    // (55 − 260/9) / (260/9) = (55 − 28.889) / 28.889 = 0.9038 → +90.4%
    close(
        rendering::frame_time_increase(f.mean_inside, f.mean_outside),
        (55.0 - 260.0 / 9.0) / (260.0 / 9.0),
    );
    assert_eq!(rendering::frame_time_increase(Some(20.0), None), None);
}

#[test]
fn qoe_coverage_and_prediction_age() {
    let s = session(&[
        r#"{"v":1,"sid":"q","seq":0,"ts":0,"kind":"video_frames","t":[0,10,20,30,40,50],"presented":[0,1,2,4,5,6]}"#,
        r#"{"v":1,"sid":"q","seq":1,"ts":15,"kind":"infer","framework":"tfjs","model":"m","backend":"wasm","api":"a","start":0,"dur":15,"call":1}"#,
        r#"{"v":1,"sid":"q","seq":2,"ts":32,"kind":"infer","framework":"tfjs","model":"m","backend":"wasm","api":"a","start":22,"dur":10,"call":2}"#,
        r#"{"v":1,"sid":"q","seq":3,"ts":46,"kind":"infer","framework":"tfjs","model":"m","backend":"wasm","api":"a","start":41,"dur":5,"call":3}"#,
    ]);
    let infers: Vec<_> = s.infers.iter().collect();
    // [0,10) has start 0, [10,20) none, [20,30) has 22, [30,40) none, [40,50) has 41 → 3 covered;
    // presented from frame 0 to the last: 6 − 0 = 6 (the callback missed counter 3) → 3/6
    close(qoe::coverage(&s.video, &infers), 0.5);
    // t=0, 10: nothing finished yet. t=20: newest finished ends 15, started 0 on frame P0 → 2 − 0 = 2.
    // t=30: still that one (the next ends 32) → 4 − 0 = 4. t=40: ended 32, started 22 → frame t=20
    // (P2) → 5 − 2 = 3. t=50: ended 46, started 41 → frame t=40 (P5) → 6 − 5 = 1.
    let ages = qoe::prediction_ages(&s.video, &infers);
    assert_eq!(ages, vec![2.0, 4.0, 3.0, 1.0]);
    // mean 2.5; p95 of 1 2 3 4: h = 2.85 → 3 + 0.85 = 3.85
    let row = &session_rows(&s)[0];
    close(row.get(M::QoeAgeMean), 2.5);
    close(row.get(M::QoeAgeP95), 3.85);
    close(row.get(M::QoeCoverage), 0.5);
}

#[test]
fn aggregation_mean_and_student_t_interval() {
    use webinfer_analyzer::aggregate::aggregate;
    use webinfer_analyzer::table::to_frame;
    let base = session_rows(&session(LATENCY))[0].clone();
    let mut rows = Vec::new();
    // group L: p50 10, 12, 14 over three sessions; group K: one session with 30
    for (i, (label, p50)) in [("L", 10.0), ("L", 12.0), ("L", 14.0), ("K", 30.0)]
        .iter()
        .enumerate()
    {
        let mut r = base.clone();
        r.keys[0] = format!("s{i}");
        r.keys[1] = (*label).into();
        r.values[M::PredP50 as usize] = Some(*p50);
        rows.push(r);
    }
    let agg = aggregate(&to_frame(&rows).unwrap(), &["label".to_string()]).unwrap();
    assert_eq!(agg.groups.len(), 2);
    let (k, l) = (&agg.groups[0], &agg.groups[1]);
    assert_eq!((k.keys[0].as_str(), l.keys[0].as_str()), ("K", "L"));
    assert_eq!((k.sessions, l.sessions), (1, 3));
    // L: mean 12, s = 2, half-width = t(2) · 2 / √3 = 4.303 · 1.1547 = 4.9687
    let c = l.cell(M::PredP50);
    close(c.mean, 12.0);
    close(c.ci95, 4.303 * 2.0 / 3f64.sqrt());
    assert_eq!(c.n, 3);
    // K: one value, no interval
    assert_eq!(k.cell(M::PredP50).ci95, None);
    let bad = aggregate(&to_frame(&rows).unwrap(), &["colour".to_string()]);
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("unknown --group-by key `colour`"));
}

#[test]
fn fixture_file_gives_the_same_answers_as_inline() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/page.jsonl");
    let (s, stats) = read_all(&[p], &ReadOptions::default()).unwrap();
    assert_eq!(stats.records, PAGE.len() as u64);
    assert_eq!(session_rows(&s[0]), session_rows(&session(PAGE)));
}

/// A `model_load` the hook wrote for a model found in memory after its first
/// call (`model_origin: "memory"`, nsfwjs's inlined weights) is no setup time
/// and does not move the start of model loading; its bytes still count.
#[test]
fn memory_model_loads_are_not_setup() {
    let s = session(&[
        r#"{"v":1,"sid":"mm","seq":0,"ts":0,"kind":"session","source":"page","label":"L"}"#,
        r#"{"v":1,"sid":"mm","seq":1,"ts":350,"kind":"infer","framework":"tfjs","model":"layers:model_1","api":"a","start":300,"dur":50,"call":1}"#,
        r#"{"v":1,"sid":"mm","seq":2,"ts":420,"kind":"model_load","framework":"tfjs","model":"layers:model_1","start":360,"dur":60,"bytes":4000,"model_origin":"memory","sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}"#,
    ]);
    let loads: Vec<_> = s.model_loads.iter().collect();
    assert_eq!(loads.len(), 1);
    assert_eq!(latency::setup_ms(&loads), None);
    assert_eq!(
        webinfer_analyzer::metrics::memory::first_model_start(&s.model_loads, &s.infers),
        Some(300.0)
    );
    assert_eq!(
        webinfer_analyzer::metrics::memory::model_bytes(&s.model_loads),
        Some(4000.0)
    );
}
