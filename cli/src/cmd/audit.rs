//! `webinfer audit`: drive real browsers through the proxy and collect traces
//! (the logic is in the `webinfer-audit` crate; this is argument parsing, the
//! progress bar drawn from the audit's progress events, and printing).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use webinfer_audit::run::{cancel_on_ctrl_c, parse_duration, read_url_list};
use webinfer_audit::{AuditOptions, AuditReport, OnProgress, Progress};
use webinfer_proxy::ProxyOptions;

use super::proxy::ProxyArgs;

/// Arguments of `webinfer audit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pages to audit. Without any (and without --urls), the bundled demo app
    /// is served under https://demo.webinfer.test and audited.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,
    /// Read more URLs from FILE (one a line, `#` comments).
    #[arg(long = "urls", value_name = "FILE")]
    pub urls_file: Option<PathBuf>,
    /// chromium, firefox (Firefox ESR) or the path of a browser executable.
    #[arg(long, default_value = "chromium", value_name = "chromium|firefox|PATH")]
    pub browser: String,
    /// Show the browser window (default: headless).
    #[arg(long)]
    pub headful: bool,
    /// How long each run lasts, counted from the page's first trace record
    /// (the wait for the page to load is at most 60 s).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// After the runs, run every model the pages loaded natively (saved to
    /// <traces>/<label>/models/ unless --save-models says where), so the report
    /// shows ×native. Default: on for the bundled demo, off for other URLs.
    #[arg(long)]
    pub native: bool,
    /// No native baselines (also for the bundled demo).
    #[arg(long)]
    pub no_native: bool,
    /// End a run early once N inferences were recorded.
    #[arg(long, value_name = "N")]
    pub until_infers: Option<u64>,
    /// Runs per URL and variant.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,
    /// Variant to run (repeatable): default, no-simd, no-threads, no-gpu, webgpu.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Extra browser argument (repeatable), e.g. --browser-arg=--js-flags=--max-opt=2.
    #[arg(long = "browser-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub browser_args: Vec<String>,
    /// Send synthetic clicks and key presses every 500 ms (Chromium).
    #[arg(long)]
    pub interact: bool,
    /// Record the browser's own timeline too (Chromium: a Chrome trace through DevTools,
    /// `devtools-<run>.json` beside the traces); merge it with `webinfer export perfetto
    /// --browser-trace`.
    #[arg(long)]
    pub devtools_trace: bool,
    /// The hooks mirror inferences and model loads as DevTools `performance.measure`
    /// entries (a "webinfer" track in the Performance panel), as `webinfer proxy
    /// --devtools-track`.
    #[arg(long)]
    pub devtools_track: bool,
    /// Run only share K of N of the URL × variant × repeat runs (run i goes to shard
    /// i mod N + 1), writing to <traces>/shard-K-of-N/<label>/; needs --label. N machines
    /// with the same URL list, variants and --repeat together run the whole audit.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<webinfer_audit::shard::Shard>,
    /// Trace label: traces go to <traces>/<label>/ (default audit-<UTC time>).
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// Write the analysis report (and audit-summary.json) to DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Query string for the bundled demo, e.g. `tfjs=webgl&ort=wasm`.
    #[arg(long, value_name = "QUERY", default_value = "")]
    pub demo_query: String,
    /// The web/ folder with demo/ and node_modules/ (default: ./web or the source tree).
    #[arg(long, value_name = "DIR", env = "WEBINFER_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// The proxy's options.
    #[command(flatten)]
    pub proxy: Box<ProxyArgs>,
}

/// Runs `webinfer audit`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut urls = args.urls;
    if let Some(f) = &args.urls_file {
        urls.extend(read_url_list(f)?);
    }
    let capture = args.proxy.capture();
    let mut opts = AuditOptions::new(ProxyOptions::from(*args.proxy));
    opts.capture = capture;
    opts.urls = urls;
    opts.browser = args.browser;
    opts.headful = args.headful;
    opts.duration = args.duration;
    opts.until_infers = args.until_infers;
    opts.repeat = args.repeat;
    opts.variants = args.variants;
    opts.browser_args = args.browser_args;
    opts.interact = args.interact;
    opts.devtools_trace = args.devtools_trace;
    opts.devtools_track = args.devtools_track;
    opts.label = args.label;
    opts.shard = args.shard;
    opts.demo_query = args.demo_query;
    if let Some(w) = args.web_dir {
        opts.web_dir = w;
    }
    let bar = Bar::default();
    opts.progress = Some(bar.on_progress());
    opts.native = !args.no_native && (args.native || opts.urls.is_empty());

    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = rt.block_on(async move { webinfer_audit::audit(opts, cancel_on_ctrl_c()).await });
    bar.clear();
    let report = report?;
    print_summary(&report);
    print_native(&report);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let path = out.join("audit-summary.json");
        std::fs::write(&path, summary_json(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        if report.runs.iter().any(|r| !r.files.is_empty()) {
            let opts = super::analyze::AnalyzeOptions {
                paths: vec![report.trace_dir.clone()],
                out: out.clone(),
                ..Default::default()
            };
            super::analyze::analyze(&opts).context("analyzing the audit's traces")?;
        }
    } else {
        println!(
            "analyze with: webinfer analyze {}",
            report.trace_dir.display()
        );
    }
    if report.interrupted {
        anyhow::bail!(
            "interrupted: {} run(s) finished, their traces are kept",
            report.runs.len()
        );
    }
    Ok(())
}

