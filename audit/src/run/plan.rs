//! The plan of an audit: the browser found and its version, the variants, the label, the
//! proxy options every run shares, the demo site when no URL is given, and the list of
//! runs (URL × variant × repeat, this shard's share).

use webinfer_proxy::ProxyOptions;
use webinfer_proxy::ResolveRule;

use super::options::{default_label, url_host, AuditOptions};
use crate::browser::{Browser, BrowserKind};
use crate::demo;
use crate::error::AuditError;
use crate::site::{SiteServer, DEMO_HOST};
use crate::variant::Variant;

/// Everything shared by the runs of one audit.
pub(crate) struct Plan {
    pub(crate) opts: AuditOptions,
    pub(crate) browser: Browser,
    pub(crate) version: String,
    pub(crate) label: String,
    pub(crate) variants: Vec<Variant>,
    pub(crate) urls: Vec<String>,
    /// (URL index, variant index, repeat) of each run to do ([`crate::shard::planned_runs`]).
    pub(crate) runs: Vec<(usize, usize, u32)>,
    pub(crate) proxy: ProxyOptions,
    /// The capture layer's options (traces folder: with `--shard`, the shard's own).
    pub(crate) capture: webinfer_capture::CaptureOptions,
    _site: Option<SiteServer>,
}

/// Checks `opts` and prepares the runs (starting the demo site if no URL is given).
pub(crate) async fn plan(opts: AuditOptions) -> Result<Plan, AuditError> {
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
