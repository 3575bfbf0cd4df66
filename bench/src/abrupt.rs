//! Records lost when a browser is closed abruptly: an e2e page (`web/e2e/`) makes its
//! inferences, stays `linger` ms, reports DONE to the site, and at that moment its browser
//! context is disposed (Chromium: CDP `Target.disposeBrowserContext`, what Playwright's
//! `context.close()` does) or its browser gets SIGTERM (Firefox). The trace written by the real
//! proxy is then counted: `infer` records stored vs the page's calls.
//!
//! The hook is the embedded one, or any other hook source (`hook_js`, e.g. an older version
//! concatenated from its MANIFEST) injected with the same config, for before/after figures.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use webinfer_audit::browser::{Browser, Launch};
use webinfer_audit::cdp::Cdp;
use webinfer_audit::site::SiteServer;

use crate::harness::{read_records, repo_root, HarnessError};

/// The fake host the e2e site is served under.
pub const HOST: &str = "abrupt.webinfer.test";

/// One measured case.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `chromium` or `firefox`.
    pub browser: &'static str,
    /// The page path.
    pub page: String,
    /// ms the page stayed after its last call.
    pub linger_ms: u64,
    /// Inferences the page made, summed over repetitions.
    pub calls: usize,
    /// `infer` records in the traces, summed over repetitions.
    pub stored: usize,
    /// Repetitions.
    pub reps: usize,
}

impl Row {
    /// Records lost (calls − stored, never below 0).
    pub fn lost(&self) -> usize {
        self.calls.saturating_sub(self.stored)
    }
}

/// Parameters.
#[derive(Debug, Clone)]
pub struct AbruptOptions {
    /// Pages (path and query, `n=` and `linger=` are added).
    pub pages: Vec<String>,
    /// Inferences per page.
    pub n: usize,
    /// Linger times to measure.
    pub lingers: Vec<u64>,
    /// Repetitions per case.
    pub reps: usize,
    /// Browsers (`chromium`, `firefox`).
    pub browsers: Vec<&'static str>,
    /// Hook source to inject instead of the embedded one.
    pub hook_js: Option<PathBuf>,
}

async fn start(
    opts: &AbruptOptions,
) -> Result<
    (
        SiteServer,
        webinfer_proxy::ProxyHandle,
        tempfile::TempDir,
        tempfile::TempDir,
    ),
    HarnessError,
> {
    let perr = |e: &dyn std::fmt::Display| HarnessError::Proxy(e.to_string());
    let io = |e| HarnessError::Io {
        path: std::env::temp_dir(),
        source: e,
    };
    let site = SiteServer::builder()
        .mount("/", repo_root().join("web"))
        .host_name(HOST)
        .start()
        .await
        .map_err(|e| HarnessError::Site(e.to_string()))?;
    let ca_dir = tempfile::tempdir().map_err(io)?;
    let traces = tempfile::tempdir().map_err(io)?;
    let ca = Arc::new(
        webinfer_proxy::CertificateAuthority::load_or_create(ca_dir.path())
            .map_err(|e| perr(&e))?,
    );
    let mut capture = webinfer_capture::CaptureOptions::new(traces.path());
    capture.injector = match &opts.hook_js {
        Some(p) => {
            let src = std::fs::read_to_string(p).map_err(|e| HarnessError::Io {
                path: p.clone(),
                source: e,
            })?;
            webinfer_injector::Injector::with_hook(webinfer_injector::Hook::from_source(&src))
        }
        None => webinfer_injector::Injector::new(),
    };
    // Chromium's and Firefox's background calls are refused.
    let deny = [
        webinfer_audit::site::GOOGLE_HOSTS,
        &["*.mozilla.com", "*.mozilla.net", "*.mozilla.org"],
    ]
    .concat();
    let builder = site.proxy_builder(HOST, ca, &deny).map_err(|e| perr(&e))?;
    let (builder, _capture) = webinfer_capture::install(builder, &capture).map_err(|e| perr(&e))?;
    let proxy = builder.start().await.map_err(|e| perr(&e))?;
    Ok((site, proxy, ca_dir, traces))
}

