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
//!   [`SinkConfig::max_records_per_sec`] (nothing of that batch stored; the
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
//! - The proxy's own records carry `by: "proxy"` and their own `seq` per
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

pub mod assoc;
pub mod batch;
pub mod guard;
mod net;
pub mod redact;
pub mod upload;
pub mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use webinfer_format::Record;

use guard::{Refusal, Registry};
use webinfer_proxy::{empty, full, Body, Exchange, RequestContext, RequestOutcome};
use writer::{Answer, Budget, Cmd, Line};

/// The default endpoint path the hook posts to.
pub const TRACE_PATH: &str = "/__webinfer__/trace";
/// A path that answers `200` so a client can check it goes through the proxy.
pub const PING_PATH: &str = "/__webinfer__/ping";
/// The file (stem) for exchanges no page session can be named for.
pub const PROXY_FILE: &str = "_proxy";
/// Most bytes of a refused (too large) body read and thrown away before
/// answering; beyond that the connection may be reset.
const DRAIN_MAX: usize = 16 * 1024 * 1024;
/// Default [`SinkConfig::max_bytes`]: 2 GiB of trace lines per run.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
/// Default [`SinkConfig::max_files`]: 20 000 trace files per run.
pub const DEFAULT_MAX_FILES: u64 = 20_000;

/// Settings of a [`TraceSink`].
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The `--traces` directory.
    pub dir: PathBuf,
    /// Run label: the sub-directory, and `label` in the proxy's `session` records.
    pub label: Option<String>,
    /// Audit variant, written as `variant` in the proxy's `session` records.
    pub variant: Option<String>,
    /// The endpoint path (same on every host).
    pub endpoint: String,
    /// Largest accepted body in bytes.
    pub max_body: usize,
    /// Records accepted per session per second.
    pub max_records_per_sec: u32,
    /// Files with no write for this long are closed.
    pub idle_close: Duration,
    /// Most bytes of trace lines written per run, all files together
    /// (`--trace-max-bytes`); page batches beyond get `507`.
    pub max_bytes: u64,
    /// Most trace files written per run, and so most sessions issued
    /// (`--trace-max-files`); page batches beyond get `507`.
    pub max_files: u64,
    /// Keep query values that look like secrets in recorded URLs
    /// (`--trace-keep-query-secrets`; fragments are dropped regardless).
    pub keep_query_secrets: bool,
    /// Where models that pages hand over are saved (`--save-models`;
    /// [`upload`]); `None`: uploads are refused and the hooks do not send any.
    pub save_models: Option<PathBuf>,
    /// Largest model a page may hand over, bytes.
    pub max_model_bytes: u64,
    /// Pages may hand over the input tensors of one warm call per model
    /// (`--capture-inputs`, opt-in; needs `save_models`).
    pub capture_inputs: bool,
}

impl SinkConfig {
    /// Defaults: endpoint [`TRACE_PATH`], 1 MiB bodies, 2000 records/s per
    /// session, files closed after 30 s idle, budget [`DEFAULT_MAX_BYTES`]
    /// and [`DEFAULT_MAX_FILES`], secret-looking query values redacted.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SinkConfig {
            dir: dir.into(),
            label: None,
            variant: None,
            endpoint: TRACE_PATH.to_owned(),
            max_body: 1024 * 1024,
            max_records_per_sec: 2000,
            idle_close: Duration::from_secs(30),
            max_bytes: DEFAULT_MAX_BYTES,
            max_files: DEFAULT_MAX_FILES,
            keep_query_secrets: false,
            save_models: None,
            max_model_bytes: 2 << 30,
            capture_inputs: false,
        }
    }
}

/// The sink settings a user sets on the command line (`webinfer proxy` and
/// `webinfer audit`), applied to a [`SinkConfig`] with [`SinkLimits::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkLimits {
    /// [`SinkConfig::max_bytes`] (`--trace-max-bytes`).
    pub max_bytes: u64,
    /// [`SinkConfig::max_files`] (`--trace-max-files`).
    pub max_files: u64,
    /// [`SinkConfig::keep_query_secrets`] (`--trace-keep-query-secrets`).
    pub keep_query_secrets: bool,
    /// [`SinkConfig::capture_inputs`] (`--capture-inputs`).
    pub capture_inputs: bool,
}

impl Default for SinkLimits {
    fn default() -> Self {
        SinkLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_files: DEFAULT_MAX_FILES,
            keep_query_secrets: false,
            capture_inputs: false,
        }
    }
}

