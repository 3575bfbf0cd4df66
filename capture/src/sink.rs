//! The trace sink: answers the hook's record batches on every host, locally
//! (through the capture handler, [`crate::Capture`]), and writes one JSON
//! Lines file per session.
//!
//! - `POST /__webinfer__/trace` (the endpoint path; exact match, any host) is
//!   answered by the proxy and never forwarded. The body is a JSON array of
//!   records or JSON Lines (see [`batch`]), at most [`SinkConfig::max_body`]
//!   bytes (read incrementally; `413` beyond, nothing stored). Answers:
//!   `204` all stored; `400` with `{"stored":N,"invalid":M,"errors":[…]}`
//!   when the body or some records were bad or refused — the valid records
//!   of that batch ARE stored, so the hook must not resend; `403` with
//!   `{"error":…}` when the browser says the POST comes from another origin
//!   ([`guard::check_headers`]; nothing stored); `429` with
//!   `{"rate_limited":N}` when a session exceeds
//!   [`SinkConfig::max_records_per_sec`] ([`rate`]; nothing of that batch stored; the
//!   first batch of each one-second window is always taken so a large batch
//!   cannot be refused forever; an `end` record does not reset the window);
//!   `507` with `{"stored":0,"error":…}` when the batch would take the run
//!   over its byte or file budget ([`SinkConfig::max_bytes`],
//!   [`SinkConfig::max_files`]; nothing of that batch stored, so it may be
//!   sent again); `405` for other methods; `503` when the file cannot be
//!   written. `GET /__webinfer__/ping` answers `200`.
//! - **Who may write** ([`guard`]): a page record is stored only for a
//!   session id this proxy issued to an injected document or worker (or a
//!   derived worker id, or the id of a file an earlier run left), posted to
//!   that document's own origin, without `by` and not of a proxy-only kind.
//!   A page cannot create files by inventing ids.
//! - Each stored record goes to `DIR/<label>/<sid>.jsonl` (label `default`
//!   when none), as one whole line, with its URLs scrubbed ([`redact`]:
//!   fragments and user info dropped, secret-looking query values replaced).
//! - **No file I/O on the async runtime** ([`writer`]): one thread owns the
//!   files. Lines of a batch are flushed to the file before the batch is
//!   acknowledged; records the proxy writes itself are flushed within a
//!   second. An `end` record flushes and closes the file; files idle for
//!   [`SinkConfig::idle_close`] are closed.
//! - The proxy's own records (`records`) carry `by: "proxy"` and their own `seq` per
//!   session: a `session` record for each injected document or worker
//!   ([`TraceSink::open_session`]) and a `net` record for each forwarded
//!   exchange (from the capture filter's `on_complete`), attributed to a page by
//!   [`assoc`]; `ts` is the record's Unix time minus the session's
//!   `time_origin` (the proxy's clock at injection). Exchanges no page can be
//!   named for go to `DIR/<label>/_proxy.jsonl` under the session id
//!   `_proxy-<run start Unix ms>-<8 random hex digits>` (one per proxy run; ts from the run start).
//! - [`SinkStats`] counts stored records per kind (the `infer` count is what
//!   `webinfer audit --until-infers` polls), malformed bodies, invalid,
//!   unknown-sid, forged, cross-site, rate-limited and over-budget records,
//!   oversized bodies, other methods, body bytes and bytes written — bad
//!   input is counted whatever the answer; [`TraceSink::files`] lists the
//!   files.
//!
//! The sink is split by concern behind the thin [`TraceSink`] (this file:
//! the type, its start, accessors and shutdown): `endpoint` answers the
//! HTTP requests, [`rate`] limits records per session and second,
//! [`writer`] owns the open files, the budget and the flush timer, `stats`
//! holds the counters ([`SinkStats`]), `records` writes the proxy's own
//! records (via `net`), [`guard`] keeps the session registry, `config`
//! the settings ([`SinkConfig`]).

pub mod assoc;
pub mod batch;
mod config;
mod endpoint;
pub mod guard;
mod net;
pub mod rate;
mod records;
pub mod redact;
mod stats;
pub mod upload;
pub mod writer;

pub use config::{SinkConfig, SinkError, SinkLimits, DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES};
pub use endpoint::{PING_PATH, TRACE_PATH};
pub use records::{SessionSource, SessionStart, PROXY_FILE};
pub use stats::{SinkSnapshot, SinkStats, MAX_KINDS, MAX_KIND_LEN, OTHER_KINDS};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use guard::Registry;
use writer::{Budget, Cmd};

/// The trace sink (see the module docs). Created by [`crate::install`]
/// (or [`TraceSink::new`]) and reached through [`crate::CaptureHandle::sink`].
pub struct TraceSink {
    cfg: SinkConfig,
    dir: PathBuf,
    stats: Arc<SinkStats>,
    registry: Mutex<Registry>,
    files: Arc<Mutex<BTreeSet<PathBuf>>>,
    tx: Mutex<mpsc::Sender<Cmd>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    run_sid: String,
}

