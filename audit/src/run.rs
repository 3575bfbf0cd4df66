//! One audit: every URL × variant × repeat, each a *run* with its own proxy,
//! browser profile and trace files.
//!
//! A run:
//! 1. starts the proxy on `127.0.0.1:0` with, in order, the [`AllowList`]
//!    (audited host + what it loads), the variant's [`StripIsolation`] if
//!    any, the trace sink (label, variant) and the hook injector;
//! 2. launches the browser on the URL ([`crate::browser`]); for Chromium it
//!    attaches over the DevTools protocol (for `--interact`, and to navigate
//!    to `about:blank` at the end so the hooks see `pagehide` and flush);
//! 3. every 500 ms samples the RSS of the browser's process tree
//!    ([`crate::memory`]) and follows the run's trace files ([`TraceTail`]);
//! 4. stops when `--duration` has passed since the page's first trace record
//!    (so a slow browser start or page load does not eat into the run), when
//!    no page session appeared within [`PAGE_WAIT`], `--until-infers`
//!    inferences were stored (the sink's counter), the browser exited, or on
//!    Ctrl-C;
//! 5. ends the browser (whole process tree), flushes the sink, stops the
//!    proxy, and writes its own file `<traces>/<label>/audit-<run>.jsonl`:
//!    for each top-level page session, a `session` record with `by:"audit"`
//!    (`label`, `variant`, `browser {name, version, flags}`) and the `mem`
//!    records (`rss` and `renderer_rss`, `by:"audit"`, `ts` relative to the page's time origin,
//!    negative for samples taken before the page existed). Samples go to the
//!    newest page session at the time they were taken.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use webinfer_capture::sink::unix_ms;
use webinfer_capture::CaptureOptions;
use webinfer_format::{Record, TraceWriter};
use webinfer_proxy::config::ResolveRule;
use webinfer_proxy::ProxyOptions;

use crate::allow::AllowList;
use crate::browser::{Browser, BrowserKind, Launch, RunningBrowser};
use crate::cdp::Cdp;
use crate::demo;
use crate::error::AuditError;
use crate::interact::{self, InteractStats};
use crate::isolation::StripIsolation;
use crate::memory;
use crate::site::{SiteServer, DEMO_HOST};
use crate::tail::{SeqProblem, TraceTail};
use crate::variant::Variant;

/// How often memory is sampled and the traces are read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// How long the browser gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Everything `webinfer audit` can be asked.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Pages to audit; empty audits the bundled demo.
    pub urls: Vec<String>,
    /// `chromium`, `firefox` or a path.
    pub browser: String,
    /// Show the browser window.
    pub headful: bool,
    /// Length of each run, counted from the page's first trace record.
    pub duration: Duration,
    /// End a run early once this many `infer` records were stored.
    pub until_infers: Option<u64>,
    /// How long to wait for the page's first trace record ([`PAGE_WAIT`] by default).
    pub page_wait: Duration,
    /// After the runs, run every saved model natively ([`crate::native_baseline`]); the
    /// proxy then saves models to `<traces>/<label>/models/` unless `--save-models` says where.
    pub native: bool,
    /// Runs per URL × variant.
    pub repeat: u32,
    /// Variant names (empty: `default`).
    pub variants: Vec<String>,
    /// Extra browser arguments (Chromium switches or Firefox arguments).
    pub browser_args: Vec<String>,
    /// Send synthetic input (Chromium only).
    pub interact: bool,
    /// Trace label (sub-folder of the traces folder); default `audit-<UTC time>`.
    pub label: Option<String>,
    /// The proxy's options (CA, upstream CA, resolve, hosts).
    pub proxy: ProxyOptions,
    /// The capture layer's options (traces folder, sink limits,
    /// `--save-models`); label, variant and the hook's DevTools track are
    /// set per run.
    pub capture: CaptureOptions,
    /// The `web/` folder holding `demo/` and `node_modules/`.
    pub web_dir: PathBuf,
    /// Query string for the embedded demo (e.g. `tfjs=webgl&ort=wasm`).
    pub demo_query: String,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Record the browser's own timeline (Chromium: a Chrome trace through CDP, written next
    /// to the run's traces as `devtools-<run>.json`), for `webinfer export perfetto
    /// --browser-trace`.
    pub devtools_trace: bool,
    /// The hooks mirror inferences and model loads as DevTools `performance.measure` entries
    /// (a "webinfer" track in the Performance panel).
    pub devtools_track: bool,
    /// Only this share of the runs (`--shard K/N`, [`crate::shard`]).
    pub shard: Option<crate::shard::Shard>,
}