impl SinkLimits {
    /// Sets these limits in `cfg`.
    pub fn apply(&self, cfg: &mut SinkConfig) {
        cfg.max_bytes = self.max_bytes;
        cfg.max_files = self.max_files;
        cfg.keep_query_secrets = self.keep_query_secrets;
        cfg.capture_inputs = self.capture_inputs;
    }

    /// A [`SinkConfig`] for `dir` with these limits.
    pub fn config(&self, dir: impl Into<PathBuf>) -> SinkConfig {
        let mut c = SinkConfig::new(dir);
        self.apply(&mut c);
        c
    }
}

/// Why a sink could not start or write.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The label cannot be a directory name.
    #[error("invalid trace label {0:?}: use 1 to 64 of [A-Za-z0-9_.-], not `.` or `..`")]
    Label(String),
    /// The session id cannot be a file name.
    #[error("invalid session id {0:?}: use 1 to 64 of [A-Za-z0-9_-], not starting with `_`")]
    Sid(String),
    /// The trace directory cannot be created.
    #[error("trace directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The writer thread cannot start.
    #[error("starting the trace writer thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The file budget is spent: no more sessions this run.
    #[error(
        "trace file budget spent ({0} files per run, --trace-max-files): session {1} not opened"
    )]
    Budget(u64, String),
}

/// Live counters of a sink (shared, lock-free reads).
#[derive(Debug, Default)]
pub struct SinkStats {
    records: AtomicU64,
    infer: AtomicU64,
    proxy_records: AtomicU64,
    batches: AtomicU64,
    bytes: AtomicU64,
    malformed: AtomicU64,
    invalid: AtomicU64,
    rate_limited: AtomicU64,
    too_large: AtomicU64,
    wrong_method: AtomicU64,
    write_errors: AtomicU64,
    unknown_sid: AtomicU64,
    forged: AtomicU64,
    cross_site: AtomicU64,
    over_budget: AtomicU64,
    over_budget_proxy: AtomicU64,
    sessions_refused: AtomicU64,
    bytes_written: AtomicU64,
    repeated: AtomicU64,
    uploads_in_flight: AtomicU64,
    kinds: Mutex<BTreeMap<String, u64>>,
}

/// Most distinct kinds [`SinkStats`] counts by name; further kinds, and kinds
/// longer than [`MAX_KIND_LEN`], are counted under [`OTHER_KINDS`] (a client
/// sending endless made-up kinds cannot grow the counters without bound).
pub const MAX_KINDS: usize = 256;
/// Longest kind name counted by name.
pub const MAX_KIND_LEN: usize = 64;
/// The counter name for kinds not counted by name.
pub const OTHER_KINDS: &str = "(other)";

/// A copy of [`SinkStats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkSnapshot {
    /// Records from pages and workers stored.
    pub records: u64,
    /// Of those, `infer` records.
    pub infer: u64,
    /// Records the proxy wrote itself (`session`, `net`).
    pub proxy_records: u64,
    /// Batches received (any outcome).
    pub batches: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Bodies that were malformed as a whole (torn, empty, not JSON).
    pub malformed: u64,
    /// Records refused as invalid (bad JSON element, bad common fields, unsafe sid).
    pub invalid: u64,
    /// Records refused by the per-session rate limit.
    pub rate_limited: u64,
    /// Bodies refused for their size.
    pub too_large: u64,
    /// Requests to the endpoint with a method other than `POST` (`405`).
    pub wrong_method: u64,
    /// Records that could not be written to disk.
    pub write_errors: u64,
    /// Records refused because their sid was not issued by this proxy (or
    /// was issued to another origin) ([`guard`]).
    pub unknown_sid: u64,
    /// Records refused for claiming another writer (`by`) or a proxy-only kind.
    pub forged: u64,
    /// Requests refused with `403` for their `Sec-Fetch-Site` or `Origin`.
    pub cross_site: u64,
    /// Page records refused with `507` by the run's byte or file budget.
    pub over_budget: u64,
    /// Records of the proxy's own not written because the budget was spent.
    pub over_budget_proxy: u64,
    /// Injected documents and workers that got no session (file budget spent).
    pub sessions_refused: u64,
    /// Bytes of trace lines written this run (what the budget counts).
    pub bytes_written: u64,
    /// Page records that arrived again after they were stored (a batch resent because its
    /// answer was lost), acknowledged and not written twice ([`writer::SeqSet`]).
    pub repeated: u64,
    /// Stored page/worker records per kind (at most [`MAX_KINDS`] names,
    /// the rest under [`OTHER_KINDS`]).
    pub kinds: BTreeMap<String, u64>,
}

