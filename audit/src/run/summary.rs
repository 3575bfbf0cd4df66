//! What an audit produced: [`RunSummary`] per run, [`AuditReport`] for the whole audit, and
//! [`StopReason`]. Both derive [`Serialize`]; `serde_json::to_value(&report)` is the document
//! `webinfer audit --out DIR` writes as `DIR/audit-summary.json`.
//!
//! The JSON of a run (keys sorted as `serde_json` writes them): `allowed`, `bad_lines`,
//! `browser`, `browser_version`, `devtools_trace` (`{file, events}` or `null`), `elapsed_s`,
//! `failed` (host → `{count, last_error}`), `files`, `flags`, `forwarded`, `infers`,
//! `interact` (`{clicks, keys, errors}` or `null`), `label`, `mem_samples`, `page_sessions`,
//! `peak_rss`, `proxy` (`{connections, requests, forwarded, local, upstream_errors,
//! tunnels}`), `records` (records per kind), `refused`, `repeat`, `seq_problems` (`[{sid, by,
//! missing, duplicates}]`), `sessions`, `stop` (the [`StopReason`] as text), `url`, `variant`.
//! The report: `interrupted`, `native` (`[{model, path, engine, native_p50_ms | error}]`),
//! `native_trace`, `runs`, `trace_dir`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::interact::InteractStats;
use crate::native_baseline::NativeOutcome;
use crate::tail::SeqProblem;

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `--duration` passed.
    Duration,
    /// `--until-infers` was reached.
    Infers(u64),
    /// Ctrl-C (or the caller's cancellation).
    Interrupted,
    /// The browser exited by itself.
    BrowserExited(String),
    /// No page session (no hook record) appeared within `page_wait`: the
    /// page did not load through the proxy, or its hooks could not run.
    NoPage(Duration),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Duration => write!(f, "duration reached"),
            StopReason::Infers(n) => write!(f, "{n} inferences seen"),
            StopReason::Interrupted => write!(f, "interrupted"),
            StopReason::BrowserExited(s) => write!(f, "browser exited ({s})"),
            StopReason::NoPage(d) => write!(
                f,
                "no page session after {:.0} s: the page did not load through the proxy or its hooks did not run",
                d.as_secs_f64()
            ),
        }
    }
}

/// Serialized as its [`Display`](std::fmt::Display) text (`"duration reached"`).
impl Serialize for StopReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The audited URL.
    pub url: String,
    /// `chromium` or `firefox`.
    pub browser: String,
    /// The browser's version.
    pub browser_version: String,
    /// The flags recorded in `session.browser.flags`.
    pub flags: Vec<String>,
    /// The variant.
    pub variant: String,
    /// Repeat number from 1.
    pub repeat: u32,
    /// The trace label.
    pub label: String,
    /// Trace files of this run (the sink's and the audit's own).
    pub files: Vec<PathBuf>,
    /// The audit's own file (`mem` and `session` records, `by:"audit"`); also in `files`.
    #[serde(skip)]
    pub audit_file: PathBuf,
    /// Page session ids (top level).
    pub page_sessions: Vec<String>,
    /// All sessions (pages, frames, workers).
    pub sessions: usize,
    /// Records per kind (`records` in JSON).
    #[serde(rename = "records")]
    pub kinds: BTreeMap<String, u64>,
    /// `infer` records per framework.
    pub infers: BTreeMap<String, u64>,
    /// Refused requests per host (allow-list and `--deny-host`/`--allow-host`).
    pub refused: BTreeMap<String, u64>,
    /// Forwarded requests per host.
    pub forwarded: BTreeMap<String, u64>,
    /// Failed exchanges per host: how many, and the last error
    /// (`{count, last_error}` in JSON).
    #[serde(serialize_with = "failed_json")]
    pub failed: BTreeMap<String, (u64, String)>,
    /// The proxy's counters at the end of the run (connections, requests,
    /// upstream errors…), to tell a page that never loaded from one without hooks.
    /// The JSON has the scalar counters (refusals are in `refused`).
    #[serde(serialize_with = "proxy_json")]
    pub proxy: webinfer_proxy::StatsSnapshot,
    /// Allowed hosts and why.
    pub allowed: BTreeMap<String, String>,
    /// Writers whose `seq` numbers have holes or repeats.
    #[serde(serialize_with = "seq_problems_json")]
    pub seq_problems: Vec<SeqProblem>,
    /// Unparsable trace lines.
    pub bad_lines: u64,
    /// `mem.rss` samples written.
    pub mem_samples: u64,
    /// Highest RSS sampled, bytes.
    pub peak_rss: u64,
    /// What `--interact` did.
    pub interact: Option<InteractStats>,
    /// Why the run ended.
    pub stop: StopReason,
    /// How long the browser ran (`elapsed_s`, seconds, in JSON).
    #[serde(rename = "elapsed_s", serialize_with = "secs_json")]
    pub elapsed: Duration,
    /// The browser's own trace (`--devtools-trace`, Chromium), and its event count
    /// (`{file, events}` in JSON).
    #[serde(serialize_with = "devtools_json")]
    pub devtools_trace: Option<(PathBuf, u64)>,
}

