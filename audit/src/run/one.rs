//! One run: the proxy ([`start_proxy`]), the browser on the URL (for Chromium with a
//! DevTools connection for `--interact`, `--devtools-trace` and to end the page cleanly), the
//! [`Sampler`] until a stop rule holds, then the clean end (uploads, `pagehide`, browser,
//! sink, proxy), the audit's own records ([`AuditFile`]) and the [`RunSummary`].

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use webinfer_capture::sink::unix_ms;
use webinfer_format::Record;

use super::audit_file::AuditFile;
use super::options::url_host;
use super::plan::Plan;
use super::progress::{self, Progress, RunId};
use super::proxy::{start_proxy, RunProxy};
use super::sampler::{drain_to_newest_page, Sampler, StopRules};
use super::summary::RunSummary;
use crate::browser::{BrowserKind, Launch, RunningBrowser};
use crate::cdp::Cdp;
use crate::error::AuditError;
use crate::interact;
use crate::tail::TraceTail;
use crate::variant::Variant;

/// How long the browser gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs `url` with `variant`, repeat `rep`.
pub(crate) async fn run_one(
    plan: &Plan,
    url: &str,
    variant: &Variant,
    rep: u32,
    cancel: &CancellationToken,
) -> Result<RunSummary, AuditError> {
    let o = &plan.opts;
    let host = url_host(url)?;
    let label_dir = plan.capture.sink.dir.join(&plan.label);
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

    let RunProxy {
        handle,
        sink,
        allow,
    } = start_proxy(plan, variant, &host).await?;

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
    let id = RunId {
        browser: plan.browser.kind.name().to_owned(),
        variant: variant.name.clone(),
        repeat: rep,
        url: url.to_owned(),
    };
    progress::emit(&o.progress, Progress::Launched(id.clone()));

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
    let infers = || sinks.infer_count();
    let rules = StopRules {
        duration: o.duration,
        page_wait: o.page_wait,
        until_infers: o.until_infers,
    };
    let mut sampler = Sampler {
        browser: &mut browser,
        tail: &mut tail,
        file: &mut audit_file,
        infers: &infers,
        run: id,
        started,
    };
    let watch = sampler.run(&rules, cancel, |p| progress::emit(&o.progress, p));
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
    drain_to_newest_page(&tail, &mut audit_file)?;
    audit_file.close()?;
    tail.include(&audit_file.path);
    tail.poll();

    let mut refused = allow.refused();
    for (h, n) in &proxy_stats.refused {
        *refused.entry(h.clone()).or_insert(0) += n;
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
        proxy: proxy_stats,
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