impl SinkStats {
    /// Stored `infer` records so far (what `webinfer audit --until-infers` polls).
    pub fn infer_count(&self) -> u64 {
        self.infer.load(Ordering::Relaxed)
    }

    /// Model uploads being received now (`webinfer audit` waits for them
    /// before it leaves the page).
    pub fn uploads_in_flight(&self) -> u64 {
        self.uploads_in_flight.load(Ordering::Relaxed)
    }

    /// All counters now.
    pub fn snapshot(&self) -> SinkSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkSnapshot {
            records: l(&self.records),
            infer: l(&self.infer),
            proxy_records: l(&self.proxy_records),
            batches: l(&self.batches),
            bytes: l(&self.bytes),
            malformed: l(&self.malformed),
            invalid: l(&self.invalid),
            rate_limited: l(&self.rate_limited),
            too_large: l(&self.too_large),
            wrong_method: l(&self.wrong_method),
            write_errors: l(&self.write_errors),
            unknown_sid: l(&self.unknown_sid),
            forged: l(&self.forged),
            cross_site: l(&self.cross_site),
            over_budget: l(&self.over_budget),
            over_budget_proxy: l(&self.over_budget_proxy),
            sessions_refused: l(&self.sessions_refused),
            bytes_written: l(&self.bytes_written),
            repeated: l(&self.repeated),
            kinds: self.kinds.lock().map(|k| k.clone()).unwrap_or_default(),
        }
    }

    fn stored(&self, kind: &str) {
        self.records.fetch_add(1, Ordering::Relaxed);
        if kind == "infer" {
            self.infer.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut k) = self.kinds.lock() {
            let named = kind.len() <= MAX_KIND_LEN && (k.contains_key(kind) || k.len() < MAX_KINDS);
            *k.entry(if named { kind } else { OTHER_KINDS }.to_owned())
                .or_default() += 1;
        }
    }
}

/// What kind of context a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSource {
    /// An HTML document (page or frame).
    Page,
    /// A dedicated or shared worker.
    Worker,
}

/// The session the proxy opens when it injects into a document or worker.
#[derive(Debug, Clone)]
pub struct SessionStart {
    /// The new session id.
    pub sid: String,
    /// Page or worker.
    pub source: SessionSource,
    /// URL of the document or worker script.
    pub url: String,
    /// HTTP status of the response.
    pub status: u16,
    /// For a worker: the page that loaded it, if known.
    pub parent: Option<String>,
    /// The proxy's Unix time in ms at injection (the session's time origin
    /// for the proxy's records).
    pub time_origin: f64,
}

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

/// Counts of a batch's records refused before the writer.
#[derive(Default)]
struct Refused {
    unknown: u64,
    forged: u64,
    budget: u64,
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

    /// Issues the session of a newly injected document or worker: binds its
    /// sid to the document's origin, remembers its URL for attributing later
    /// exchanges and queues the proxy's `session` record for it. Fails when
    /// the sid is unsafe or the file budget is spent (the page's records will
    /// then be refused).
    pub fn open_session(&self, s: &SessionStart) -> Result<(), SinkError> {
        if !batch::is_safe_sid(&s.sid) {
            return Err(SinkError::Sid(s.sid.clone()));
        }
        let mut reg = self.registry();
        if !reg.issue(&s.sid, &s.url, s.time_origin) {
            self.stats.sessions_refused.fetch_add(1, Ordering::Relaxed);
            return Err(SinkError::Budget(self.cfg.max_files, s.sid.clone()));
        }
        match s.source {
            SessionSource::Page => reg.attribution.page(&s.url, &s.sid),
            SessionSource::Worker => {
                let owner = s.parent.as_deref().unwrap_or(&s.sid).to_owned();
                reg.attribution.worker(&s.url, &owner);
            }
        }
        let mut rec = Record::new(&s.sid, "session", 0.0)
            .set(
                "source",
                if s.source == SessionSource::Page {
                    "page"
                } else {
                    "worker"
                },
            )
            .set("url", s.url.as_str())
            .set("status", s.status)
            .set("time_origin", s.time_origin);
        if let Some(p) = &s.parent {
            rec = rec.set("parent", p.as_str());
        }
        if let Some(l) = &self.cfg.label {
            rec = rec.set("label", l.as_str());
        }
        if let Some(v) = &self.cfg.variant {
            rec = rec.set("variant", v.as_str());
        }
        self.write_proxy(&mut reg, &s.sid, rec, s.time_origin);
        Ok(())
    }

