//! Progress of an audit, reported through a callback ([`OnProgress`] in
//! [`AuditOptions::progress`](super::AuditOptions::progress)); the library draws nothing,
//! the CLI turns the events into its progress bar.

use std::sync::Arc;
use std::time::Duration;

/// Which run an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId {
    /// `chromium` or `firefox`.
    pub browser: String,
    /// The variant's name.
    pub variant: String,
    /// Repeat number from 1.
    pub repeat: u32,
    /// The audited URL.
    pub url: String,
}

/// One progress event, in this order: `Planned`, then per run `Launched`, `Sampled`…,
/// `RunDone`, and `Finished` once the runs are over (before native baselines).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The audit will do `runs` runs.
    Planned {
        /// Runs planned (URL × variant × repeat, this shard's share).
        runs: u64,
    },
    /// A run's browser was launched.
    Launched(RunId),
    /// A sample was taken (every [`SAMPLE_EVERY`](super::SAMPLE_EVERY)).
    Sampled {
        /// The run.
        run: RunId,
        /// Since the browser was launched.
        elapsed: Duration,
        /// `infer` records the sink stored so far.
        infers: u64,
    },
    /// A run finished (its traces are flushed).
    RunDone,
    /// No more runs (all done, or Ctrl-C).
    Finished,
}

/// A progress callback; cheap to clone, callable from any thread.
#[derive(Clone)]
pub struct OnProgress(Arc<dyn Fn(&Progress) + Send + Sync>);

impl OnProgress {
    /// Wraps `f`, called once per [`Progress`] event.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        OnProgress(Arc::new(f))
    }

    /// Reports `p`.
    pub fn emit(&self, p: &Progress) {
        (self.0)(p)
    }
}

impl std::fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnProgress(..)")
    }
}

/// Calls `cb` with `p` if there is a callback.
pub(crate) fn emit(cb: &Option<OnProgress>, p: Progress) {
    if let Some(cb) = cb {
        cb.emit(&p);
    }
}
