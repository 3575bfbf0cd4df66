//! One bench run in real headless Chromium: the HTTPS bench site (`bench/web/` plus
//! `web/node_modules/`, served by [`webinfer_audit::site`]), the webinfer proxy in front of it
//! (injecting the hook, or passing every response through untouched), Chromium launched through
//! the proxy ([`webinfer_audit::browser`]), and a DevTools connection
//! ([`webinfer_audit::cdp`]) that can record a performance trace and sample
//! `Performance.getMetrics` while the page runs.
//!
//! A bench page (`bench/web/*.html`) does its whole run by itself and POSTs its result to the
//! site's results endpoint; [`run_page`] waits for that, stops the trace, navigates the page
//! away (so the hook sends its last records and its `end`) and returns the page result, the
//! hook's trace records, the DevTools trace events and the metric samples.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use webinfer_audit::browser::{Browser, Launch, RunningBrowser};
use webinfer_audit::cdp::Cdp;
use webinfer_audit::site::SiteServer;
use webinfer_audit::AuditError;
use webinfer_format::files::{is_jsonl, walk};
use webinfer_format::{Header, Kind};

/// The fake host name the bench site is served under (resolved to loopback by the proxy).
pub const HOST: &str = "bench.webinfer.test";

/// DevTools trace categories recorded by [`RunOptions::trace`]: main-thread tasks
/// (`toplevel`), the timeline events DevTools shows (`devtools.timeline`, its frame events),
/// user-timing marks (to align clocks) and V8 execution.
pub const TRACE_CATEGORIES: &[&str] = &[
    "toplevel",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "blink.user_timing",
    "v8.execute",
];

/// The trace ring buffer's size.
pub const TRACE_BUFFER_KB: u64 = 256 * 1024;

/// What can go wrong in a bench run.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The site server, the browser or the DevTools connection failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The bench site did not start.
    #[error("bench site: {0}")]
    Site(String),
    /// The proxy did not start.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The page reported an error, or no result in time.
    #[error("page {page}: {reason}")]
    Page {
        /// The page path.
        page: String,
        /// What happened (the page's error, or the browser's log tail).
        reason: String,
    },
    /// The DevTools trace did not complete.
    #[error("DevTools trace: {0}")]
    Trace(String),
    /// Reading the hook's trace files failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Whether the proxy injects the hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hooks {
    /// The proxy injects the hook and stores its trace (what `webinfer proxy` does).
    Inject,
    /// The same proxy with no filters: every response passes through untouched.
    Passthrough,
}

impl Hooks {
    /// `"hooks"` or `"no hooks"`.
    pub fn label(self) -> &'static str {
        match self {
            Hooks::Inject => "hooks",
            Hooks::Passthrough => "no hooks",
        }
    }
}

/// How to run one page.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Path and query of the page on the bench site, e.g. `/bench/tfjs.html?backend=wasm&n=30`.
    pub page: String,
    /// Inject the hook or pass through.
    pub hooks: Hooks,
    /// Record a DevTools trace ([`TRACE_CATEGORIES`]) of the whole run.
    pub trace: bool,
    /// Sample `Performance.getMetrics` this often while the page runs.
    pub metrics_every: Option<Duration>,
    /// How long the page may take to post its result.
    pub timeout: Duration,
    /// Extra Chromium switches.
    pub chromium_args: Vec<String>,
    /// Fields merged into every injected copy's hook config (a JSON object), e.g.
    /// `{"off":["kernel_wrap"]}` to switch a hook part off (`injector/js/RULES.md`,
    /// "Switches"); `None`: the proxy's config as is.
    pub hook_config: Option<Value>,
}

impl RunOptions {
    /// Defaults: hooks injected, no trace, no metrics, 180 s timeout, no extra switches.
    pub fn new(page: impl Into<String>) -> Self {
        RunOptions {
            page: page.into(),
            hooks: Hooks::Inject,
            trace: false,
            metrics_every: None,
            timeout: Duration::from_secs(180),
            chromium_args: Vec::new(),
            hook_config: None,
        }
    }
}

/// The embedded hook with `patch` (a JSON object) merged into its config prefix: a line
/// between the proxy's config line and the hook source.
fn patched_hook(patch: &Value) -> webinfer_injector::Hook {
    let base = webinfer_injector::Hook::embedded();
    webinfer_injector::Hook::from_source(&format!(
        "if (globalThis.__WEBINFER_CONFIG__) Object.assign(globalThis.__WEBINFER_CONFIG__, {patch});\n{}",
        base.source()
    ))
}