/// Current Unix time in milliseconds.
pub fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn valid_label(label: &str) -> bool {
    (1..=64).contains(&label.len())
        && label != "."
        && label != ".."
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl TraceSink {
    /// Creates the sink (and its directory), registers the sessions whose
    /// files the directory already holds ([`guard::Registry::adopt_existing`])
    /// and starts the writer thread ([`writer`]); the thread ends when the
    /// sink is dropped.
    pub fn new(cfg: SinkConfig) -> Result<Arc<Self>, SinkError> {
        let label = cfg.label.clone().unwrap_or_else(|| "default".to_owned());
        if !valid_label(&label) {
            return Err(SinkError::Label(label));
        }
        let dir = cfg.dir.join(&label);
        std::fs::create_dir_all(&dir).map_err(|source| SinkError::Dir {
            path: dir.clone(),
            source,
        })?;
        let run_start_ms = unix_ms();
        // The start time and 32 random bits: proxies on several machines (sharded audits
        // writing one traces folder) never share a run session id.
        let run_sid = format!(
            "{PROXY_FILE}-{}-{}",
            run_start_ms as u64,
            &crate::inject::new_sid()[..8]
        );
        // One file of the budget is the run's own `_proxy.jsonl`.
        let max_sessions = usize::try_from(cfg.max_files.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut registry = Registry::new(max_sessions);
        let adopted = registry.adopt_existing(&dir, run_start_ms);
        if adopted > 0 {
            tracing::info!(
                "{adopted} session file(s) from an earlier run in {} accept records again",
                dir.display()
            );
        }
        registry.add_run_session(&run_sid, run_start_ms);
        let stats = Arc::new(SinkStats::default());
        let files = Arc::new(Mutex::new(BTreeSet::new()));
        let (tx, rx) = mpsc::channel();
        let w = writer::Writer::new(
            dir.clone(),
            Budget {
                max_bytes: cfg.max_bytes,
                max_files: cfg.max_files,
            },
            cfg.idle_close,
            stats.clone(),
            files.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("webinfer-trace-writer".into())
            .spawn(move || w.run(rx))
            .map_err(SinkError::Thread)?;
        Ok(Arc::new(TraceSink {
            cfg,
            dir,
            stats,
            registry: Mutex::new(registry),
            files,
            tx: Mutex::new(tx),
            thread: Mutex::new(Some(thread)),
            run_sid,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &SinkConfig {
        &self.cfg
    }

    /// The directory session files go to (`DIR/<label>`).
    pub fn session_dir(&self) -> &Path {
        &self.dir
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<SinkStats> {
        self.stats.clone()
    }

    /// Every trace file written so far this run.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The session id of this proxy run's `_proxy.jsonl` records.
    pub fn run_sid(&self) -> &str {
        &self.run_sid
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, cmd: Cmd) -> bool {
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(cmd)
            .is_ok()
    }

    /// Sends `make(done)` and waits until the writer has done it.
    fn send_wait(&self, make: impl FnOnce(mpsc::Sender<()>) -> Cmd) {
        let (done, wait) = mpsc::channel();
        if self.send(make(done)) {
            let _ = wait.recv();
        }
    }

    /// Flushes lines older than the flush delay and closes idle files (the
    /// writer thread does this by itself every 200 ms).
    pub fn tick(&self) {
        self.send(Cmd::Tick);
    }

    /// Flushes every open file now (returns when done).
    pub fn flush_all(&self) {
        self.send_wait(Cmd::FlushAll);
    }

    /// Flushes and closes every open file (e.g. at proxy shutdown; returns
    /// when done).
    pub fn close_all(&self) {
        self.send_wait(Cmd::CloseAll);
    }
}

impl Drop for TraceSink {
    fn drop(&mut self) {
        // The thread flushes and closes every file, then ends.
        self.send(Cmd::Shutdown);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two proxy runs started in the same millisecond (as two machines of a
    /// sharded audit may) still get different `_proxy` session ids.
    #[test]
    fn run_session_ids_differ() {
        let dir = tempfile::tempdir().unwrap();
        let sinks: Vec<_> = (0..8)
            .map(|_| TraceSink::new(SinkConfig::new(dir.path())).unwrap())
            .collect();
        let ids: BTreeSet<&str> = sinks.iter().map(|s| s.run_sid()).collect();
        assert_eq!(ids.len(), sinks.len(), "{ids:?}");
        for id in ids {
            let rest = id.strip_prefix("_proxy-").expect(id);
            let (ms, random) = rest.split_once('-').expect(id);
            assert!(ms.parse::<u64>().is_ok(), "{id}");
            assert_eq!(random.len(), 8, "{id}");
            assert!(random.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }
}