/// One page run: returns (calls, infer records stored).
async fn one(
    opts: &AbruptOptions,
    browser: &'static str,
    page: &str,
    linger: u64,
) -> Result<(usize, usize), HarnessError> {
    let (site, proxy, _ca_dir, traces) = start(opts).await?;
    let sep = if page.contains('?') { '&' } else { '?' };
    let path = format!("{page}{sep}n={}&linger={linger}&result=done", opts.n);
    let url = site.url_for_host(HOST, &path);
    let launch = |url: &str| Launch::headless(&proxy, url);
    let timeout = Duration::from_secs(120);
    let res = if browser == "chromium" {
        let spec = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let mut b = Browser::find(&spec)?.launch(&launch("about:blank")).await?;
        let cdp = Cdp::connect(&b.devtools_url(Duration::from_secs(20)).await?).await?;
        let ctx = cdp
            .call("Target.createBrowserContext", json!({}), None)
            .await?;
        let ctx = ctx["browserContextId"].clone();
        cdp.call(
            "Target.createTarget",
            json!({"url": url, "browserContextId": ctx}),
            None,
        )
        .await?;
        let r = site.wait_for_result("done", timeout).await;
        let _ = cdp
            .call(
                "Target.disposeBrowserContext",
                json!({"browserContextId": ctx}),
                None,
            )
            .await;
        drop(cdp);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        b.stop(Duration::from_secs(3)).await;
        r
    } else {
        let spec = std::env::var("FIREFOX").unwrap_or_else(|_| "firefox".to_owned());
        let b = Browser::find(&spec)?.launch(&launch(&url)).await?;
        let r = site.wait_for_result("done", timeout).await;
        b.stop(Duration::from_secs(10)).await; // SIGTERM, SIGKILL after 10 s
        tokio::time::sleep(Duration::from_millis(1500)).await;
        r
    };
    proxy.shutdown().await;
    site.shutdown().await;
    let body = res.ok_or_else(|| HarnessError::Page {
        page: page.to_owned(),
        reason: "no DONE within 120 s".into(),
    })?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| HarnessError::Page {
        page: page.to_owned(),
        reason: format!("result: {e}"),
    })?;
    if let Some(e) = v.get("error") {
        return Err(HarnessError::Page {
            page: page.to_owned(),
            reason: e.to_string(),
        });
    }
    let calls = v["outputs"].as_array().map_or(0, Vec::len);
    let stored = read_records(traces.path())?
        .iter()
        .filter(|r| r["kind"] == "infer" && r.get("by").is_none())
        .count();
    Ok((calls, stored))
}

/// Runs every browser × page × linger case `reps` times.
pub async fn run(opts: &AbruptOptions) -> Result<Vec<Row>, HarnessError> {
    let mut rows = Vec::new();
    for &browser in &opts.browsers {
        for page in &opts.pages {
            for &linger in &opts.lingers {
                let mut row = Row {
                    browser,
                    page: page.clone(),
                    linger_ms: linger,
                    calls: 0,
                    stored: 0,
                    reps: opts.reps,
                };
                for _ in 0..opts.reps {
                    let (c, s) = one(opts, browser, page, linger).await?;
                    row.calls += c;
                    row.stored += s;
                }
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| browser, close | page | page stayed after its last call | calls | infer records stored | lost |\n| --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let how = if r.browser == "chromium" {
            "chromium, context closed"
        } else {
            "firefox, SIGTERM"
        };
        s.push_str(&format!(
            "| {how} | `{}` | {} ms | {} | {} | {} ({:.0} %) |\n",
            r.page,
            r.linger_ms,
            r.calls,
            r.stored,
            r.lost(),
            100.0 * r.lost() as f64 / r.calls.max(1) as f64
        ));
    }
    s
}
