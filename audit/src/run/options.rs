//! What an audit is asked ([`AuditOptions`]) and the parsing of its inputs: URL lists,
//! URLs, durations and the default label.

use std::path::{Path, PathBuf};
use std::time::Duration;

use webinfer_capture::CaptureOptions;
use webinfer_proxy::ProxyOptions;

use super::progress::OnProgress;
use crate::demo;
use crate::error::AuditError;

/// How long a run waits by default for the page's first trace record before it gives up.
pub const PAGE_WAIT: Duration = Duration::from_secs(60);

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
    /// Called with every [`Progress`](super::Progress) event (the CLI draws its progress
    /// bar from them); `None` reports nothing.
    pub progress: Option<OnProgress>,
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
            progress: None,
            devtools_trace: false,
            devtools_track: false,
            shard: None,
        }
    }
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
