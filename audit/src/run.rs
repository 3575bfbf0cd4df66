//! One audit: every URL × variant × repeat, each a *run* with its own proxy,
//! browser profile and trace files.
//!
//! A run ([`one`]):
//! 1. starts the proxy on `127.0.0.1:0` ([`proxy`]) with, in order, the
//!    [`AllowList`](crate::allow::AllowList) (audited host + what it loads), the variant's
//!    [`StripIsolation`](crate::isolation::StripIsolation) if any, the trace sink (label,
//!    variant) and the hook injector;
//! 2. launches the browser on the URL ([`crate::browser`]); for Chromium it
//!    attaches over the DevTools protocol (for `--interact`, and to navigate
//!    to `about:blank` at the end so the hooks see `pagehide` and flush);
//! 3. every 500 ms samples the RSS of the browser's process tree
//!    ([`crate::memory`]) and follows the run's trace files ([`crate::tail::TraceTail`]),
//!    in the [`sampler`], which reports [`Progress`] through [`AuditOptions::progress`];
//! 4. stops when `--duration` has passed since the page's first trace record
//!    (so a slow browser start or page load does not eat into the run), when
//!    no page session appeared within [`PAGE_WAIT`], `--until-infers`
//!    inferences were stored (the sink's counter), the browser exited, or on
//!    Ctrl-C;
//! 5. ends the browser (whole process tree), flushes the sink, stops the
//!    proxy, and writes its own file `<traces>/<label>/audit-<run>.jsonl` ([`audit_file`]):
//!    for each top-level page session, a `session` record with `by:"audit"`
//!    (`label`, `variant`, `browser {name, version, flags}`) and the `mem`
//!    records (`rss` and `renderer_rss`, `by:"audit"`, `ts` relative to the page's time origin,
//!    negative for samples taken before the page existed). Samples go to the
//!    newest page session at the time they were taken.
//!
//! Each run ends in a [`RunSummary`], the audit in an [`AuditReport`] ([`summary`]; both
//! serialize to the `audit-summary.json` document).

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use webinfer_capture::sink::unix_ms;

use crate::error::AuditError;

mod audit_file;
mod one;
mod options;
mod plan;
mod progress;
mod proxy;
mod sampler;
mod summary;

pub use options::{
    default_label, parse_duration, read_url_list, url_host, AuditOptions, PAGE_WAIT,
};
pub use progress::{OnProgress, Progress, RunId};
pub use summary::{AuditReport, RunSummary, StopReason};

/// How often memory is sampled and the traces are read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// A cancellation token that the first Ctrl-C cancels (the audit then ends
/// its current run cleanly); a second Ctrl-C exits at once with status 130.
/// Call inside a Tokio runtime.
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nwebinfer audit: stopping after the current run's traces are flushed (Ctrl-C again to quit now)");
            t.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    token
}

/// Runs the whole audit. `cancel` (Ctrl-C) ends the current run cleanly and
/// skips the rest; every finished run's traces are kept. Progress goes to
/// [`AuditOptions::progress`].
pub async fn audit(
    opts: AuditOptions,
    cancel: CancellationToken,
) -> Result<AuditReport, AuditError> {
    let plan = plan::plan(opts).await?;
    let report = |p| progress::emit(&plan.opts.progress, p);
    report(Progress::Planned {
        runs: plan.runs.len() as u64,
    });
    let mut runs = Vec::new();
    for &(u, v, rep) in &plan.runs {
        if cancel.is_cancelled() {
            break;
        }
        let run = one::run_one(&plan, &plan.urls[u], &plan.variants[v], rep, &cancel).await?;
        report(Progress::RunDone);
        runs.push(run);
    }
    report(Progress::Finished);
    let trace_dir = plan.capture.sink.dir.join(&plan.label);
    let (mut native, mut native_trace) = (Vec::new(), None);
    if plan.opts.native && !cancel.is_cancelled() {
        if let Some(models) = plan.capture.sink.save_models.clone() {
            let files: Vec<PathBuf> = runs.iter().flat_map(|r| r.files.clone()).collect();
            let out = trace_dir.join(format!("native-{}.jsonl", unix_ms() as u64));
            let out2 = out.clone();
            native = tokio::task::spawn_blocking(move || {
                crate::native_baseline::run_saved_models(&models, &files, &out2)
            })
            .await
            .map_err(|e| AuditError::Unsupported(format!("native baselines: {e}")))?;
            native_trace = out.is_file().then_some(out);
        }
    }
    Ok(AuditReport {
        runs,
        trace_dir,
        interrupted: cancel.is_cancelled(),
        native,
        native_trace,
    })
}
