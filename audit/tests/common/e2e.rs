//! The set-up the page end-to-end tests share (`hooks_e2e`, `frameworks_e2e`, `fidelity_e2e`,
//! `browser_kill`): the webinfer proxy in front of the HTTPS test site with the hook injected,
//! the Chromium flags of a direct and of a proxied run, a page's POSTed result, the wait for a
//! page's `end` record, the check that the proxy's sink took every batch whole, and the checks
//! every recorded trace must pass (schema, gap-free `seq`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use webinfer_audit::site::SiteServer;
use webinfer_capture::{CaptureOptions, InjectConfig, TraceSink};
use webinfer_proxy::{CertificateAuthority, ProxyHandle};

use super::{read_traces, Chromium};

pub use webinfer_audit::site::GOOGLE_HOSTS;

/// Firefox's background hosts: refused, as in an audit.
pub const MOZILLA_HOSTS: &[&str] = &[
    "*.mozilla.com",
    "*.mozilla.net",
    "*.mozilla.org",
    "*.firefox.com",
];

/// The hook's configuration in these tests: samplers every 500 ms, batches every `flush_ms`.
pub fn inject(kernels: bool, flush_ms: u64, devtools_track: bool) -> InjectConfig {
    InjectConfig {
        kernels,
        sample_ms: 500,
        flush_ms,
        devtools_track,
    }
}

/// The HTTPS test site under `host`: `/` → web/ plus `mounts` (URL prefix, folder), with
/// COOP/COEP when `coi`.
pub async fn start_site(host: &str, coi: bool, mounts: &[(&str, &Path)]) -> SiteServer {
    let mut b = SiteServer::builder()
        .mount("/", super::repo_root().join("web"))
        .host_name(host)
        .coop_coep(coi);
    for &(prefix, dir) in mounts {
        b = b.mount(prefix, dir);
    }
    b.start().await.expect("start the HTTPS test site")
}

/// A proxy on `127.0.0.1:0` (its CA in `ca_dir`) resolving `host` to `site` (whose CA it
/// trusts upstream), refusing `deny`, injecting the hook configured by `inject` and storing
/// the trace in `traces`; returns the proxy and its trace sink.
pub async fn start_proxy(
    site: &SiteServer,
    host: &str,
    ca_dir: &Path,
    traces: &Path,
    inject: InjectConfig,
    deny: &[&str],
) -> (ProxyHandle, Arc<TraceSink>) {
    let ca = Arc::new(CertificateAuthority::load_or_create(ca_dir).expect("proxy CA"));
    let builder = site.proxy_builder(host, ca, deny).expect("site CA");
    let mut capture = CaptureOptions::new(traces);
    capture.inject = inject;
    let (builder, capture) = webinfer_capture::install(builder, &capture).expect("capture layer");
    let proxy = builder.start().await.expect("start the proxy");
    (proxy, capture.sink().clone())
}

/// Chromium flags for a run straight against `site` under `host` (no proxy, no hook).
pub fn direct_flags(site: &SiteServer, host: &str) -> Vec<String> {
    vec![
        format!("--host-resolver-rules=MAP {host} 127.0.0.1"),
        format!(
            "--ignore-certificate-errors-spki-list={}",
            site.leaf_spki_sha256()
        ),
    ]
}

/// Chromium flags for a run through `proxy` (trusting its leaf certificates by pin).
pub fn proxy_flags(proxy: &ProxyHandle) -> Vec<String> {
    vec![
        format!("--proxy-server=http://{}", proxy.addr()),
        "--proxy-bypass-list=<-loopback>".to_owned(),
        format!(
            "--ignore-certificate-errors-spki-list={}",
            proxy.ca().leaf_spki_pin()
        ),
    ]
}

/// `path` on `site` under `host`, with `query` appended (`?` or `&`).
pub fn page_url(site: &SiteServer, host: &str, path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    site.url_for_host(host, &format!("{path}{sep}{query}"))
}

/// The result the page POSTed as `name` within `within`, parsed; panics with the page's error
/// or, when nothing came, with `log` (the browser's output).
pub async fn page_result(
    site: &SiteServer,
    name: &str,
    within: Duration,
    log: impl Fn() -> String,
) -> Value {
    let Some(body) = site.wait_for_result(name, within).await else {
        panic!(
            "{name}: no result within {within:?}; browser log:\n{}",
            log()
        );
    };
    let v: Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{name}: result is not JSON: {e}"));
    if let Some(err) = v.get("error") {
        panic!("{name}: the page failed: {err}\nbrowser log:\n{}", log());
    }
    v
}