impl RunSummary {
    /// All `infer` records.
    pub fn infer_total(&self) -> u64 {
        self.infers.values().sum()
    }
}

/// The result of [`crate::audit`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The finished runs, in order.
    pub runs: Vec<RunSummary>,
    /// `<traces>/<label>`.
    pub trace_dir: PathBuf,
    /// Whether Ctrl-C stopped the audit (later runs were skipped).
    pub interrupted: bool,
    /// With `native`: every saved model's native baseline, or why it has none
    /// (`{model, path, engine, native_p50_ms}` or `{model, path, engine, error}` in JSON).
    #[serde(serialize_with = "native_json")]
    pub native: Vec<NativeOutcome>,
    /// With `native`: the baseline trace file (beside the page traces).
    pub native_trace: Option<PathBuf>,
}

fn failed_json<S: Serializer>(
    failed: &BTreeMap<String, (u64, String)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Failed<'a> {
        count: u64,
        last_error: &'a str,
    }
    s.collect_map(failed.iter().map(|(host, (count, e))| {
        (
            host,
            Failed {
                count: *count,
                last_error: e,
            },
        )
    }))
}

fn proxy_json<S: Serializer>(p: &webinfer_proxy::StatsSnapshot, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_struct("ProxyCounters", 6)?;
    m.serialize_field("connections", &p.connections)?;
    m.serialize_field("requests", &p.requests)?;
    m.serialize_field("forwarded", &p.forwarded)?;
    m.serialize_field("local", &p.local)?;
    m.serialize_field("upstream_errors", &p.upstream_errors)?;
    m.serialize_field("tunnels", &p.tunnels)?;
    m.end()
}

fn seq_problems_json<S: Serializer>(problems: &[SeqProblem], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Problem<'a> {
        sid: &'a str,
        by: &'a str,
        missing: u64,
        duplicates: u64,
    }
    s.collect_seq(problems.iter().map(|p| Problem {
        sid: &p.sid,
        by: &p.by,
        missing: p.missing,
        duplicates: p.duplicates,
    }))
}

fn secs_json<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn devtools_json<S: Serializer>(t: &Option<(PathBuf, u64)>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Trace<'a> {
        file: &'a PathBuf,
        events: u64,
    }
    t.as_ref()
        .map(|(file, events)| Trace {
            file,
            events: *events,
        })
        .serialize(s)
}

