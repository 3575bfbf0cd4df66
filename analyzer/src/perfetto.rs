//! Chrome trace-event JSON (`{"traceEvents":[…]}`) for ui.perfetto.dev and
//! chrome://tracing: one process per session, one thread (track) each for
//! model loads, inference, kernels, long tasks, long animation frames,
//! frames, video frames, probes and input; memory sources as counters.
//! Times are microseconds; sessions are aligned on their `time_origin`.
//!
//! [`merge`] instead joins the browser's own timeline: given a Chrome trace
//! recorded through CDP (`webinfer audit --devtools-trace`), each page
//! session is placed on its renderer process on the trace's clock, so the
//! DevTools panel and ui.perfetto.dev show inferences beside the renderer's
//! tasks, frames and GC (see [`merge`] for the clock rule).

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

/// Where one session's events go: process, thread ids, clock.
#[derive(Debug, Clone, Copy)]
struct Place {
    pid: u64,
    /// Thread id of track `t` (1-based, [`TRACKS`]) is `tid_base + t`.
    tid_base: u64,
    /// Trace time (µs) of the session's time origin (page `performance.now()` 0).
    base_us: f64,
    /// Name the process after the session (false: it is a real renderer).
    name_process: bool,
    /// Thread-name prefix (`"webinfer "` when merged into a browser trace).
    prefix: &'static str,
}

/// The events of one session (`pid`), times shifted by `offset_ms`.
pub fn session_events(s: &SessionData, pid: u32, offset_ms: f64) -> Vec<Value> {
    events_at(
        s,
        &Place {
            pid: u64::from(pid),
            tid_base: 0,
            base_us: offset_ms * 1000.0,
            name_process: true,
            prefix: "",
        },
    )
}