/// Every record under `traces`, once the page's own `end` record is there or after 20 s
/// (the pages navigate away 600 ms after posting their result).
pub async fn records_after_end(traces: &Path) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rs = read_traces(traces);
        let ended = rs
            .iter()
            .any(|r| r["kind"] == "end" && r.get("by").is_none());
        if ended || Instant::now() > deadline {
            return rs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts that `sink` refused nothing: no malformed body, no invalid record, nothing
/// refused for size or rate, no write error.
pub fn assert_sink_took_all(sink: &TraceSink, what: &str) {
    let st = sink.stats().snapshot();
    assert_eq!(
        (
            st.malformed,
            st.invalid,
            st.too_large,
            st.rate_limited,
            st.write_errors
        ),
        (0, 0, 0, 0, 0),
        "{what}: sink refused some of the hook's records: {st:?}"
    );
}

/// Asserts that every record (the hook's and the proxy's) conforms to format/trace.schema.json
/// and that the hook's own records (those without `by`) number each session's `seq` 0..
/// without gaps or repeats; returns those own records. `name` prefixes the messages.
pub fn check_schema_and_seqs<'a>(name: &str, records: &'a [Value]) -> Vec<&'a Value> {
    let schema: Value = serde_json::from_str(webinfer_format::SCHEMA).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for r in records {
        if let Err(e) = validator.validate(r) {
            panic!("{name}: record violates trace.schema.json: {e}\n{r}");
        }
    }
    let own: Vec<&Value> = records.iter().filter(|r| r.get("by").is_none()).collect();
    let mut by_sid: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &own {
        by_sid
            .entry(r["sid"].as_str().unwrap())
            .or_default()
            .push(r["seq"].as_u64().unwrap());
    }
    for (sid, seqs) in &mut by_sid {
        seqs.sort_unstable();
        let want: Vec<u64> = (0..seqs.len() as u64).collect();
        assert_eq!(*seqs, want, "{name}: seq of {sid} has gaps or repeats");
    }
    own
}

/// One page of an e2e case, run directly and through the proxy: the page is
/// `path?result=…&leave=600` on `site` under `host`.
pub struct PageRun<'a> {
    pub site: &'a SiteServer,
    pub host: &'a str,
    /// Path and query of the page.
    pub path: &'a str,
    /// Names the results: `direct-NAME` and `proxy-NAME`.
    pub name: &'a str,
    /// How long the page may take to POST its result.
    pub within: Duration,
    /// Kernel profiling on in the hook's config.
    pub kernels: bool,
    /// Extra Chromium flags for both runs.
    pub extra: &'a [String],
}

impl PageRun<'_> {
    fn launch(&self, result: &str, mut flags: Vec<String>) -> Chromium {
        flags.extend_from_slice(self.extra);
        let query = format!("result={result}&leave=600");
        Chromium::launch(&page_url(self.site, self.host, self.path, &query), &flags)
    }

    /// One run without the hook; returns the page's result.
    pub async fn direct(&self) -> Value {
        let result = format!("direct-{}", self.name);
        let browser = self.launch(&result, direct_flags(self.site, self.host));
        page_result(self.site, &result, self.within, || browser.log_tail(4000)).await
    }

    /// One run through the proxy (hook injected, Google's hosts refused); returns the page's
    /// result and every record, after checking that the hook sent batches and the sink
    /// accepted every one whole.
    pub async fn proxied(&self) -> (Value, Vec<Value>) {
        let traces = tempfile::tempdir().expect("trace dir");
        let ca_dir = tempfile::tempdir().expect("ca dir");
        let inject = inject(self.kernels, 1000, false);
        let (proxy, sink) = start_proxy(
            self.site,
            self.host,
            ca_dir.path(),
            traces.path(),
            inject,
            GOOGLE_HOSTS,
        )
        .await;
        let result = format!("proxy-{}", self.name);
        let browser = self.launch(&result, proxy_flags(&proxy));
        let res = page_result(self.site, &result, self.within, || browser.log_tail(4000)).await;
        let records = records_after_end(traces.path()).await;
        drop(browser);
        proxy.shutdown().await;
        let name = self.name;
        assert!(
            sink.stats().snapshot().batches > 0,
            "{name}: the hook sent batches"
        );
        assert_sink_took_all(&sink, name);
        (res, records)
    }
}