impl AuditOptions {
    /// Defaults: Chromium, headless, 30 s, one run of `default` on the demo.
    pub fn new(proxy: ProxyOptions) -> Self {
        AuditOptions {
            urls: Vec::new(),
            browser: "chromium".into(),
            headful: false,
            duration: Duration::from_secs(30),
            page_wait: PAGE_WAIT,
            native: false,
            until_infers: None,
            repeat: 1,
            variants: Vec::new(),
            browser_args: Vec::new(),
            interact: false,
            label: None,
            proxy,
            capture: CaptureOptions::new("traces"),
            web_dir: demo::default_web_dir(),
            demo_query: String::new(),
            progress: false,
            devtools_trace: false,
            devtools_track: false,
            shard: None,
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `--duration` passed.
    Duration,
    /// `--until-infers` was reached.
    Infers(u64),
    /// Ctrl-C (or the caller's cancellation).
    Interrupted,
    /// The browser exited by itself.
    BrowserExited(String),
    /// No page session (no hook record) appeared within `page_wait`: the
    /// page did not load through the proxy, or its hooks could not run.
    NoPage(Duration),
}

/// How long a run waits by default for the page's first trace record before it gives up.
pub const PAGE_WAIT: Duration = Duration::from_secs(60);

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Duration => write!(f, "duration reached"),
            StopReason::Infers(n) => write!(f, "{n} inferences seen"),
            StopReason::Interrupted => write!(f, "interrupted"),
            StopReason::BrowserExited(s) => write!(f, "browser exited ({s})"),
            StopReason::NoPage(d) => write!(
                f,
                "no page session after {:.0} s: the page did not load through the proxy or its hooks did not run",
                d.as_secs_f64()
            ),
        }
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The audited URL.
    pub url: String,
    /// `chromium` or `firefox`.
    pub browser: String,
    /// The browser's version.
    pub browser_version: String,
    /// The flags recorded in `session.browser.flags`.
    pub flags: Vec<String>,
    /// The variant.
    pub variant: String,
    /// Repeat number from 1.
    pub repeat: u32,
    /// The trace label.
    pub label: String,
    /// Trace files of this run (the sink's and the audit's own).
    pub files: Vec<PathBuf>,
    /// The audit's own file (`mem` and `session` records, `by:"audit"`).
    pub audit_file: PathBuf,
    /// Page session ids (top level).
    pub page_sessions: Vec<String>,
    /// All sessions (pages, frames, workers).
    pub sessions: usize,
    /// Records per kind.
    pub kinds: BTreeMap<String, u64>,
    /// `infer` records per framework.
    pub infers: BTreeMap<String, u64>,
    /// Refused requests per host (allow-list and `--deny-host`/`--allow-host`).
    pub refused: BTreeMap<String, u64>,
    /// Forwarded requests per host.
    pub forwarded: BTreeMap<String, u64>,
    /// Failed exchanges per host: how many, and the last error.
    pub failed: BTreeMap<String, (u64, String)>,
    /// The proxy's counters at the end of the run (connections, requests,
    /// upstream errors…), to tell a page that never loaded from one without hooks.
    pub proxy: webinfer_proxy::StatsSnapshot,
    /// Allowed hosts and why.
    pub allowed: BTreeMap<String, String>,
    /// Writers whose `seq` numbers have holes or repeats.
    pub seq_problems: Vec<SeqProblem>,
    /// Unparsable trace lines.
    pub bad_lines: u64,
    /// `mem.rss` samples written.
    pub mem_samples: u64,
    /// Highest RSS sampled, bytes.
    pub peak_rss: u64,
    /// What `--interact` did.
    pub interact: Option<InteractStats>,
    /// Why the run ended.
    pub stop: StopReason,
    /// How long the browser ran.
    pub elapsed: Duration,
    /// The browser's own trace (`--devtools-trace`, Chromium), and its event count.
    pub devtools_trace: Option<(PathBuf, u64)>,
}

