//! The sink's settings: [`SinkConfig`] (what [`super::TraceSink::new`] takes),
//! the command-line subset [`SinkLimits`], and [`SinkError`], why a sink
//! could not start or open a session.

use std::path::PathBuf;
use std::time::Duration;

use super::TRACE_PATH;

/// Default [`SinkConfig::max_bytes`]: 2 GiB of trace lines per run.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
/// Default [`SinkConfig::max_files`]: 20 000 trace files per run.
pub const DEFAULT_MAX_FILES: u64 = 20_000;

/// Settings of a [`TraceSink`](super::TraceSink).
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
    /// [`upload`](super::upload)); `None`: uploads are refused and the hooks do not send any.
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