fn native_json<S: Serializer>(native: &[NativeOutcome], s: S) -> Result<S::Ok, S::Error> {
    struct Outcome<'a>(&'a NativeOutcome);
    impl Serialize for Outcome<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let n = self.0;
            let mut m = s.serialize_map(Some(4))?;
            m.serialize_entry("model", &n.model)?;
            m.serialize_entry("path", &n.path)?;
            m.serialize_entry("engine", &n.engine)?;
            match &n.result {
                Ok(p50) => m.serialize_entry("native_p50_ms", p50)?,
                Err(e) => m.serialize_entry("error", e)?,
            }
            m.end()
        }
    }
    s.collect_seq(native.iter().map(Outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The mapping `report_json` wrote field by field before the summary derived
    /// `Serialize`, kept as the reference the serialized summary must equal.
    fn report_json_before(r: &AuditReport) -> Value {
        let runs: Vec<Value> = r
            .runs
            .iter()
            .map(|s| {
                json!({
                    "url": s.url,
                    "browser": s.browser,
                    "browser_version": s.browser_version,
                    "variant": s.variant,
                    "repeat": s.repeat,
                    "label": s.label,
                    "flags": s.flags,
                    "files": s.files,
                    "page_sessions": s.page_sessions,
                    "sessions": s.sessions,
                    "records": s.kinds,
                    "infers": s.infers,
                    "refused": s.refused,
                    "forwarded": s.forwarded,
                    "failed": s.failed.iter().map(|(h, (n, e))| (h.clone(), json!({"count": n, "last_error": e}))).collect::<serde_json::Map<_, _>>(),
                    "proxy": {"connections": s.proxy.connections, "requests": s.proxy.requests, "forwarded": s.proxy.forwarded, "local": s.proxy.local, "upstream_errors": s.proxy.upstream_errors, "tunnels": s.proxy.tunnels},
                    "allowed": s.allowed,
                    "seq_problems": s.seq_problems.iter().map(|p| json!({"sid": p.sid, "by": p.by, "missing": p.missing, "duplicates": p.duplicates})).collect::<Vec<_>>(),
                    "bad_lines": s.bad_lines,
                    "mem_samples": s.mem_samples,
                    "peak_rss": s.peak_rss,
                    "interact": s.interact.map(|i| json!({"clicks": i.clicks, "keys": i.keys, "errors": i.errors})),
                    "stop": s.stop.to_string(),
                    "elapsed_s": s.elapsed.as_secs_f64(),
                    "devtools_trace": s.devtools_trace.as_ref().map(|(p, n)| json!({"file": p, "events": n})),
                })
            })
            .collect();
        let native: Vec<Value> = r
            .native
            .iter()
            .map(|n| match &n.result {
                Ok(p50) => {
                    json!({"model": n.model, "path": n.path, "engine": n.engine, "native_p50_ms": p50})
                }
                Err(e) => json!({"model": n.model, "path": n.path, "engine": n.engine, "error": e}),
            })
            .collect();
        json!({"trace_dir": r.trace_dir, "interrupted": r.interrupted, "runs": runs, "native": native, "native_trace": r.native_trace})
    }

    fn run(full: bool) -> RunSummary {
        let map = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
        };
        RunSummary {
            url: "https://demo.webinfer.test:8443/?x=1".into(),
            browser: "chromium".into(),
            browser_version: "156.0.1".into(),
            flags: vec!["--headless".into(), "proxy:strip-isolation".into()],
            variant: if full { "no-threads" } else { "default" }.into(),
            repeat: 2,
            label: "lbl".into(),
            files: vec!["/t/lbl/a.jsonl".into(), "/t/lbl/audit-x.jsonl".into()],
            audit_file: "/t/lbl/audit-x.jsonl".into(),
            page_sessions: vec!["p1".into()],
            sessions: 3,
            kinds: map(&[("infer", 7), ("session", 3)]),
            infers: map(&[("ort", 7)]),
            refused: if full {
                map(&[("ads.test", 2)])
            } else {
                BTreeMap::new()
            },
            forwarded: map(&[("demo.webinfer.test", 12)]),
            failed: if full {
                [("cdn.test".to_owned(), (3, "connection reset".to_owned()))].into()
            } else {
                BTreeMap::new()
            },
            proxy: webinfer_proxy::StatsSnapshot {
                connections: 4,
                requests: 20,
                forwarded: 12,
                local: 6,
                upstream_errors: 1,
                tunnels: 0,
                refused: map(&[("ads.test", 2)]),
            },
            allowed: [("demo.webinfer.test".to_owned(), "audited".to_owned())].into(),
            seq_problems: if full {
                vec![SeqProblem {
                    sid: "p1".into(),
                    by: "hook".into(),
                    missing: 2,
                    duplicates: 1,
                }]
            } else {
                Vec::new()
            },
            bad_lines: 1,
            mem_samples: 10,
            peak_rss: 123_456_789,
            interact: full.then_some(InteractStats {
                clicks: 5,
                keys: 2,
                errors: 1,
            }),
            stop: if full {
                StopReason::NoPage(Duration::from_secs(60))
            } else {
                StopReason::Infers(7)
            },
            elapsed: Duration::from_millis(15_250),
            devtools_trace: full.then(|| ("/t/lbl/devtools-x.json".into(), 4321)),
        }
    }

    fn report() -> AuditReport {
        AuditReport {
            runs: vec![run(true), run(false)],
            trace_dir: "/t/lbl".into(),
            interrupted: true,
            native: vec![
                NativeOutcome {
                    model: "https://x/m.onnx".into(),
                    path: "/t/lbl/models/m.onnx".into(),
                    engine: "ort".into(),
                    inputs: Some("/t/lbl/models/in.json".into()),
                    result: Ok(1.25),
                },
                NativeOutcome {
                    model: "m2".into(),
                    path: "/t/lbl/models/m2.tflite".into(),
                    engine: "litert".into(),
                    inputs: None,
                    result: Err("no runner".into()),
                },
            ],
            native_trace: Some("/t/lbl/native-1.jsonl".into()),
        }
    }

    #[test]
    fn serializes_as_the_field_by_field_mapping_did() {
        let r = report();
        assert_eq!(serde_json::to_value(&r).unwrap(), report_json_before(&r));
        let mut empty = report();
        empty.runs.clear();
        empty.native.clear();
        empty.native_trace = None;
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            report_json_before(&empty)
        );
    }

    #[test]
    fn summary_has_the_documented_keys() {
        let v = serde_json::to_value(report()).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&v),
            ["interrupted", "native", "native_trace", "runs", "trace_dir"]
        );
        assert_eq!(
            keys(&v["runs"][0]),
            [
                "allowed",
                "bad_lines",
                "browser",
                "browser_version",
                "devtools_trace",
                "elapsed_s",
                "failed",
                "files",
                "flags",
                "forwarded",
                "infers",
                "interact",
                "label",
                "mem_samples",
                "page_sessions",
                "peak_rss",
                "proxy",
                "records",
                "refused",
                "repeat",
                "seq_problems",
                "sessions",
                "stop",
                "url",
                "variant",
            ]
        );
        let run = &v["runs"][0];
        assert_eq!(
            run["failed"]["cdn.test"],
            json!({"count": 3, "last_error": "connection reset"})
        );
        assert_eq!(
            keys(&run["proxy"]),
            [
                "connections",
                "forwarded",
                "local",
                "requests",
                "tunnels",
                "upstream_errors"
            ]
        );
        assert_eq!(run["elapsed_s"], json!(15.25));
        assert_eq!(
            run["stop"],
            json!("no page session after 60 s: the page did not load through the proxy or its hooks did not run")
        );
        assert_eq!(
            run["devtools_trace"],
            json!({"file": "/t/lbl/devtools-x.json", "events": 4321})
        );
        assert_eq!(v["runs"][1]["interact"], Value::Null);
        assert_eq!(v["native"][0]["native_p50_ms"], json!(1.25));
        assert_eq!(v["native"][1]["error"], json!("no runner"));
        assert!(v["native"][0].get("inputs").is_none());
        assert!(run.get("audit_file").is_none());
    }
}