impl RunSummary {
    /// All `infer` records.
    pub fn infer_total(&self) -> u64 {
        self.infers.values().sum()
    }
}

/// The result of [`audit`].
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The finished runs, in order.
    pub runs: Vec<RunSummary>,
    /// `<traces>/<label>`.
    pub trace_dir: PathBuf,
    /// Whether Ctrl-C stopped the audit (later runs were skipped).
    pub interrupted: bool,
    /// With `native`: every saved model's native baseline, or why it has none.
    pub native: Vec<crate::native_baseline::NativeOutcome>,
    /// With `native`: the baseline trace file (beside the page traces).
    pub native_trace: Option<PathBuf>,
}

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

/// Parses a duration such as `30s`, `1m30s`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (e.g. 30s, 2m, 500ms)"))
}

/// Reads a `--urls` file: one URL a line; blank lines and `#` comments skipped.
pub fn read_url_list(path: &Path) -> Result<Vec<String>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| AuditError::io("reading", path, e))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// The host of an `http(s)://` URL, lower case; an error for anything else.
pub fn url_host(url: &str) -> Result<String, AuditError> {
    let bad = |reason: &str| AuditError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("only http:// and https:// URLs can be audited")),
    }
    uri.host()
        .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        .ok_or_else(|| bad("no host"))
}

/// The default label: `audit-YYYYMMDDTHHMMSSZ` (UTC now).
pub fn default_label() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = crate::site::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "audit-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Everything shared by the runs of one audit.
struct Plan {
    opts: AuditOptions,
    browser: Browser,
    version: String,
    label: String,
    variants: Vec<Variant>,
    urls: Vec<String>,
    /// (URL index, variant index, repeat) of each run to do ([`crate::shard::planned_runs`]).
    runs: Vec<(usize, usize, u32)>,
    proxy: ProxyOptions,
    capture: CaptureOptions,
    _site: Option<SiteServer>,
}