/// `audit-summary.json`: the report as pretty JSON (keys sorted), with a final newline.
fn summary_json(report: &AuditReport) -> anyhow::Result<String> {
    let v = serde_json::to_value(report).context("serializing the audit summary")?;
    Ok(format!("{v:#}\n"))
}

/// The progress bar on stderr, drawn from the audit's [`Progress`] events.
#[derive(Clone, Default)]
struct Bar(Arc<OnceLock<ProgressBar>>);

impl Bar {
    /// The callback for [`AuditOptions::progress`].
    fn on_progress(&self) -> OnProgress {
        let cell = self.0.clone();
        OnProgress::new(move |p| match p {
            Progress::Planned { runs } => {
                let bar = ProgressBar::with_draw_target(Some(*runs), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix("audit");
                let _ = cell.set(bar);
            }
            Progress::Launched(r) => {
                if let Some(bar) = cell.get() {
                    bar.set_message(format!(
                        "{} {} #{} {}",
                        r.browser, r.variant, r.repeat, r.url
                    ));
                }
            }
            Progress::Sampled {
                run: r,
                elapsed,
                infers,
            } => {
                if let Some(bar) = cell.get() {
                    bar.set_message(format!(
                        "{} {} #{} {:.0}s {infers} infers {}",
                        r.browser,
                        r.variant,
                        r.repeat,
                        elapsed.as_secs_f64(),
                        r.url
                    ));
                }
            }
            Progress::RunDone => {
                if let Some(bar) = cell.get() {
                    bar.inc(1);
                }
            }
            Progress::Finished => {
                if let Some(bar) = cell.get() {
                    bar.finish_and_clear();
                }
            }
        })
    }

    /// Clears the bar (also when the audit failed mid-run).
    fn clear(&self) {
        if let Some(bar) = self.0.get() {
            bar.finish_and_clear();
        }
    }
}

fn print_native(r: &AuditReport) {
    if r.native.is_empty() {
        return;
    }
    println!(
        "native baselines ({}):",
        r.native_trace
            .as_ref()
            .map_or("none written".into(), |p| p.display().to_string())
    );
    for n in &r.native {
        match &n.result {
            Ok(p50) => println!("  {} [{}]: p50 {p50:.2} ms", n.model, n.engine),
            Err(e) => println!("  {} [{}]: no native baseline: {e}", n.model, n.engine),
        }
    }
}

fn print_summary(r: &AuditReport) {
    println!("traces: {}", r.trace_dir.display());
    for s in &r.runs {
        println!(
            "{} {} {} #{}: {} ({:.1} s), {} session(s), {} infer ({}), {} mem sample(s), peak RSS {:.0} MiB",
            s.browser,
            s.browser_version,
            s.variant,
            s.repeat,
            s.stop,
            s.elapsed.as_secs_f64(),
            s.sessions,
            s.infer_total(),
            s.infers.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            s.mem_samples,
            s.peak_rss as f64 / (1024.0 * 1024.0),
        );
        println!("  url: {}", s.url);
        println!(
            "  records: {}",
            s.kinds
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !s.refused.is_empty() {
            println!(
                "  refused (never forwarded): {}",
                s.refused
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (host, (n, e)) in &s.failed {
            println!("  warning: {n} request(s) to {host} failed; last: {e}");
        }
        if matches!(s.stop, webinfer_audit::StopReason::NoPage(_)) {
            println!(
                "  warning: the page sent no trace record ({} connection(s), {} request(s), {} forwarded, {} upstream error(s) at the proxy)",
                s.proxy.connections, s.proxy.requests, s.proxy.forwarded, s.proxy.upstream_errors
            );
        }
        if let Some(i) = s.interact {
            println!(
                "  input: {} clicks, {} keys, {} errors",
                i.clicks, i.keys, i.errors
            );
        }
        for p in &s.seq_problems {
            println!(
                "  warning: session {} writer {:?}: {} record(s) missing, {} repeated",
                p.sid, p.by, p.missing, p.duplicates
            );
        }
        if s.bad_lines > 0 {
            println!("  warning: {} unreadable trace line(s)", s.bad_lines);
        }
        for f in &s.files {
            println!("  {}", f.display());
        }
        if let Some((f, n)) = &s.devtools_trace {
            println!("  browser trace: {} ({n} events)", f.display());
        }
    }
}