/// One `Performance.getMetrics` sample, with `Runtime.getHeapUsage` asked right after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsSample {
    /// The `Timestamp` metric: monotonic clock, seconds (the DevTools trace's clock).
    pub timestamp_s: f64,
    /// `JSHeapUsedSize`, bytes: the V8 heap's used size.
    pub js_heap_used: f64,
    /// `Runtime.getHeapUsage` `backingStorageSize`, bytes: ArrayBuffer backing stores,
    /// outside the V8 heap (Chromium's `performance.memory.usedJSHeapSize` adds them).
    pub backing_storage: f64,
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The page's POSTed result (see `bench/web/bench.js`).
    pub result: Value,
    /// The hook's trace records (empty with [`Hooks::Passthrough`]).
    pub records: Vec<Value>,
    /// The DevTools trace events (empty without [`RunOptions::trace`]).
    pub trace_events: Vec<Value>,
    /// The `Performance.getMetrics` samples, in order.
    pub metrics: Vec<MetricsSample>,
}

/// The workspace root (the parent of `bench/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Starts the bench site: `/bench/` → `bench/web/`, `/node_modules/` → `web/node_modules/`,
/// no cross-origin isolation (single-threaded wasm, everything on the main thread).
pub async fn start_site() -> Result<SiteServer, HarnessError> {
    let root = repo_root();
    SiteServer::builder()
        .mount("/bench", root.join("bench/web"))
        .mount("/node_modules", root.join("web/node_modules"))
        .host_name(HOST)
        .start()
        .await
        .map_err(|e| HarnessError::Site(e.to_string()))
}

/// The Chromium to use: `$CHROMIUM` (a path) or the first Chromium on `PATH`.
pub fn chromium() -> Result<Browser, HarnessError> {
    let spec = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    Ok(Browser::find(&spec)?)
}

struct Proxy {
    handle: webinfer_proxy::ProxyHandle,
    /// Holds the proxy's CA files for as long as the proxy runs.
    _ca_dir: tempfile::TempDir,
    traces: tempfile::TempDir,
}

async fn start_proxy(
    site: &SiteServer,
    hooks: Hooks,
    hook_config: Option<&Value>,
) -> Result<Proxy, HarnessError> {
    let perr = |e: &dyn std::fmt::Display| HarnessError::Proxy(e.to_string());
    let tmp = |what: &str| {
        tempfile::tempdir().map_err(|e| HarnessError::Io {
            path: std::env::temp_dir().join(what),
            source: e,
        })
    };
    let ca_dir = tmp("ca")?;
    let traces = tmp("traces")?;
    let ca = Arc::new(
        webinfer_proxy::CertificateAuthority::load_or_create(ca_dir.path())
            .map_err(|e| perr(&e))?,
    );
    let builder = site
        .proxy_builder(HOST, ca, webinfer_audit::site::GOOGLE_HOSTS)
        .map_err(|e| perr(&e))?;
    let capture = if hooks == Hooks::Inject {
        let mut capture = webinfer_capture::CaptureOptions::new(traces.path());
        if let Some(patch) = hook_config {
            capture.injector = webinfer_injector::Injector::with_hook(patched_hook(patch));
        }
        Some(webinfer_capture::start(&capture).map_err(|e| perr(&e))?.0)
    } else {
        None
    };
    let handle = builder
        .handler(capture)
        .start()
        .await
        .map_err(|e| perr(&e))?;
    Ok(Proxy {
        handle,
        _ca_dir: ca_dir,
        traces,
    })
}

/// Starts a fresh proxy and a fresh headless Chromium (on `about:blank`) behind it.
async fn launch(
    site: &SiteServer,
    opts: &RunOptions,
) -> Result<(Proxy, RunningBrowser), HarnessError> {
    let proxy = start_proxy(site, opts.hooks, opts.hook_config.as_ref()).await?;
    let browser = chromium()?;
    let launch = Launch {
        chromium_args: opts.chromium_args.clone(),
        ..Launch::headless(&proxy.handle, "about:blank")
    };
    match browser.launch(&launch).await {
        Ok(b) => Ok((proxy, b)),
        Err(e) => {
            proxy.handle.shutdown().await;
            Err(e.into())
        }
    }
}

