//! `webinfer audit`: drives unmodified browsers (Chromium, Firefox ESR)
//! through the webinfer proxy and collects traces; also serves the bundled
//! demo app.
//!
//! - [`site`]: an HTTPS static file server with its own throw-away CA, used for
//!   the embedded demo and by end-to-end tests.
//! - [`demo`]: the bundled demo app and how to serve it.
//! - [`browser`]: finding and launching Chromium / Firefox with a temporary
//!   profile that goes through the proxy.
//! - [`allow`]: the allow-list filter that refuses browser background calls.
//! - [`isolation`]: the `no-threads` variant's header filter.
//! - [`variant`]: what each variant changes.
//! - [`cdp`] and [`interact`]: the DevTools protocol client and `--interact`.
//! - [`devtools_trace`]: `--devtools-trace`, the browser's own timeline through CDP.
//! - [`memory`]: browser process RSS from `/proc`.
//! - [`tail`]: following a run's trace files.
//! - [`run`]: one audit: every URL × variant × repeat (plan, proxy start, sampler, audit
//!   file, summary, progress events).

pub mod allow;
pub mod browser;
pub mod cdp;
pub mod demo;
pub mod devtools_trace;
pub mod error;
pub mod interact;
pub mod isolation;
pub mod memory;
pub mod native_baseline;
pub mod run;
pub mod shard;
pub mod site;
pub mod tail;
pub mod variant;

pub use error::AuditError;
pub use run::{audit, AuditOptions, AuditReport, OnProgress, Progress, RunSummary, StopReason};
