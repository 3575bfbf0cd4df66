//! The trace sink: a [`Filter`] that answers the hook's record batches on
//! every host, locally, and writes one JSON Lines file per session.
//!
//! - `POST /__webinfer__/trace` (the endpoint path; exact match, any host) is
//!   answered by the proxy and never forwarded. The body is a JSON array of
//!   records or JSON Lines (see [`batch`]), at most [`SinkConfig::max_body`]
//!   bytes (read incrementally; `413` beyond, nothing stored). Answers:
//!   `204` all stored; `400` with `{"stored":N,"invalid":M,"errors":[…]}`
//!   when the body or some records were bad — the valid records of that
//!   batch ARE stored, so the hook must not resend; `429` with
//!   `{"rate_limited":N}` when a session exceeds
//!   [`SinkConfig::max_records_per_sec`] (nothing of that batch stored; the
//!   first batch of each one-second window is always taken so a large batch
//!   cannot be refused forever); `405` for other methods; `503` when the
//!   file cannot be written. `GET /__webinfer__/ping` answers `200`.
//! - Each valid record goes to `DIR/<label>/<sid>.jsonl` (label `default`
//!   when none), as one whole line. Lines of a batch are flushed to the file
//!   before the batch is acknowledged; records the proxy writes itself are
//!   flushed within a second by a timer. An `end` record flushes and closes
//!   the file; files idle for [`SinkConfig::idle_close`] are closed.
//! - The proxy's own records carry `by: "proxy"` and their own `seq` per
//!   session: a `session` record for each injected document or worker
//!   ([`TraceSink::open_session`]) and a `net` record for each forwarded
//!   exchange (from [`Filter::on_complete`]), attributed to a page by
//!   [`assoc`]; `ts` is the record's Unix time minus the session's
//!   `time_origin` (the proxy's clock at injection). Exchanges no page can be
//!   named for go to `DIR/<label>/_proxy.jsonl` under the session id
//!   `_proxy-<run start Unix ms>` (one per proxy run; ts from the run start).
//! - [`SinkStats`] counts stored records per kind (the `infer` count is what
//!   `webinfer audit --until-infers` polls), malformed bodies, invalid and
//!   rate-limited records, oversized bodies, other methods, body bytes —
//!   bad input is counted whatever the answer; [`TraceSink::files`] lists
//!   the files.

pub mod assoc;
pub mod batch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use webinfer_format::{Record, TraceWriter, WriterError};

use crate::filter::{self, Body, Exchange, Filter, RequestContext, RequestOutcome};

/// The default endpoint path the hook posts to.
pub const TRACE_PATH: &str = "/__webinfer__/trace";
/// A path that answers `200` so a client can check it goes through the proxy.
pub const PING_PATH: &str = "/__webinfer__/ping";
/// The file (stem) for exchanges no page session can be named for.
pub const PROXY_FILE: &str = "_proxy";
/// How often the timer flushes and closes idle files.
const TICK: Duration = Duration::from_millis(200);
/// A written line waits at most this long before the timer flushes it
/// (plus one [`TICK`]: within a second in all).
const FLUSH_AFTER: Duration = Duration::from_millis(800);
/// Most bytes of a refused (too large) body read and thrown away before
/// answering; beyond that the connection may be reset.
const DRAIN_MAX: usize = 16 * 1024 * 1024;
/// Most files kept open at once; the least recently written is closed first.
const MAX_OPEN: usize = 256;

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
}

impl SinkConfig {
    /// Defaults: endpoint [`TRACE_PATH`], 1 MiB bodies, 2000 records/s per
    /// session, files closed after 30 s idle.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SinkConfig {
            dir: dir.into(),
            label: None,
            variant: None,
            endpoint: TRACE_PATH.to_owned(),
            max_body: 1024 * 1024,
            max_records_per_sec: 2000,
            idle_close: Duration::from_secs(30),
        }
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
    /// A trace file cannot be written.
    #[error(transparent)]
    Write(#[from] WriterError),
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
    /// Stored page/worker records per kind (at most [`MAX_KINDS`] names,
    /// the rest under [`OTHER_KINDS`]).
    pub kinds: BTreeMap<String, u64>,
}