/// Runs `opts.page` once in a fresh headless Chromium behind a fresh proxy.
pub async fn run_page(site: &SiteServer, opts: &RunOptions) -> Result<RunOutput, HarnessError> {
    let (proxy, mut running) = launch(site, opts).await?;
    let out = drive(site, &proxy, &mut running, opts).await;
    running.stop(Duration::from_secs(3)).await;
    proxy.handle.shutdown().await;
    out
}

async fn drive(
    site: &SiteServer,
    proxy: &Proxy,
    running: &mut RunningBrowser,
    opts: &RunOptions,
) -> Result<RunOutput, HarnessError> {
    let ws = running.devtools_url(Duration::from_secs(20)).await?;
    let cdp = Arc::new(Cdp::connect(&ws).await?);
    let page = cdp.attach_to_page().await?;
    // Only a traced run listens to events (tracing's data arrives as events).
    let mut events = opts.trace.then(|| cdp.subscribe());
    if opts.trace {
        cdp.call(
            "Tracing.start",
            json!({
                "transferMode": "ReportEvents",
                // A ring buffer: the newest events (the measured part, at the end of a run)
                // are kept; model loading and warm-up may be overwritten.
                "traceConfig": {
                    "recordMode": "recordContinuously",
                    "traceBufferSizeInKb": TRACE_BUFFER_KB,
                    "includedCategories": TRACE_CATEGORIES,
                }
            }),
            None,
        )
        .await?;
    }
    let sampler = match opts.metrics_every {
        Some(every) => {
            cdp.call("Performance.enable", json!({}), Some(&page))
                .await?;
            Some(spawn_sampler(cdp.clone(), page.clone(), every))
        }
        None => None,
    };
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "run-{}",
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let sep = if opts.page.contains('?') { '&' } else { '?' };
    let url = site.url_for_host(HOST, &format!("{}{sep}result={name}", opts.page));
    cdp.call("Page.navigate", json!({ "url": url }), Some(&page))
        .await?;
    let body = site.wait_for_result(&name, opts.timeout).await;
    let metrics = match sampler {
        Some((stop, task)) => {
            let _ = stop.send(());
            task.await.unwrap_or_default()
        }
        None => Vec::new(),
    };
    let trace_events = match events.as_mut() {
        Some(ev) => collect_trace(&cdp, ev).await?,
        None => Vec::new(),
    };
    let Some(body) = body else {
        return Err(HarnessError::Page {
            page: opts.page.clone(),
            reason: format!(
                "no result within {:?}; browser log: {}",
                opts.timeout,
                running.log_tail(2000)
            ),
        });
    };
    let result: Value = serde_json::from_slice(&body).map_err(|e| HarnessError::Page {
        page: opts.page.clone(),
        reason: format!("result is not JSON: {e}"),
    })?;
    if let Some(err) = result.get("error") {
        return Err(HarnessError::Page {
            page: opts.page.clone(),
            reason: err.to_string(),
        });
    }
    // Leave the page: the hook sends the rest of its queue and its `end` record.
    cdp.call("Page.navigate", json!({"url": "about:blank"}), Some(&page))
        .await?;
    let records = if opts.hooks == Hooks::Inject {
        wait_for_end(proxy.traces.path()).await?
    } else {
        Vec::new()
    };
    Ok(RunOutput {
        result,
        records,
        trace_events,
        metrics,
    })
}

type Sampler = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Vec<MetricsSample>>,
);

/// Calls `Performance.getMetrics` and `Runtime.getHeapUsage` every `every` until told to
/// stop.
fn spawn_sampler(cdp: Arc<Cdp>, page: String, every: Duration) -> Sampler {
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut out = Vec::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                _ = tick.tick() => {}
            }
            let Ok(r) = cdp
                .call("Performance.getMetrics", json!({}), Some(&page))
                .await
            else {
                continue;
            };
            let metric = |name: &str| {
                r["metrics"].as_array().and_then(|a| {
                    a.iter()
                        .find(|m| m["name"] == name)
                        .and_then(|m| m["value"].as_f64())
                })
            };
            let Ok(h) = cdp
                .call("Runtime.getHeapUsage", json!({}), Some(&page))
                .await
            else {
                continue;
            };
            if let (Some(timestamp_s), Some(js_heap_used), Some(backing_storage)) = (
                metric("Timestamp"),
                metric("JSHeapUsedSize"),
                h["backingStorageSize"].as_f64(),
            ) {
                out.push(MetricsSample {
                    timestamp_s,
                    js_heap_used,
                    backing_storage,
                });
            }
        }
        out
    });
    (stop_tx, task)
}

