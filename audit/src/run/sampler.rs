//! The loop that watches one run: every [`SAMPLE_EVERY`](super::SAMPLE_EVERY) it samples
//! the browser's memory ([`crate::memory`]) into the [`AuditFile`], follows the trace files
//! ([`TraceTail`]), reports [`Progress::Sampled`], and decides when the run ends
//! ([`StopReason`]).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use webinfer_capture::sink::unix_ms;

use super::audit_file::AuditFile;
use super::progress::{Progress, RunId};
use super::summary::StopReason;
use super::SAMPLE_EVERY;
use crate::browser::RunningBrowser;
use crate::error::AuditError;
use crate::memory;
use crate::tail::TraceTail;

/// When a run ends (besides Ctrl-C and the browser exiting).
pub(crate) struct StopRules {
    /// Run length, counted from the page's first trace record.
    pub(crate) duration: Duration,
    /// How long to wait for that first record.
    pub(crate) page_wait: Duration,
    /// End once this many `infer` records were stored.
    pub(crate) until_infers: Option<u64>,
}

/// What the sampler reads and writes during one run.
pub(crate) struct Sampler<'a> {
    /// The running browser (exit status, process tree).
    pub(crate) browser: &'a mut RunningBrowser,
    /// The run's trace files.
    pub(crate) tail: &'a mut TraceTail,
    /// Where memory samples go.
    pub(crate) file: &'a mut AuditFile,
    /// `infer` records the sink stored so far.
    pub(crate) infers: &'a (dyn Fn() -> u64 + Sync),
    /// Which run, for progress events.
    pub(crate) run: RunId,
    /// When the browser was launched.
    pub(crate) started: Instant,
}

impl Sampler<'_> {
    /// Samples until a stop rule holds, `cancel` fires or the browser exits; every tick
    /// calls `progress`.
    pub(crate) async fn run(
        &mut self,
        rules: &StopRules,
        cancel: &CancellationToken,
        progress: impl Fn(Progress),
    ) -> Result<StopReason, AuditError> {
        let mut page_at: Option<Instant> = None;
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(StopReason::Interrupted),
                _ = tick.tick() => {}
            }
            if let Some(st) = self.browser.exited() {
                return Ok(StopReason::BrowserExited(st.to_string()));
            }
            self.sample()?;
            if page_at.is_none() && !self.tail.page_sessions().is_empty() {
                page_at = Some(Instant::now());
            }
            let infers = (self.infers)();
            progress(Progress::Sampled {
                run: self.run.clone(),
                elapsed: self.started.elapsed(),
                infers,
            });
            if let Some(n) = rules.until_infers {
                if infers >= n {
                    return Ok(StopReason::Infers(infers));
                }
            }
            match page_at {
                Some(t) if t.elapsed() >= rules.duration => return Ok(StopReason::Duration),
                None if self.started.elapsed() >= rules.page_wait => {
                    return Ok(StopReason::NoPage(self.started.elapsed()))
                }
                _ => {}
            }
        }
    }

    /// One tick: the memory sample, the traces read on, the samples written to the newest
    /// page session (once it has a time origin).
    fn sample(&mut self) -> Result<(), AuditError> {
        let pid = self.browser.pid();
        if let Some((rss, procs)) = memory::tree_rss_bytes(pid) {
            let renderer = memory::renderer_rss_bytes(pid).map(|r| r.0);
            self.file.sample(unix_ms(), rss, procs, renderer);
        }
        self.tail.poll();
        drain_to_newest_page(self.tail, self.file)?;
        self.file.flush()
    }
}

/// Writes the pending samples to the newest page session, if it has a time origin.
pub(crate) fn drain_to_newest_page(
    tail: &TraceTail,
    file: &mut AuditFile,
) -> Result<(), AuditError> {
    if let Some((sid, s)) = tail.page_sessions().last() {
        if let Some(origin) = s.time_origin {
            file.drain_to(sid, origin)?;
        }
    }
    Ok(())
}
