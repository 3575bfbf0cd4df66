//! Chrome trace-event JSON (`{"traceEvents":[…]}`) for ui.perfetto.dev and
//! chrome://tracing: one process per session, one thread (track) each for
//! model loads, inference, kernels, long tasks, long animation frames,
//! frames, video frames, probes and input; memory sources as counters.
//! Times are microseconds; sessions are aligned on their `time_origin`.

use std::io::Write;

use serde_json::{json, Value};

use crate::metrics::smoothness::frame_split;
use crate::metrics::windows::Windows;
use crate::session::SessionData;

/// Track ids (`tid`) and names.
pub const TRACKS: &[(u32, &str)] = &[
    (1, "model load"),
    (2, "inference"),
    (3, "kernels"),
    (4, "long tasks"),
    (5, "long animation frames"),
    (6, "frames"),
    (7, "video frames"),
    (8, "main-thread probes"),
    (9, "input"),
];

fn us(ms: f64) -> f64 {
    (ms * 1000.0 * 1000.0).round() / 1000.0
}

/// The events of one session (`pid`), times shifted by `offset_ms`.
pub fn session_events(s: &SessionData, pid: u32, offset_ms: f64) -> Vec<Value> {
    let mut ev = Vec::new();
    let name = match &s.meta.label {
        Some(l) => format!("{} ({l})", s.sid),
        None => s.sid.clone(),
    };
    ev.push(json!({"name":"process_name","ph":"M","pid":pid,"tid":0,"args":{"name":name}}));
    for (tid, t) in TRACKS {
        ev.push(json!({"name":"thread_name","ph":"M","pid":pid,"tid":tid,"args":{"name":t}}));
        ev.push(json!({"name":"thread_sort_index","ph":"M","pid":pid,"tid":tid,"args":{"sort_index":tid}}));
    }
    let x = |tid: u32, name: &str, cat: &str, start: f64, dur: f64, args: Value| json!({"name":name,"cat":cat,"ph":"X","pid":pid,"tid":tid,"ts":us(start + offset_ms),"dur":us(dur.max(0.0)),"args":args});
    for l in &s.model_loads {
        ev.push(x(
            1,
            &format!("load {}", crate::series::short_model(&l.model)),
            "model_load",
            l.start,
            l.dur,
            json!({"model":&*l.model,"bytes":l.bytes,"sha256":l.sha256}),
        ));
    }
    for i in &s.infers {
        let backend = s.backend_of(i);
        ev.push(x(
            2,
            &format!("{} · {backend}", crate::series::short_model(&i.model)),
            "inference",
            i.start,
            i.dur,
            json!({"model":&*i.model,"backend":&*backend,"call":i.call,"seq":i.seq}),
        ));
    }
    // kernels without a start are laid end to end from their inference's start
    let mut cursor: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    for k in &s.kernels {
        let start = match (k.start, k.infer_seq) {
            (Some(st), _) => Some(st),
            (None, Some(seq)) => s.infers.iter().find(|i| i.seq == seq).map(|i| {
                let c = cursor.entry(seq).or_insert(i.start);
                let st = *c;
                *c += k.dur;
                st
            }),
            _ => None,
        };
        if let Some(st) = start {
            ev.push(x(
                3,
                &k.name,
                "kernel",
                st,
                k.dur,
                json!({"infer_seq":k.infer_seq}),
            ));
        }
    }
    for t in &s.longtasks {
        ev.push(x(
            4,
            "long task",
            "longtask",
            t.start,
            t.dur,
            json!({"blocking_ms":(t.dur - 50.0).max(0.0)}),
        ));
    }
    for l in &s.loafs {
        ev.push(x(
            5,
            "long animation frame",
            "loaf",
            l.start,
            l.dur,
            json!({"blocking_dur":l.blocking_dur}),
        ));
    }
    let windows = Windows::from_infers(&s.infers);
    let median = frame_split(&s.frames, &windows)
        .median_interval
        .unwrap_or(f64::INFINITY);
    for w in s.frames.windows(2) {
        let d = w[1] - w[0];
        let dropped = d > 1.5 * median;
        ev.push(x(
            6,
            if dropped { "dropped frame" } else { "frame" },
            "frames",
            w[0],
            d,
            json!({"interval_ms":d}),
        ));
    }
    for v in &s.video {
        ev.push(json!({"name":"video frame","cat":"video","ph":"i","s":"t","pid":pid,"tid":7,"ts":us(v.t + offset_ms),"args":{"presented":v.presented}}));
    }
    for p in &s.probes {
        ev.push(x(
            8,
            "probe delay",
            "probe",
            p.start,
            p.delay,
            json!({"delay_ms":p.delay}),
        ));
    }
    for i in &s.inputs {
        ev.push(x(9, "input", "input", i.start, i.dur, json!({"input_delay_ms":i.processing_start - i.start,"interaction_id":i.interaction_id})));
    }
    for p in &s.paints {
        ev.push(json!({"name":p.name,"cat":"paint","ph":"i","s":"p","pid":pid,"tid":0,"ts":us(p.start + offset_ms)}));
    }
    for m in &s.mems {
        for (src, v) in m.bytes.present() {
            ev.push(json!({"name":format!("memory {src}"),"cat":"memory","ph":"C","pid":pid,"tid":0,"ts":us(m.ts + offset_ms),"args":{"MiB":v / 1048576.0}}));
        }
    }
    ev
}

/// Writes the sessions as one trace-event JSON object; returns the number
/// of events written.
pub fn write(sessions: &[SessionData], out: &mut impl Write) -> std::io::Result<u64> {
    let t0 = sessions
        .iter()
        .filter_map(|s| s.meta.time_origin)
        .fold(f64::INFINITY, f64::min);
    out.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")?;
    let mut n = 0u64;
    for (i, s) in sessions.iter().enumerate() {
        let offset = match s.meta.time_origin {
            Some(t) if t0.is_finite() => t - t0,
            _ => 0.0,
        };
        for e in session_events(s, i as u32 + 1, offset) {
            if n > 0 {
                out.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut *out, &e)?;
            n += 1;
        }
    }
    out.write_all(b"\n]}\n")?;
    Ok(n)
}