/// Ends the trace and gathers its events (`Tracing.dataCollected` until
/// `Tracing.tracingComplete`).
async fn collect_trace(
    cdp: &Cdp,
    events: &mut mpsc::UnboundedReceiver<Value>,
) -> Result<Vec<Value>, HarnessError> {
    cdp.call("Tracing.end", json!({}), None).await?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| HarnessError::Trace("no Tracing.tracingComplete within 60 s".into()))?
            .ok_or_else(|| HarnessError::Trace("the DevTools connection closed".into()))?;
        match ev["method"].as_str() {
            Some("Tracing.dataCollected") => {
                if let Some(a) = ev["params"]["value"].as_array() {
                    out.extend(a.iter().cloned());
                }
            }
            Some("Tracing.tracingComplete") => return Ok(out),
            _ => {}
        }
    }
}

/// Waits (≤ 20 s) until the hook's page session wrote its `end` record (an `end` of the
/// session's own writer, not the proxy's); returns every record of every `*.jsonl` under
/// `dir`.
async fn wait_for_end(dir: &Path) -> Result<Vec<Value>, HarnessError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let records = read_records(dir)?;
        let ended = records
            .iter()
            .filter_map(Header::of)
            .any(|h| h.kind == Kind::End && h.by.is_own());
        if ended || tokio::time::Instant::now() >= deadline {
            return Ok(records);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every record of every `*.jsonl` file under `dir` (recursively, in path order): the lines
/// that are JSON objects with the format's common fields ([`Header`]); torn or other lines
/// are skipped.
pub fn read_records(dir: &Path) -> Result<Vec<Value>, HarnessError> {
    let io = |path: &Path, source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for p in walk(dir, is_jsonl, |at, e| Err(io(at, e)))? {
        let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
        out.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| Header::of(v).is_some()),
        );
    }
    Ok(out)
}

/// A page kept open for step-by-step driving through DevTools (`Runtime.evaluate`): what the
/// observer benchmark uses to interleave inferences of two browsers. [`Session::close`] ends
/// the browser and the proxy.
pub struct Session {
    proxy: Proxy,
    browser: RunningBrowser,
    cdp: Cdp,
    /// The DevTools session id of the page.
    page: String,
    /// The page's path and query.
    path: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Launches proxy and Chromium and navigates to `opts.page` (trace, metrics and timeout
    /// options are not used here).
    pub async fn open(site: &SiteServer, opts: &RunOptions) -> Result<Session, HarnessError> {
        let (proxy, mut browser) = launch(site, opts).await?;
        let attach = async {
            let ws = browser.devtools_url(Duration::from_secs(20)).await?;
            let cdp = Cdp::connect(&ws).await?;
            let page = cdp.attach_to_page().await?;
            let url = site.url_for_host(HOST, &opts.page);
            cdp.call("Page.navigate", json!({ "url": url }), Some(&page))
                .await?;
            Ok::<_, AuditError>((cdp, page))
        }
        .await;
        match attach {
            Ok((cdp, page)) => Ok(Session {
                proxy,
                browser,
                cdp,
                page,
                path: opts.page.clone(),
            }),
            Err(e) => {
                browser.stop(Duration::from_secs(3)).await;
                proxy.handle.shutdown().await;
                Err(e.into())
            }
        }
    }

    /// Evaluates `expression` in the page (promises awaited) and returns its JSON value.
    pub async fn evaluate(&self, expression: &str) -> Result<Value, HarnessError> {
        Ok(self.cdp.evaluate(&self.page, expression).await?)
    }

    /// Polls `expression` every 200 ms until it is `true`, for at most `timeout`.
    pub async fn wait_until(
        &self,
        expression: &str,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // The page may still be loading (evaluation fails): retry until the deadline.
            if let Ok(Value::Bool(true)) = self.cdp.evaluate(&self.page, expression).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let err = self
                    .cdp
                    .evaluate(&self.page, "String(self.BENCH && BENCH.error)")
                    .await
                    .unwrap_or_default();
                return Err(HarnessError::Page {
                    page: self.path.clone(),
                    reason: format!(
                        "`{expression}` not true within {timeout:?} (page error: {err}); browser log: {}",
                        self.browser.log_tail(1500)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Ends the browser and the proxy.
    pub async fn close(self) {
        drop(self.cdp);
        self.browser.stop(Duration::from_secs(3)).await;
        self.proxy.handle.shutdown().await;
    }
}
