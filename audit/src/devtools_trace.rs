//! `webinfer audit --devtools-trace`: records the browser's own timeline (a Chrome trace of
//! the categories the DevTools Performance panel records) through CDP `Tracing` while a
//! Chromium run lasts, streamed to a `{"traceEvents":[…]}` file as the browser reports it.
//! `webinfer export perfetto --browser-trace FILE` then merges the run's webinfer sessions into
//! it on the trace's clock (`webinfer_analyzer::perfetto::merge`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cdp::Cdp;
use crate::AuditError;

/// The categories recorded: what the DevTools Performance panel records (main-thread tasks,
/// timeline events, frames, user timing incl. `navigationStart`, V8 execution and GC, loading).
pub const CATEGORIES: &[&str] = &[
    "toplevel",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "blink.user_timing",
    "loading",
    "latencyInfo",
    "v8.execute",
    "disabled-by-default-v8.gc",
];

/// A trace being recorded into a file.
pub struct Recorder {
    path: PathBuf,
    task: JoinHandle<Result<u64, AuditError>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Writes events as they arrive until `Tracing.tracingComplete`; returns the count.
async fn write_events(
    mut rx: mpsc::UnboundedReceiver<Value>,
    path: PathBuf,
) -> Result<u64, AuditError> {
    let f = std::fs::File::create(&path).map_err(|e| AuditError::io("creating", &path, e))?;
    let mut w = std::io::BufWriter::new(f);
    let io = |e| AuditError::io("writing", &path, e);
    w.write_all(b"{\"traceEvents\":[\n").map_err(io)?;
    let mut n = 0u64;
    while let Some(ev) = rx.recv().await {
        match ev["method"].as_str() {
            Some("Tracing.dataCollected") => {
                for e in ev["params"]["value"].as_array().into_iter().flatten() {
                    if n > 0 {
                        w.write_all(b",\n").map_err(io)?;
                    }
                    serde_json::to_writer(&mut w, e).map_err(|e| io(e.into()))?;
                    n += 1;
                }
            }
            Some("Tracing.tracingComplete") => {
                w.write_all(b"\n]}\n").map_err(io)?;
                w.flush().map_err(io)?;
                return Ok(n);
            }
            _ => {}
        }
    }
    Err(AuditError::Cdp(
        "the DevTools connection closed before the trace was complete".into(),
    ))
}

impl Recorder {
    /// Starts tracing ([`CATEGORIES`]) through the page's DevTools session `page` (so the
    /// trace's `TracingStartedInBrowser` names that page's frames, which DevTools needs),
    /// into `path`.
    pub async fn start(cdp: &Cdp, page: &str, path: &Path) -> Result<Recorder, AuditError> {
        let rx = cdp.subscribe();
        cdp.call(
            "Tracing.start",
            json!({
                "transferMode": "ReportEvents",
                "traceConfig": {"recordMode": "recordAsMuchAsPossible", "includedCategories": CATEGORIES}
            }),
            Some(page),
        )
        .await?;
        let task = tokio::spawn(write_events(rx, path.to_path_buf()));
        Ok(Recorder {
            path: path.to_path_buf(),
            task,
        })
    }

    /// Ends tracing and waits (≤ 60 s) until every event is in the file; returns its path
    /// and the number of events.
    pub async fn finish(self, cdp: &Cdp, page: &str) -> Result<(PathBuf, u64), AuditError> {
        cdp.call("Tracing.end", json!({}), Some(page)).await?;
        let n = tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .map_err(|_| AuditError::Cdp("no Tracing.tracingComplete within 60 s".into()))?
            .map_err(|e| AuditError::Cdp(format!("trace writer: {e}")))??;
        Ok((self.path, n))
    }
}