/// Runs the whole audit. `cancel` (Ctrl-C) ends the current run cleanly and
/// skips the rest; every finished run's traces are kept.
pub async fn audit(
    opts: AuditOptions,
    cancel: CancellationToken,
) -> Result<AuditReport, AuditError> {
    let plan = plan(opts).await?;
    let total = plan.runs.len() as u64;
    let bar = if plan.opts.progress {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("audit");
    let mut runs = Vec::new();
    for &(u, v, rep) in &plan.runs {
        if cancel.is_cancelled() {
            break;
        }
        let run = run_one(&plan, &plan.urls[u], &plan.variants[v], rep, &cancel, &bar).await?;
        bar.inc(1);
        runs.push(run);
    }
    bar.finish_and_clear();
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

async fn plan(opts: AuditOptions) -> Result<Plan, AuditError> {
    let browser = Browser::find(&opts.browser)?;
    if opts.interact && browser.kind == BrowserKind::Firefox {
        return Err(AuditError::Unsupported(
            "--interact is not supported for Firefox yet (it needs the DevTools protocol; use --browser chromium)".into(),
        ));
    }
    let version = browser.version().await?;
    let names: Vec<String> = if opts.variants.is_empty() {
        vec!["default".into()]
    } else {
        opts.variants.clone()
    };
    let variants = names
        .iter()
        .map(|n| Variant::named(n))
        .collect::<Result<Vec<_>, _>>()?;
    if browser.kind == BrowserKind::Firefox {
        if let Some((v, why)) = variants
            .iter()
            .find_map(|v| v.firefox_unsupported.map(|w| (v, w)))
        {
            return Err(AuditError::Unsupported(format!(
                "variant {} is not supported for Firefox: {why}",
                v.name
            )));
        }
    }
    let label = opts.label.clone().unwrap_or_else(default_label);
    if opts.repeat == 0 {
        return Err(AuditError::Unsupported(
            "--repeat must be at least 1".into(),
        ));
    }
    let mut proxy = opts.proxy.clone();
    proxy.listen.set_port(0);
    let mut capture = opts.capture.clone();
    if let Some(s) = opts.shard {
        if opts.label.is_none() {
            return Err(AuditError::Unsupported(format!(
                "--shard {s} needs --label: every shard must write the same label"
            )));
        }
        capture.sink.dir = capture.sink.dir.join(s.folder());
    }
    if (opts.native || capture.sink.capture_inputs) && capture.sink.save_models.is_none() {
        capture.sink.save_models = Some(capture.sink.dir.join(&label).join("models"));
    }
    let (urls, site) = if opts.urls.is_empty() {
        let site = demo::start_demo_site(&opts.web_dir).await?;
        let rule: ResolveRule = format!("{DEMO_HOST}:{}:{}", site.port(), site.addr.ip())
            .parse()
            .map_err(AuditError::Proxy)?;
        proxy.resolve.push(rule);
        proxy.upstream_ca.push(site.ca_pem_path.clone());
        (vec![demo::demo_url(&site, &opts.demo_query)], Some(site))
    } else {
        for u in &opts.urls {
            url_host(u)?;
        }
        (opts.urls.clone(), None)
    };
    let runs = crate::shard::planned_runs(urls.len(), variants.len(), opts.repeat, opts.shard);
    Ok(Plan {
        opts,
        browser,
        version,
        label,
        variants,
        urls,
        runs,
        proxy,
        capture,
        _site: site,
    })
}

/// Memory samples waiting for a page session, and the per-sid writer state.
struct AuditFile {
    path: PathBuf,
    writer: Option<TraceWriter>,
    seq: HashMap<String, u64>,
    pending: Vec<(f64, u64, usize, Option<u64>)>,
    written: u64,
    peak: u64,
}

impl AuditFile {
    fn new(path: PathBuf) -> Self {
        AuditFile {
            path,
            writer: None,
            seq: HashMap::new(),
            pending: Vec::new(),
            written: 0,
            peak: 0,
        }
    }

    fn push(&mut self, sid: &str, rec: Record) -> Result<(), AuditError> {
        if self.writer.is_none() {
            self.writer = Some(TraceWriter::append(&self.path)?);
        }
        let seq = self.seq.entry(sid.to_owned()).or_insert(0);
        let mut rec = rec.set("by", "audit");
        rec.set_seq(*seq);
        *seq += 1;
        if let Some(w) = self.writer.as_mut() {
            w.write(&rec)?;
        }
        Ok(())
    }

    /// Writes the pending samples to `sid` (time origin `origin`, Unix ms).
    fn drain_to(&mut self, sid: &str, origin: f64) -> Result<(), AuditError> {
        for (at, rss, procs, renderer) in std::mem::take(&mut self.pending) {
            let mut rec = Record::new(sid, "mem", at - origin)
                .set("rss", rss)
                .set("processes", procs as u64);
            if let Some(r) = renderer {
                rec = rec.set("renderer_rss", r);
            }
            self.push(sid, rec)?;
            self.written += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AuditError> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

async fn run_one(
    plan: &Plan,
    url: &str,
    variant: &Variant,
    rep: u32,
    cancel: &CancellationToken,
    bar: &ProgressBar,
) -> Result<RunSummary, AuditError> {
    let o = &plan.opts;
    let host = url_host(url)?;
    let traces = plan.capture.sink.dir.clone();
    let label_dir = traces.join(&plan.label);
    std::fs::create_dir_all(&label_dir).map_err(|e| AuditError::io("creating", &label_dir, e))?;
    let mut tail = TraceTail::start(&label_dir);
    let run_id = format!(
        "{}-{}-r{rep}-{}",
        plan.browser.kind.name(),
        variant.name,
        unix_ms() as u64
    );
    let mut audit_file = AuditFile::new(label_dir.join(format!("audit-{run_id}.jsonl")));
    tail.exclude(&audit_file.path);

    // The proxy for this run.
    let allow = Arc::new(AllowList::new([host.as_str()]));
    let mut builder = plan.proxy.builder()?.filter(allow.clone());
    if variant.strip_isolation {
        builder = builder.filter(Arc::new(StripIsolation));
    }
    let mut capture = plan.capture.clone();
    capture.sink.label = Some(plan.label.clone());
    capture.sink.variant = Some(variant.name.clone());
    capture.inject.devtools_track = o.devtools_track;
    let (builder, capture) = webinfer_capture::install(builder, &capture).map_err(|e| {
        let why = std::error::Error::source(&e).map(|s| format!(": {s}"));
        AuditError::Unsupported(format!("trace sink: {e}{}", why.unwrap_or_default()))
    })?;
    let sink = capture.sink().clone();
    let handle = builder.start().await?;

    let mut chromium_args = variant.chromium_args.clone();
    let mut firefox_args = Vec::new();
    match plan.browser.kind {
        BrowserKind::Chromium => chromium_args.extend(o.browser_args.iter().cloned()),
        BrowserKind::Firefox => firefox_args.extend(o.browser_args.iter().cloned()),
    }
    let launch = Launch {
        proxy: handle.addr(),
        proxy_spki_pin: handle.ca().leaf_spki_pin(),
        proxy_ca_pem: handle.ca().cert_pem_path(),
        headless: !o.headful,
        chromium_args,
        firefox_prefs: variant.firefox_prefs.clone(),
        firefox_args,
        // With a browser trace the page is opened once tracing runs (its navigationStart is
        // what places the hooks' records on the trace's clock).
        url: if o.devtools_trace && plan.browser.kind == BrowserKind::Chromium {
            "about:blank".to_owned()
        } else {
            url.to_owned()
        },
    };
    let started = Instant::now();
    let mut browser = plan.browser.launch(&launch).await?;
    let mut flags = browser.flags().to_vec();
    flags.extend(variant.proxy_flags());
    bar.set_message(format!(
        "{} {} #{rep} {url}",
        plan.browser.kind.name(),
        variant.name
    ));

    // DevTools (Chromium): needed for --interact; otherwise used to end pages cleanly.
    let mut cdp: Option<(Cdp, String)> = None;
    if plan.browser.kind == BrowserKind::Chromium {
        match connect_cdp(&mut browser).await {
            Ok(c) => cdp = Some(c),
            Err(e) if o.interact => {
                browser.stop(STOP_GRACE).await;
                handle.shutdown().await;
                return Err(e);
            }
            Err(e) => {
                tracing::warn!("DevTools unavailable, the page will not be closed cleanly: {e}")
            }
        }
    }
    let mut recorder = None;
    if o.devtools_trace && plan.browser.kind == BrowserKind::Chromium {
        let Some((c, s)) = &cdp else {
            browser.stop(STOP_GRACE).await;
            handle.shutdown().await;
            return Err(AuditError::Cdp(
                "--devtools-trace needs the DevTools connection, which failed".into(),
            ));
        };
        let path = label_dir.join(format!("devtools-{run_id}.json"));
        recorder = Some(crate::devtools_trace::Recorder::start(c, s, &path).await?);
        c.call("Page.navigate", json!({ "url": url }), Some(s))
            .await?;
    }
    let interact_cancel = CancellationToken::new();
    let interact_task = match (&cdp, o.interact) {
        (Some((c, s)), true) => Some((c, s.clone())),
        _ => None,
    };

    let sinks = sink.stats();
    let mut page_at: Option<Instant> = None;
    let watch = async {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok::<_, AuditError>(StopReason::Interrupted),
                _ = tick.tick() => {}
            }
            if let Some(st) = browser.exited() {
                return Ok(StopReason::BrowserExited(st.to_string()));
            }
            if let Some((rss, procs)) = memory::tree_rss_bytes(browser.pid()) {
                let renderer = memory::renderer_rss_bytes(browser.pid()).map(|r| r.0);
                audit_file.pending.push((unix_ms(), rss, procs, renderer));
                audit_file.peak = audit_file.peak.max(rss);
            }
            tail.poll();
            if page_at.is_none() && !tail.page_sessions().is_empty() {
                page_at = Some(Instant::now());
            }
            if let Some((sid, s)) = tail.page_sessions().last() {
                if let Some(origin) = s.time_origin {
                    audit_file.drain_to(sid, origin)?;
                }
            }
            audit_file.flush()?;
            let infers = sinks.infer_count();
            bar.set_message(format!(
                "{} {} #{rep} {:.0}s {} infers {url}",
                plan.browser.kind.name(),
                variant.name,
                started.elapsed().as_secs_f64(),
                infers
            ));
            if let Some(n) = o.until_infers {
                if infers >= n {
                    return Ok(StopReason::Infers(infers));
                }
            }
            match page_at {
                Some(t) if t.elapsed() >= o.duration => return Ok(StopReason::Duration),
                None if started.elapsed() >= o.page_wait => {
                    return Ok(StopReason::NoPage(started.elapsed()))
                }
                _ => {}
            }
        }
    };
    let (stop, interact_stats) = match interact_task {
        Some((c, s)) => {
            let ic = interact_cancel.clone();
            let input = interact::run(c, &s, ic);
            tokio::pin!(input);
            tokio::select! {
                r = watch => {
                    interact_cancel.cancel();
                    let stats = input.await;
                    (r, Some(stats))
                }
                stats = &mut input => (Err(AuditError::Cdp(format!("interaction loop ended early: {stats:?}"))), None),
            }
        }
        None => (watch.await, None),
    };
    let elapsed = started.elapsed();

    // Model bytes a page is still handing over (--save-models) finish first.
    let upload_wait = Instant::now();
    while sinks.uploads_in_flight() > 0 && upload_wait.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // End the page so the hooks flush (`pagehide`), then the browser.
    if let Some((c, s)) = &cdp {
        if c.call("Page.navigate", json!({"url": "about:blank"}), Some(s))
            .await
            .is_ok()
        {
            wait_for_ends(&mut tail, Duration::from_secs(5)).await;
        }
    }
    let devtools_trace = match (recorder, &cdp) {
        (Some(r), Some((c, s))) => match r.finish(c, s).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("the browser trace is incomplete: {e}");
                None
            }
        },
        _ => None,
    };
    drop(cdp);
    browser.stop(STOP_GRACE).await;
    sink.flush_all();
    sink.close_all();
    let proxy_stats = handle.stats();
    let proxy_stats_all = proxy_stats.clone();
    handle.shutdown().await;
    let stop = stop?;

    // The audit's own records: session metadata per page, then pending samples.
    tail.poll();
    let pages = tail.page_sessions();
    for (sid, _) in &pages {
        let rec = Record::new(sid, "session", 0.0)
            .set("source", "page")
            .set("label", plan.label.as_str())
            .set("variant", variant.name.as_str())
            .set(
                "browser",
                json!({"name": plan.browser.kind.name(), "version": plan.version, "flags": flags}),
            );
        audit_file.push(sid, rec)?;
    }
    if let Some((sid, s)) = pages.last() {
        if let Some(origin) = s.time_origin {
            audit_file.drain_to(sid, origin)?;
        }
    }
    audit_file.flush()?;
    drop(audit_file.writer.take());
    tail.include(&audit_file.path);
    tail.poll();

    let mut refused = allow.refused();
    for (h, n) in proxy_stats.refused {
        *refused.entry(h).or_insert(0) += n;
    }
    Ok(RunSummary {
        url: url.to_owned(),
        browser: plan.browser.kind.name().to_owned(),
        browser_version: plan.version.clone(),
        flags,
        variant: variant.name.clone(),
        repeat: rep,
        label: plan.label.clone(),
        files: tail.files(),
        audit_file: audit_file.path.clone(),
        page_sessions: pages.iter().map(|(s, _)| s.clone()).collect(),
        sessions: tail.sessions().len(),
        kinds: tail.kinds().clone(),
        infers: tail.infers().clone(),
        refused,
        forwarded: allow.forwarded(),
        failed: allow.failed(),
        proxy: proxy_stats_all,
        allowed: allow
            .allowed()
            .into_iter()
            .map(|(h, r)| (h, r.to_string()))
            .collect(),
        seq_problems: tail.seq_problems(),
        bad_lines: tail.bad_lines(),
        mem_samples: audit_file.written,
        peak_rss: audit_file.peak,
        interact: interact_stats,
        stop,
        elapsed,
        devtools_trace,
    })
}

async fn connect_cdp(browser: &mut RunningBrowser) -> Result<(Cdp, String), AuditError> {
    let ws = browser.devtools_url(Duration::from_secs(20)).await?;
    let cdp = Cdp::connect(&ws).await?;
    let session = cdp.attach_to_page().await?;
    Ok((cdp, session))
}

/// Waits until every page session seen has its own `end` record (or `max`).
async fn wait_for_ends(tail: &mut TraceTail, max: Duration) {
    let deadline = Instant::now() + max;
    let before = tail.kinds().get("end").copied().unwrap_or(0);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tail.poll();
        let ends = tail.kinds().get("end").copied().unwrap_or(0);
        if ends > before && ends as usize >= tail.page_sessions().len() {
            return;
        }
    }
}