fn events_at(s: &SessionData, p: &Place) -> Vec<Value> {
    let pid = p.pid;
    let base = p.base_us;
    let tb = p.tid_base;
    let mut ev = Vec::new();
    let name = match &s.meta.label {
        Some(l) => format!("{} ({l})", s.sid),
        None => s.sid.clone(),
    };
    if p.name_process {
        ev.push(json!({"name":"process_name","ph":"M","pid":pid,"tid":0,"args":{"name":name}}));
    }
    for (tid, t) in TRACKS {
        let tid = tb + u64::from(*tid);
        ev.push(json!({"name":"thread_name","ph":"M","pid":pid,"tid":tid,"args":{"name":format!("{}{t}", p.prefix)}}));
        ev.push(json!({"name":"thread_sort_index","ph":"M","pid":pid,"tid":tid,"args":{"sort_index":tid}}));
    }
    let ts = |ms: f64| us(ms) + base;
    let x = |tid: u32, name: &str, cat: &str, start: f64, dur: f64, args: Value| json!({"name":name,"cat":cat,"ph":"X","pid":pid,"tid":tb + u64::from(tid),"ts":ts(start),"dur":us(dur.max(0.0)),"args":args});
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
        ev.push(json!({"name":"video frame","cat":"video","ph":"i","s":"t","pid":pid,"tid":tb + 7,"ts":ts(v.t),"args":{"presented":v.presented}}));
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
        ev.push(json!({"name":p.name,"cat":"paint","ph":"i","s":"p","pid":pid,"tid":tb,"ts":ts(p.start)}));
    }
    for m in &s.mems {
        for (src, v) in m.bytes.present() {
            ev.push(json!({"name":format!("{}memory {src}", p.prefix),"cat":"memory","ph":"C","pid":pid,"tid":tb,"ts":ts(m.ts),"args":{"MiB":v / 1048576.0}}));
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

/// Thread ids of merged sessions start here (real thread ids are OS ids, far lower).
pub const MERGED_TID_BASE: u64 = 0x7e00_0000;

/// What [`merge`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeStats {
    /// Events of the browser trace, copied unchanged.
    pub browser_events: u64,
    /// webinfer events added.
    pub webinfer_events: u64,
    /// Sessions placed on a renderer, with that renderer's process id.
    pub placed: Vec<(String, u64)>,
    /// Sessions left out: no navigation of theirs in the browser trace.
    pub unplaced: Vec<String>,
}

/// A renderer document in a Chrome trace: its `navigationStart`.
#[derive(Debug, Clone)]
struct Nav {
    url: String,
    ts: f64,
    pid: u64,
    tid: u64,
}

/// The events of a Chrome trace file: a JSON array, or an object with `traceEvents`
/// (its other members are returned too, to be kept).
pub fn read_chrome_trace(v: Value) -> Result<(Vec<Value>, serde_json::Map<String, Value>), String> {
    match v {
        Value::Array(a) => Ok((a, serde_json::Map::new())),
        Value::Object(mut o) => match o.remove("traceEvents") {
            Some(Value::Array(a)) => Ok((a, o)),
            _ => Err("a Chrome trace object needs a traceEvents array".into()),
        },
        _ => Err("a Chrome trace is a JSON array or an object with traceEvents".into()),
    }
}

/// [`read_chrome_trace`] of a JSON document read from `r`.
pub fn read_chrome_trace_from(
    r: impl std::io::Read,
) -> Result<(Vec<Value>, serde_json::Map<String, Value>), String> {
    let v: Value = serde_json::from_reader(r).map_err(|e| format!("not JSON: {e}"))?;
    read_chrome_trace(v)
}

fn navigations(events: &[Value]) -> Vec<Nav> {
    let mut out: Vec<Nav> = events
        .iter()
        .filter(|e| {
            e["name"] == "navigationStart"
                && e["cat"]
                    .as_str()
                    .is_some_and(|c| c.contains("blink.user_timing"))
        })
        .filter_map(|e| {
            Some(Nav {
                url: e["args"]["data"]["documentLoaderURL"].as_str()?.to_owned(),
                ts: e["ts"].as_f64()?,
                pid: e["pid"].as_u64()?,
                tid: e["tid"].as_u64()?,
            })
        })
        .filter(|n| !n.url.is_empty())
        .collect();
    out.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    out
}

/// A user-timing measure with the DevTools extensibility payload (what a page's own
/// `performance.measure(name, {detail: {devtools}})` records), so the DevTools Performance
/// panel shows a "webinfer" track for the merged sessions.
#[allow(clippy::too_many_arguments)]
fn measure_pair(
    pid: u64,
    tid: u64,
    id: u64,
    name: &str,
    start_us: f64,
    dur_us: f64,
    track: &str,
    props: Value,
) -> [Value; 2] {
    let detail = json!({"devtools": {"dataType": "track-entry", "trackGroup": "webinfer", "track": track, "color": "primary", "properties": props}});
    let id2 = json!({"local": format!("0x{id:x}")});
    [
        json!({"name": name, "cat": "blink.user_timing", "ph": "b", "pid": pid, "tid": tid, "ts": start_us, "id2": id2, "args": {"detail": detail.to_string()}}),
        json!({"name": name, "cat": "blink.user_timing", "ph": "e", "pid": pid, "tid": tid, "ts": start_us + dur_us, "id2": id2, "args": {}}),
    ]
}

/// Merges webinfer sessions into a Chrome trace recorded by the browser (CDP `Tracing`,
/// categories incl. `blink.user_timing`), on the trace's clock, and writes the result as one
/// trace-event JSON object (the trace's other top-level members kept).
///
/// Clock rule: a page session's `performance.now()` 0 is its document's time origin, which
/// the renderer logs as the `navigationStart` user-timing event of that document
/// (`args.data.documentLoaderURL` = the session's `url`); so trace `ts` (µs) =
/// `navigationStart.ts + 1000 × page ms`. The n-th session (by `time_origin`) of a URL takes
/// the n-th navigation to it. A worker session goes with its `parent`, shifted by the
/// difference of the two `time_origin`s. Placed sessions get their tracks as extra threads of
/// that renderer process (tids from [`MERGED_TID_BASE`], named "webinfer …") plus a
/// user-timing measure per inference and model load on the renderer's main thread (the
/// DevTools track payload), unless the trace already holds the page's own `webinfer …`
/// measures (`--devtools-track`). Sessions with no navigation in the trace are left out and
/// listed in [`MergeStats::unplaced`].
pub fn merge(
    sessions: &[SessionData],
    chrome: Vec<Value>,
    mut meta: serde_json::Map<String, Value>,
    out: &mut impl Write,
) -> std::io::Result<MergeStats> {
    let navs = navigations(&chrome);
    let has_own_measures = chrome.iter().any(|e| {
        e["cat"]
            .as_str()
            .is_some_and(|c| c.contains("blink.user_timing"))
            && e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("webinfer "))
    });
    let mut stats = MergeStats {
        browser_events: chrome.len() as u64,
        ..Default::default()
    };
    // documents first (by time origin), then workers with their parents
    let mut order: Vec<&SessionData> = sessions.iter().collect();
    order.sort_by(|a, b| {
        let w = |s: &SessionData| s.meta.parent.is_some();
        w(a).cmp(&w(b)).then(
            a.meta
                .time_origin
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.meta.time_origin.unwrap_or(f64::INFINITY)),
        )
    });
    let mut used = vec![false; navs.len()];
    let mut placed: std::collections::HashMap<&str, (Nav, Option<f64>)> = Default::default();
    let mut added = Vec::new();
    let mut next_id = 0x7e00_0000u64;
    for (k, s) in order.iter().enumerate() {
        let found = match &s.meta.parent {
            Some(parent) => placed.get(parent.as_str()).and_then(|(nav, torig)| {
                let shift = match (s.meta.time_origin, torig) {
                    (Some(a), Some(b)) => (a - b) * 1000.0,
                    _ => return None,
                };
                Some((
                    Nav {
                        ts: nav.ts + shift,
                        ..nav.clone()
                    },
                    s.meta.time_origin,
                ))
            }),
            None => s.meta.url.as_deref().and_then(|url| {
                let i = (0..navs.len()).find(|&i| !used[i] && navs[i].url == url)?;
                used[i] = true;
                Some((navs[i].clone(), s.meta.time_origin))
            }),
        };
        let Some((nav, torig)) = found else {
            stats.unplaced.push(s.sid.clone());
            continue;
        };
        let tid_base = MERGED_TID_BASE + 16 * k as u64;
        let place = Place {
            pid: nav.pid,
            tid_base,
            base_us: nav.ts,
            name_process: false,
            prefix: "webinfer ",
        };
        added.push(json!({"name":"thread_name","ph":"M","pid":nav.pid,"tid":tid_base,"args":{"name":format!("webinfer session {}", s.sid)}}));
        added.extend(events_at(s, &place));
        if !has_own_measures {
            let track = format!(
                "webinfer {}",
                if s.meta.parent.is_some() {
                    "worker"
                } else {
                    "page"
                }
            );
            for l in &s.model_loads {
                next_id += 1;
                let name = format!("webinfer load {}", crate::series::short_model(&l.model));
                added.extend(measure_pair(
                    nav.pid,
                    nav.tid,
                    next_id,
                    &name,
                    nav.ts + us(l.start),
                    us(l.dur.max(0.0)),
                    &track,
                    json!([["model", &*l.model]]),
                ));
            }
            for i in &s.infers {
                next_id += 1;
                let backend = s.backend_of(i);
                let name = format!(
                    "webinfer {} #{}",
                    crate::series::short_model(&i.model),
                    i.call
                );
                added.extend(measure_pair(
                    nav.pid,
                    nav.tid,
                    next_id,
                    &name,
                    nav.ts + us(i.start),
                    us(i.dur.max(0.0)),
                    &track,
                    json!([
                        ["model", &*i.model],
                        ["backend", &*backend],
                        ["call", i.call.to_string()]
                    ]),
                ));
            }
        }
        stats.placed.push((s.sid.clone(), nav.pid));
        placed.insert(&s.sid, (nav, torig));
    }
    stats.webinfer_events = added.len() as u64;
    meta.remove("traceEvents");
    out.write_all(b"{\"traceEvents\":[\n")?;
    let mut first = true;
    for e in chrome.iter().chain(added.iter()) {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, e)?;
    }
    out.write_all(b"\n]")?;
    for (k, v) in meta {
        out.write_all(b",")?;
        serde_json::to_writer(&mut *out, &k)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, &v)?;
    }
    out.write_all(b"}\n")?;
    Ok(stats)
}
