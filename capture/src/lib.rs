//! The capture layer of webinfer, on top of the generic proxy
//! (`webinfer-proxy`): everything that turns intercepted traffic into traces.
//!
//! - [`sink`]: the trace endpoint every host answers locally, the per-page
//!   session registry, and one JSON Lines file per session;
//! - [`inject`]: the hook put into documents and worker scripts, each copy
//!   with a fresh session;
//! - [`artifact`] and [`model`]: which downloads are model artifacts, hashed
//!   as they stream and saved with `--save-models`;
//! - [`handler`]: the one proxy handler ([`Capture`], with its typed
//!   per-request [`CaptureCtx`]) running those steps in order.
//!
//! Install it on a proxy with [`install`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use webinfer_capture::{install, CaptureOptions};
//! use webinfer_proxy::ProxyOptions;
//!
//! let builder = ProxyOptions::default().builder()?;
//! let (builder, capture) = install(builder, &CaptureOptions::new("traces"))?;
//! let proxy = builder.start().await?;
//! // … browse through proxy.addr() …
//! proxy.shutdown().await;
//! capture.close_all();
//! println!("{} records", capture.stats().snapshot().records);
//! # Ok(()) }
//! ```

pub mod artifact;
pub mod handler;
pub mod inject;
pub mod model;
pub mod sink;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use webinfer_injector::Injector;
use webinfer_proxy::{Handler, ProxyBuilder};

pub use handler::{Capture, CaptureCtx};
pub use inject::{InjectConfig, Injection};
pub use sink::{SinkConfig, SinkError, SinkLimits, SinkSnapshot, SinkStats, TraceSink};

/// Everything the capture layer needs to start.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The sink: traces folder (`--traces`), label, variant, budgets, and the
    /// `--save-models` folder (downloads and page hand-overs both go there).
    pub sink: SinkConfig,
    /// The hook's own settings.
    pub inject: InjectConfig,
    /// The injector (default: the hook embedded from `injector/js/`).
    pub injector: Injector,
}

impl CaptureOptions {
    /// Defaults ([`SinkConfig::new`], [`InjectConfig::default`], the embedded
    /// hook) writing traces under `traces`.
    pub fn new(traces: impl Into<PathBuf>) -> Self {
        CaptureOptions {
            sink: SinkConfig::new(traces),
            inject: InjectConfig::default(),
            injector: Injector::new(),
        }
    }
}

/// Why the capture layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The trace sink could not start (label, folder, writer thread).
    #[error("setting up traces in {dir}")]
    Sink {
        /// The traces folder.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: SinkError,
    },
}

/// What the caller keeps of a started capture layer: what it reads while and
/// after the proxy runs.
#[derive(Clone)]
pub struct CaptureHandle {
    sink: Arc<TraceSink>,
    inject: Arc<Injection>,
}

impl CaptureHandle {
    /// The trace sink.
    pub fn sink(&self) -> &Arc<TraceSink> {
        &self.sink
    }

    /// The injection step (documents and workers injected so far).
    pub fn injection(&self) -> &Arc<Injection> {
        &self.inject
    }

    /// The sink's live counters (`infer` count, uploads in flight, …).
    pub fn stats(&self) -> Arc<SinkStats> {
        self.sink.stats()
    }

    /// Every trace file written so far this run.
    pub fn files(&self) -> Vec<PathBuf> {
        self.sink.files()
    }

    /// The folder session files go to (`<traces>/<label>`).
    pub fn session_dir(&self) -> &Path {
        self.sink.session_dir()
    }

    /// Flushes every open trace file now (returns when done).
    pub fn flush_all(&self) {
        self.sink.flush_all()
    }

    /// Flushes and closes every open trace file (returns when done).
    pub fn close_all(&self) {
        self.sink.close_all()
    }
}

/// Starts the capture layer (inside a Tokio runtime: the sink's writer
/// thread and folder): its handler, to put on a proxy, and the handle the
/// caller keeps. [`install`] does this and puts the handler on a builder;
/// use this one to put it on conditionally (as `Option<Capture>`, see
/// [`webinfer_proxy::Handler`]).
pub fn start(opts: &CaptureOptions) -> Result<(Capture, CaptureHandle), CaptureError> {
    let sink = TraceSink::new(opts.sink.clone()).map_err(|source| CaptureError::Sink {
        dir: opts.sink.dir.clone(),
        source,
    })?;
    let inject = Arc::new(Injection::new(
        opts.injector.clone(),
        sink.clone(),
        opts.inject.clone(),
    ));
    let capture = Capture::new(sink.clone(), inject.clone());
    Ok((capture, CaptureHandle { sink, inject }))
}

/// Starts the capture layer ([`start`]) and puts its handler ([`Capture`])
/// on `builder`, after the handler already there (which runs first in every
/// step). This is how `webinfer proxy`, `webinfer audit` and the benchmarks
/// put capture on the proxy.
#[allow(clippy::type_complexity)]
pub fn install<H: Handler>(
    builder: ProxyBuilder<H>,
    opts: &CaptureOptions,
) -> Result<(ProxyBuilder<(H, Capture)>, CaptureHandle), CaptureError> {
    let (capture, handle) = start(opts)?;
    Ok((builder.layer(capture), handle))
}