impl SinkStats {
    /// Stored `infer` records so far (what `webinfer audit --until-infers` polls).
    pub fn infer_count(&self) -> u64 {
        self.infer.load(Ordering::Relaxed)
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

/// Put in [`RequestContext::state`] by the inject filter: the session an
/// injected exchange belongs to (the document's own sid; for a worker script,
/// its page's sid when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOf(pub String);

struct OpenFile {
    writer: TraceWriter,
    last_write: Instant,
    dirty_since: Option<Instant>,
}

struct SessionInfo {
    time_origin: f64,
    proxy_seq: u64,
}

struct Window {
    start: Instant,
    count: u64,
}

#[derive(Default)]
struct State {
    open: HashMap<String, OpenFile>,
    sessions: HashMap<String, SessionInfo>,
    attribution: assoc::Attribution,
    rate: HashMap<String, Window>,
    files: BTreeSet<PathBuf>,
}

/// The trace sink (see the module docs). Create with [`TraceSink::new`]
/// inside a Tokio runtime and add it to the proxy with
/// `ProxyBuilder::filter(sink.clone())`.
pub struct TraceSink {
    cfg: SinkConfig,
    dir: PathBuf,
    stats: Arc<SinkStats>,
    state: Mutex<State>,
    run_sid: String,
    run_start_ms: f64,
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
    /// Creates the sink (and its directory) and, inside a Tokio runtime,
    /// starts the timer that flushes and closes files. The timer stops when
    /// the sink is dropped.
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
        let sink = Arc::new(TraceSink {
            cfg,
            dir,
            stats: Arc::new(SinkStats::default()),
            state: Mutex::new(State::default()),
            run_sid: format!("{PROXY_FILE}-{}", run_start_ms as u64),
            run_start_ms,
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(timer(Arc::downgrade(&sink)));
        } else {
            tracing::warn!("trace sink created outside a Tokio runtime: files flush only per batch and on drop");
        }
        Ok(sink)
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

    /// Every trace file written so far.
    pub fn files(&self) -> Vec<PathBuf> {
        self.lock().files.iter().cloned().collect()
    }

    /// The session id of this proxy run's `_proxy.jsonl` records.
    pub fn run_sid(&self) -> &str {
        &self.run_sid
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the proxy's `session` record for a newly injected document or
    /// worker and remembers its URL for attributing later exchanges.
    pub fn open_session(&self, s: &SessionStart) -> Result<(), SinkError> {
        if !batch::is_safe_sid(&s.sid) {
            return Err(SinkError::Sid(s.sid.clone()));
        }
        let mut st = self.lock();
        match s.source {
            SessionSource::Page => st.attribution.page(&s.url, &s.sid),
            SessionSource::Worker => {
                let owner = s.parent.as_deref().unwrap_or(&s.sid).to_owned();
                st.attribution.worker(&s.url, &owner);
            }
        }
        st.sessions.insert(
            s.sid.clone(),
            SessionInfo {
                time_origin: s.time_origin,
                proxy_seq: 0,
            },
        );
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
        self.write_proxy(&mut st, &s.sid.clone(), rec, s.time_origin)
    }

    /// The page session a request with this `Referer` belongs to.
    pub fn session_for_referrer(&self, referer: &str) -> Option<String> {
        self.lock().attribution.lookup(referer).map(str::to_owned)
    }

    /// Writes a record of the proxy's own for `sid` (`by: "proxy"`, the
    /// proxy's `seq` for that session, `ts` from `now_ms`).
    fn write_proxy(
        &self,
        st: &mut State,
        sid: &str,
        rec: Record,
        now_ms: f64,
    ) -> Result<(), SinkError> {
        let known = st.sessions.contains_key(sid);
        let (stem, key) = if known {
            (sid.to_owned(), sid.to_owned())
        } else {
            (PROXY_FILE.to_owned(), self.run_sid.clone())
        };
        let info = st.sessions.entry(key).or_insert(SessionInfo {
            time_origin: self.run_start_ms,
            proxy_seq: 0,
        });
        let seq = info.proxy_seq;
        info.proxy_seq += 1;
        let ts = now_ms - info.time_origin;
        let mut rec = rec.set("by", "proxy").set("ts", ts);
        if stem == PROXY_FILE {
            rec = rec.set("sid", self.run_sid.as_str());
        }
        rec.set_seq(seq);
        let res = self.with_file(st, &stem, |w| w.write(&rec));
        match &res {
            Ok(()) => {
                self.stats.proxy_records.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{e}");
            }
        }
        res
    }

    /// Runs `f` on the open file `stem` (opening it, closing the least
    /// recently used file when too many are open).
    fn with_file(
        &self,
        st: &mut State,
        stem: &str,
        f: impl FnOnce(&mut TraceWriter) -> Result<(), WriterError>,
    ) -> Result<(), SinkError> {
        if !st.open.contains_key(stem) {
            if st.open.len() >= MAX_OPEN {
                if let Some(oldest) = st
                    .open
                    .iter()
                    .min_by_key(|(_, o)| o.last_write)
                    .map(|(k, _)| k.clone())
                {
                    st.open.remove(&oldest);
                }
            }
            let path = self.dir.join(format!("{stem}.jsonl"));
            let writer = TraceWriter::append(&path)?;
            st.files.insert(path);
            st.open.insert(
                stem.to_owned(),
                OpenFile {
                    writer,
                    last_write: Instant::now(),
                    dirty_since: None,
                },
            );
        }
        let open = st.open.get_mut(stem).expect("inserted above");
        f(&mut open.writer)?;
        open.last_write = Instant::now();
        open.dirty_since.get_or_insert(open.last_write);
        Ok(())
    }

    /// Flushes lines older than the flush delay and closes idle files (the
    /// timer calls this every 200 ms).
    pub fn tick(&self) {
        let mut st = self.lock();
        let idle = self.cfg.idle_close;
        st.open.retain(|_, o| {
            if o.dirty_since.is_some_and(|t| t.elapsed() >= FLUSH_AFTER) {
                if let Err(e) = o.writer.flush() {
                    tracing::error!("{e}");
                }
                o.dirty_since = None;
            }
            o.last_write.elapsed() < idle
        });
        let now = Instant::now();
        st.rate
            .retain(|_, w| now.duration_since(w.start) < Duration::from_secs(2));
    }

    /// Flushes every open file now.
    pub fn flush_all(&self) {
        let mut st = self.lock();
        for o in st.open.values_mut() {
            if let Err(e) = o.writer.flush() {
                tracing::error!("{e}");
            }
            o.dirty_since = None;
        }
    }

    /// Flushes and closes every open file (e.g. at proxy shutdown).
    pub fn close_all(&self) {
        self.lock().open.clear();
    }

    /// Stores a parsed batch; returns the answer.
    fn store(&self, parsed: batch::Parsed) -> Response<Body> {
        // Bad input is counted whatever the answer (400, 429 or 503).
        self.stats
            .invalid
            .fetch_add(parsed.invalid as u64, Ordering::Relaxed);
        if parsed.malformed {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
        let mut st = self.lock();
        // Rate limit per session, all or nothing per batch.
        let mut per_sid: HashMap<&str, u64> = HashMap::new();
        for r in &parsed.records {
            *per_sid.entry(r.sid()).or_default() += 1;
        }
        let now = Instant::now();
        let limit = u64::from(self.cfg.max_records_per_sec);
        let over: Vec<&str> = per_sid
            .iter()
            .filter(|(sid, n)| match st.rate.get(**sid) {
                Some(w) if now.duration_since(w.start) < Duration::from_secs(1) => {
                    w.count > 0 && w.count + **n > limit
                }
                _ => false,
            })
            .map(|(sid, _)| *sid)
            .collect();
        if !over.is_empty() {
            let n = parsed.records.len() as u64;
            self.stats.rate_limited.fetch_add(n, Ordering::Relaxed);
            tracing::warn!(sessions = ?over, records = n, "trace batch refused: over {limit} records/s");
            return json_response(StatusCode::TOO_MANY_REQUESTS, &json!({ "rate_limited": n }));
        }
        for (sid, n) in &per_sid {
            let w = st.rate.entry((*sid).to_owned()).or_insert(Window {
                start: now,
                count: 0,
            });
            if now.duration_since(w.start) >= Duration::from_secs(1) {
                *w = Window {
                    start: now,
                    count: 0,
                };
            }
            w.count += n;
        }
        let mut stored = 0u64;
        let mut failed = None;
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut ended: Vec<String> = Vec::new();
        for r in &parsed.records {
            let sid = r.sid().to_owned();
            match self.with_file(&mut st, &sid, |w| w.write(r)) {
                Ok(()) => {
                    stored += 1;
                    self.stats.stored(r.kind());
                    if r.kind() == "end" && r.get("by").is_none() {
                        ended.push(sid.clone());
                    }
                    touched.insert(sid);
                }
                Err(e) => {
                    self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    failed = Some(e.to_string());
                }
            }
        }
        // Acknowledged lines are in the file before the answer goes out.
        for sid in &touched {
            if let Some(o) = st.open.get_mut(sid) {
                if let Err(e) = o.writer.flush() {
                    failed = Some(e.to_string());
                }
                o.dirty_since = None;
            }
        }
        for sid in ended {
            st.open.remove(&sid);
            st.rate.remove(&sid);
        }
        drop(st);
        if let Some(e) = failed {
            tracing::error!("{e}");
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "stored": stored, "error": e }),
            );
        }
        if parsed.invalid > 0 || parsed.malformed {
            tracing::warn!(stored, invalid = parsed.invalid, errors = ?parsed.errors, "bad trace batch");
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "stored": stored, "invalid": parsed.invalid, "errors": parsed.errors }),
            );
        }
        empty_response(StatusCode::NO_CONTENT)
    }

    /// Handles one `POST` to the endpoint.
    async fn receive(&self, req: Request<Body>) -> Response<Body> {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
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
        let mut body = req.into_body();
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
        let mut parsed = batch::parse(&buf);
        if let Some(e) = torn {
            parsed.malformed = true;
            parsed.errors.push(format!("body cut short: {e}"));
        }
        self.store(parsed)
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

    /// Writes the `net` record of a finished exchange.
    fn record_exchange(&self, ctx: &RequestContext, ex: &Exchange) {
        if !ex.forwarded {
            return;
        }
        let mut st = self.lock();
        let sid = ctx
            .state
            .get::<SessionOf>()
            .map(|s| s.0.clone())
            .or_else(|| {
                let referer = ctx.request_headers.get(header::REFERER)?.to_str().ok()?;
                st.attribution.lookup(referer).map(str::to_owned)
            });
        let sid = sid.unwrap_or_else(|| self.run_sid.clone());
        let mut rec = Record::new(&sid, "net", 0.0)
            .set("url", ex.url.as_str())
            .set("method", ex.method.as_str())
            .set("status", ex.status)
            .set("bytes", ex.bytes)
            .set("start_unix_ms", ex.start_unix_ms)
            .set("dur", ex.dur_ms);
        if let Some(ct) = &ex.content_type {
            rec = rec.set("content_type", ct.as_str());
        }
        if let Some(h) = &ex.sha256 {
            rec = rec.set("sha256", h.as_str());
        }
        if let Some(e) = &ex.error {
            rec = rec.set("error", e.as_str());
        }
        let _ = self.write_proxy(&mut st, &sid, rec, unix_ms());
    }
}

impl Drop for TraceSink {
    fn drop(&mut self) {
        // Dropping the writers flushes them.
        self.lock().open.clear();
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

async fn timer(sink: Weak<TraceSink>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match sink.upgrade() {
            Some(s) => s.tick(),
            None => break,
        }
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(filter::full(v.to_string()));
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
    let mut r = Response::new(filter::empty());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

impl Filter for TraceSink {
    fn on_request<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: Request<Body>,
    ) -> BoxFuture<'a, RequestOutcome> {
        Box::pin(async move {
            let path = ctx.uri.path();
            if path == self.cfg.endpoint {
                if ctx.method == Method::POST {
                    return RequestOutcome::Respond(self.receive(req).await);
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
        })
    }

    fn on_complete(&self, ctx: &RequestContext, ex: &Exchange) {
        self.record_exchange(ctx, ex);
    }
}