    /// The page session a request with this `Referer` belongs to.
    pub fn session_for_referrer(&self, referer: &str) -> Option<String> {
        self.registry()
            .attribution
            .lookup(referer)
            .map(str::to_owned)
    }

    /// Queues a record of the proxy's own for `sid` (`by: "proxy"`, the
    /// proxy's `seq` for that session, `ts` from `now_ms`, URLs scrubbed).
    fn write_proxy(&self, reg: &mut Registry, sid: &str, rec: Record, now_ms: f64) {
        let redact_query = !self.cfg.keep_query_secrets;
        let kind = rec.kind().to_owned();
        self.write_proxy_line(reg, sid, kind, now_ms, |sid, seq, ts| {
            let mut rec = rec.set("by", "proxy").set("ts", ts).set("sid", sid);
            rec.set_seq(seq);
            let mut text = redact::scrub_record(rec, redact_query).to_line();
            text.push('\n');
            text
        });
    }

    /// Queues the line `text(sid, seq, ts)` of one of the proxy's own
    /// records: a session this proxy opened gets it in its own file with the
    /// next proxy `seq` of that session; any other goes to `_proxy.jsonl`
    /// under the run's session id.
    fn write_proxy_line(
        &self,
        reg: &mut Registry,
        sid: &str,
        kind: String,
        now_ms: f64,
        text: impl FnOnce(&str, u64, f64) -> String,
    ) {
        let own = sid != self.run_sid && reg.session_mut(sid).is_some();
        let (stem, key) = if own {
            (sid, sid)
        } else {
            (PROXY_FILE, self.run_sid.as_str())
        };
        let Some(info) = reg.session_mut(key) else {
            return;
        };
        let seq = info.proxy_seq;
        info.proxy_seq += 1;
        let ts = now_ms - info.time_origin;
        let line = Line {
            stem: stem.to_owned(),
            kind,
            text: text(key, seq, ts),
            end: false,
            seq: None,
        };
        if !self.send(Cmd::Proxy(line)) {
            self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
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

    /// Checks, charges and writes a parsed batch posted to `target` (the
    /// request's origin); returns the answer.
    async fn store(&self, parsed: batch::Parsed, target: &str) -> Response<Body> {
        // Bad input is counted whatever the answer (400, 429, 503 or 507).
        self.stats
            .invalid
            .fetch_add(parsed.invalid as u64, Ordering::Relaxed);
        if parsed.malformed {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
        let mut errors = parsed.errors;
        let mut refused = Refused::default();
        let mut budget_why = None;
        let mut records = Vec::with_capacity(parsed.records.len());
        {
            let mut reg = self.registry();
            for r in parsed.records {
                match reg.admit(&r, target) {
                    Ok(()) => records.push(r),
                    Err(why) => {
                        let msg = match why {
                            Refusal::Unknown(m) => {
                                refused.unknown += 1;
                                m
                            }
                            Refusal::Forged(m) => {
                                refused.forged += 1;
                                m
                            }
                            Refusal::Budget(m) => {
                                refused.budget += 1;
                                budget_why.get_or_insert_with(|| m.clone());
                                m
                            }
                        };
                        if errors.len() < 8 {
                            errors.push(msg);
                        }
                    }
                }
            }
            self.stats
                .unknown_sid
                .fetch_add(refused.unknown, Ordering::Relaxed);
            self.stats
                .forged
                .fetch_add(refused.forged, Ordering::Relaxed);
            if refused.budget > 0 {
                // Whole batch or nothing: a 507 batch is sent again later.
                drop(reg);
                let n = refused.budget + records.len() as u64;
                self.stats.over_budget.fetch_add(n, Ordering::Relaxed);
                let why = budget_why.unwrap_or_default();
                tracing::warn!(records = n, "{why}");
                return json_response(
                    StatusCode::INSUFFICIENT_STORAGE,
                    &json!({ "stored": 0, "error": why, "errors": errors }),
                );
            }
            // Rate limit per session, all or nothing per batch.
            let mut per_sid: HashMap<&str, u64> = HashMap::new();
            for r in &records {
                *per_sid.entry(r.sid()).or_default() += 1;
            }
            let limit = u64::from(self.cfg.max_records_per_sec);
            if let Err(over) = reg.charge(&per_sid, limit) {
                let n = records.len() as u64;
                drop(reg);
                self.stats.rate_limited.fetch_add(n, Ordering::Relaxed);
                tracing::warn!(sessions = ?over, records = n, "trace batch refused: over {limit} records/s");
                return json_response(StatusCode::TOO_MANY_REQUESTS, &json!({ "rate_limited": n }));
            }
        }
        let redact_query = !self.cfg.keep_query_secrets;
        let lines: Vec<Line> = records
            .into_iter()
            .map(|r| {
                let r = redact::scrub_record(r, redact_query);
                let mut text = r.to_line();
                text.push('\n');
                Line {
                    stem: r.sid().to_owned(),
                    kind: r.kind().to_owned(),
                    text,
                    end: r.kind() == "end",
                    seq: Some(r.seq()),
                }
            })
            .collect();
        let invalid = parsed.invalid as u64 + refused.unknown + refused.forged;
        let answer = if lines.is_empty() {
            Answer::Stored(0)
        } else {
            let (reply, wait) = tokio::sync::oneshot::channel();
            if !self.send(Cmd::Batch(lines, reply)) {
                Answer::Failed(0, "the trace writer has stopped".into())
            } else {
                wait.await
                    .unwrap_or_else(|_| Answer::Failed(0, "the trace writer has stopped".into()))
            }
        };
        let stored = match answer {
            Answer::Stored(n) => n,
            Answer::OverBudget(why) => {
                return json_response(
                    StatusCode::INSUFFICIENT_STORAGE,
                    &json!({ "stored": 0, "invalid": invalid, "error": why, "errors": errors }),
                );
            }
            Answer::Failed(stored, e) => {
                tracing::error!("{e}");
                return json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({ "stored": stored, "error": e }),
                );
            }
        };
        if invalid > 0 || parsed.malformed {
            tracing::warn!(stored, invalid, unknown_sid = refused.unknown, forged = refused.forged, errors = ?errors, "bad trace batch");
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "stored": stored, "invalid": invalid, "errors": errors }),
            );
        }
        empty_response(StatusCode::NO_CONTENT)
    }

    /// Handles one `POST` to the endpoint.
    async fn receive(&self, ctx: &RequestContext, req: Request<Body>) -> Response<Body> {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let target = guard::origin_of_url(&format!("{}/", ctx.origin())).unwrap_or_default();
        let limit = self.cfg.max_body;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // A client waiting for `100 Continue` has sent nothing yet: answer
        // without asking for the body.
        let expects_continue = req
            .headers()
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let refusal = guard::check_headers(req.headers(), &target).err();
        let mut body = req.into_body();
        if let Some(why) = refusal {
            if !expects_continue {
                drain(&mut body).await;
            }
            self.stats.cross_site.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("trace batch refused: {why}");
            return json_response(StatusCode::FORBIDDEN, &json!({ "error": why }));
        }
        if declared.is_some_and(|n| n > limit as u64) {
            if !expects_continue {
                drain(&mut body).await;
            }
            return self.too_large();
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut torn = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(data) = f.into_data() {
                        self.stats
                            .bytes
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                        if buf.len() + data.len() > limit {
                            drop(buf);
                            drain(&mut body).await;
                            return self.too_large();
                        }
                        buf.extend_from_slice(&data);
                    }
                }
                Err(e) => {
                    torn = Some(e.to_string());
                    break;
                }
            }
        }
        // A large body is parsed off the async threads, so a flood of large
        // POSTs does not hold up other clients.
        let mut parsed = if buf.len() > 64 * 1024 {
            tokio::task::spawn_blocking(move || batch::parse(&buf))
                .await
                .unwrap_or_else(|e| batch::Parsed {
                    malformed: true,
                    errors: vec![format!("parsing failed: {e}")],
                    ..Default::default()
                })
        } else {
            batch::parse(&buf)
        };
        if let Some(e) = torn {
            parsed.malformed = true;
            parsed.errors.push(format!("body cut short: {e}"));
        }
        self.store(parsed, &target).await
    }

    /// A model the page hands over ([`upload`]): checked like a batch (sender,
    /// sid), then streamed to the save folder.
    async fn receive_model(&self, ctx: &RequestContext, req: Request<Body>) -> Response<Body> {
        let Some(dir) = self.cfg.save_models.clone() else {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": "saving models is off (webinfer proxy --save-models DIR)" }),
            );
        };
        let target = guard::origin_of_url(&format!("{}/", ctx.origin())).unwrap_or_default();
        if let Err(why) = guard::check_headers(req.headers(), &target) {
            self.stats.cross_site.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("model upload refused: {why}");
            return json_response(StatusCode::FORBIDDEN, &json!({ "error": why }));
        }
        let q = match upload::parse_query(ctx.uri.query().unwrap_or("")) {
            Ok(q) => q,
            Err(why) => return json_response(StatusCode::BAD_REQUEST, &json!({ "error": why })),
        };
        if q.ext == ".safetensors" && !self.cfg.capture_inputs {
            return json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": "input capture is off (--capture-inputs)" }),
            );
        }
        if !self.registry().is_issued_to(&q.sid, &target) {
            self.stats.unknown_sid.fetch_add(1, Ordering::Relaxed);
            let why = format!("sid {:?} was not issued by this proxy to {target}", q.sid);
            tracing::warn!("model upload refused: {why}");
            return json_response(StatusCode::FORBIDDEN, &json!({ "error": why }));
        }
        self.stats.uploads_in_flight.fetch_add(1, Ordering::Relaxed);
        let r = upload::store(&dir, &q, req, self.cfg.max_model_bytes).await;
        self.stats.uploads_in_flight.fetch_sub(1, Ordering::Relaxed);
        r
    }

    fn too_large(&self) -> Response<Body> {
        self.stats.too_large.fetch_add(1, Ordering::Relaxed);
        let limit = self.cfg.max_body;
        tracing::warn!("trace batch refused: body over {limit} bytes");
        json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({ "error": format!("body over {limit} bytes") }),
        )
    }

    /// Queues the `net` record of a finished exchange (no I/O here).
    /// `session` is the session an injected exchange belongs to (see
    /// [`crate::inject`]); other exchanges are attributed by their `Referer`
    /// ([`assoc`]). `sha256` is the digest of a model artifact's body
    /// ([`crate::model`]).
    pub(crate) fn record_exchange(
        &self,
        ctx: &RequestContext,
        ex: &Exchange,
        session: Option<&str>,
        sha256: Option<&str>,
    ) {
        if !ex.forwarded {
            return;
        }
        let mut reg = self.registry();
        let sid = session.map(str::to_owned).or_else(|| {
            let referer = ctx.request_headers.get(header::REFERER)?.to_str().ok()?;
            reg.attribution.lookup(referer).map(str::to_owned)
        });
        let sid = sid.as_deref().unwrap_or(&self.run_sid);
        let fields = net::NetFields {
            url: &ex.url,
            method: ex.method.as_str(),
            status: ex.status,
            bytes: ex.bytes,
            start_unix_ms: ex.start_unix_ms,
            dur: ex.dur_ms,
            content_type: ex.content_type.as_deref(),
            sha256,
            error: ex.error.as_deref(),
        };
        let redact_query = !self.cfg.keep_query_secrets;
        self.write_proxy_line(
            &mut reg,
            sid,
            "net".to_owned(),
            unix_ms(),
            |sid, seq, ts| net::line(&fields, sid, seq, ts, redact_query),
        );
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

/// Reads and discards up to [`DRAIN_MAX`] more bytes of a refused body, so
/// the client (HTTP/2 especially) gets the answer rather than a reset stream.
async fn drain(body: &mut Body) {
    let mut seen = 0usize;
    while seen < DRAIN_MAX {
        match body.frame().await {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn empty_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(empty());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

impl TraceSink {
    /// The `on_request` step of the capture filter: answers the endpoint
    /// (batches, model uploads, other methods) and [`PING_PATH`] locally;
    /// everything else is forwarded.
    pub(crate) async fn answer(&self, ctx: &RequestContext, req: Request<Body>) -> RequestOutcome {
        let path = ctx.uri.path();
        if path == self.cfg.endpoint {
            if ctx.method == Method::POST && upload::is_upload(ctx.uri.query()) {
                return RequestOutcome::Respond(self.receive_model(ctx, req).await);
            }
            if ctx.method == Method::POST {
                return RequestOutcome::Respond(self.receive(ctx, req).await);
            }
            self.stats.wrong_method.fetch_add(1, Ordering::Relaxed);
            let mut r = json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({ "error": "POST only" }),
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return RequestOutcome::Respond(r);
        }
        if path == PING_PATH {
            return RequestOutcome::Respond(json_response(
                StatusCode::OK,
                &json!({ "webinfer": true, "endpoint": self.cfg.endpoint }),
            ));
        }
        RequestOutcome::Forward(req)
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