/// The run summaries as one JSON document (for `--out`).
pub fn report_json(r: &AuditReport) -> Value {
    let runs: Vec<Value> = r
        .runs
        .iter()
        .map(|s| {
            json!({
                "url": s.url,
                "browser": s.browser,
                "browser_version": s.browser_version,
                "variant": s.variant,
                "repeat": s.repeat,
                "label": s.label,
                "flags": s.flags,
                "files": s.files,
                "page_sessions": s.page_sessions,
                "sessions": s.sessions,
                "records": s.kinds,
                "infers": s.infers,
                "refused": s.refused,
                "forwarded": s.forwarded,
                "failed": s.failed.iter().map(|(h, (n, e))| (h.clone(), json!({"count": n, "last_error": e}))).collect::<serde_json::Map<_, _>>(),
                "proxy": {"connections": s.proxy.connections, "requests": s.proxy.requests, "forwarded": s.proxy.forwarded, "local": s.proxy.local, "upstream_errors": s.proxy.upstream_errors, "tunnels": s.proxy.tunnels},
                "allowed": s.allowed,
                "seq_problems": s.seq_problems.iter().map(|p| json!({"sid": p.sid, "by": p.by, "missing": p.missing, "duplicates": p.duplicates})).collect::<Vec<_>>(),
                "bad_lines": s.bad_lines,
                "mem_samples": s.mem_samples,
                "peak_rss": s.peak_rss,
                "interact": s.interact.map(|i| json!({"clicks": i.clicks, "keys": i.keys, "errors": i.errors})),
                "stop": s.stop.to_string(),
                "elapsed_s": s.elapsed.as_secs_f64(),
                "devtools_trace": s.devtools_trace.as_ref().map(|(p, n)| json!({"file": p, "events": n})),
            })
        })
        .collect();
    let native: Vec<Value> = r
        .native
        .iter()
        .map(|n| match &n.result {
            Ok(p50) => {
                json!({"model": n.model, "path": n.path, "engine": n.engine, "native_p50_ms": p50})
            }
            Err(e) => json!({"model": n.model, "path": n.path, "engine": n.engine, "error": e}),
        })
        .collect();
    json!({"trace_dir": r.trace_dir, "interrupted": r.interrupted, "runs": runs, "native": native, "native_trace": r.native_trace})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            url_host("https://Demo.Webinfer.Test:8443/x?y").unwrap(),
            "demo.webinfer.test"
        );
        assert_eq!(url_host("http://[::1]:80/").unwrap(), "::1");
        assert!(url_host("ftp://x/").is_err());
        assert!(url_host("not a url").is_err());
        assert!(url_host("/relative").is_err());
    }

    #[test]
    fn durations_and_labels() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").unwrap_err().contains("30s"));
        let l = default_label();
        assert!(
            l.starts_with("audit-20") && l.ends_with('Z') && l.len() == 22,
            "{l}"
        );
    }

    #[test]
    fn url_lists_skip_comments() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("urls.txt");
        std::fs::write(&p, "# sites\nhttps://a.test/\n\n  https://b.test/x  \n").unwrap();
        assert_eq!(
            read_url_list(&p).unwrap(),
            ["https://a.test/", "https://b.test/x"]
        );
        assert!(read_url_list(&d.path().join("missing")).is_err());
    }
}
