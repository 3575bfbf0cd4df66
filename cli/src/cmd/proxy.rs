//! `webinfer proxy`: run the intercepting proxy until Ctrl-C.
//!
//! [`ProxyArgs`] is the option set shared with `webinfer audit`
//! (`#[command(flatten)]`); it converts into the libraries' clap-free
//! [`ProxyOptions`] (the proxy) and [`CaptureOptions`] (traces, hook,
//! model saving: [`ProxyArgs::capture`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use webinfer_capture::sink::{SinkLimits, DEFAULT_MAX_FILES};
use webinfer_capture::CaptureOptions;
use webinfer_proxy::{ProxyBuilder, ProxyOptions};
use webinfer_proxy::{ResolveRule, Timeouts, DEFAULT_LISTEN, DEFAULT_MAX_HEADER_BYTES};

/// The proxy's options (flattened into `webinfer proxy` and `webinfer audit`).
#[derive(clap::Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Directory for trace files.
    #[arg(long, value_name = "DIR", default_value = "traces")]
    pub traces: PathBuf,
    /// Extra trust roots (PEM) for upstream servers, on top of the webpki roots.
    #[arg(long = "upstream-ca", value_name = "PEM")]
    pub upstream_ca: Vec<PathBuf>,
    /// Route HOST:PORT to ADDR like curl's --resolve (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = parse_resolve)]
    pub resolve: Vec<ResolveRule>,
    /// Only reach hosts matching this rule: a name glob (`*.x.com` covers x.com),
    /// an IP address or a CIDR block (repeatable).
    #[arg(long = "allow-host", value_name = "RULE")]
    pub allow_host: Vec<String>,
    /// Refuse hosts matching this rule with a 403, never contacting them: a name
    /// glob, an IP address or a CIDR block; address rules also match every
    /// address a name resolves to (repeatable).
    #[arg(long = "deny-host", value_name = "RULE")]
    pub deny_host: Vec<String>,
    /// Directory of the CA (default: the user's data directory).
    #[arg(long = "ca-dir", value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,
    /// Save model artifacts passing through as DIR/<sha256><ext>.
    #[arg(long = "save-models", value_name = "DIR")]
    pub save_models: Option<PathBuf>,
    /// Limit for the upstream TCP connect and, separately, the upstream TLS
    /// handshake (humantime: `10s`, `1m 30s`, `500ms`); exceeding it answers 504.
    #[arg(long = "connect-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().connect.into())]
    pub connect_timeout: humantime::Duration,
    /// Longest wait for an upstream response head after the request (or its
    /// body's last bytes) was sent; exceeding it answers 504 Gateway Timeout.
    #[arg(long = "response-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().response.into())]
    pub response_timeout: humantime::Duration,
    /// Longest pause in a request or response body; exceeding it aborts that
    /// exchange and closes both sides.
    #[arg(long = "idle-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().idle.into())]
    pub idle_timeout: humantime::Duration,
    /// Longest time a client may take to send an HTTP/1.1 request head (and
    /// the idle limit of its kept-alive connection); defeats slowloris.
    #[arg(long = "client-header-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().client_header.into())]
    pub client_header_timeout: humantime::Duration,
    /// Longest time a client may take for its TLS handshake inside CONNECT.
    #[arg(long = "client-tls-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().client_tls.into())]
    pub client_tls_timeout: humantime::Duration,
    /// Longest time without a byte in either direction on a raw CONNECT
    /// tunnel or a WebSocket relay; then both sides are closed.
    #[arg(long = "tunnel-idle-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().tunnel_idle.into())]
    pub tunnel_idle_timeout: humantime::Duration,
    /// Longest time an HTTP/2 client connection may stay without an open
    /// request; then it is closed gracefully (GOAWAY).
    #[arg(long = "client-idle-timeout", value_name = "DURATION",
          default_value_t = Timeouts::default().client_idle.into())]
    pub client_idle_timeout: humantime::Duration,
    /// Interval of HTTP/2 keep-alive PINGs to clients; a client that does not
    /// answer within the same time is disconnected.
    #[arg(long = "client-keepalive", value_name = "DURATION",
          default_value_t = Timeouts::default().client_keepalive.into())]
    pub client_keepalive: humantime::Duration,
    /// Most client connections open at once (CONNECT tunnels and WebSockets
    /// included); more get 503. Default: half the open-file limit minus 64,
    /// between 16 and 4096.
    #[arg(long = "max-connections", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Largest accepted request head (request line plus headers) in bytes, at
    /// least 8192; larger ones get 431.
    #[arg(long = "max-header-bytes", value_name = "BYTES",
          default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Most bytes of trace lines one proxy run writes, all files together
    /// (e.g. `2GiB`, `500MB`, `65536`); trace POSTs beyond get 507 and are
    /// counted, nothing below it is dropped.
    #[arg(long = "trace-max-bytes", value_name = "SIZE", default_value = "2GiB",
          value_parser = parse_size)]
    pub trace_max_bytes: u64,
    /// Most trace files (sessions) one proxy run writes; beyond, new
    /// sessions get no file and their POSTs get 507.
    #[arg(long = "trace-max-files", value_name = "N",
          default_value_t = DEFAULT_MAX_FILES)]
    pub trace_max_files: u64,
    /// Keep query values that look like secrets (token, code, key, sig, …)
    /// in recorded URLs; by default they are replaced by REDACTED. URL
    /// fragments are dropped either way.
    #[arg(long = "trace-keep-query-secrets")]
    pub trace_keep_query_secrets: bool,
    /// Opt-in: the hooks hand over the input tensors of one warm call per ONNX
    /// Runtime model and page (they can hold camera frames or text; SECURITY.md),
    /// saved as <sha256>.safetensors beside the saved models, so native runs
    /// replay the page's own inputs. Needs --save-models (webinfer audit: a
    /// models folder is used by default).
    #[arg(long = "capture-inputs")]
    pub capture_inputs: bool,
}

/// Parses a byte size: a number with an optional unit `B`, `K`/`KB`
/// (1000), `KiB` (1024), `M`/`MB`, `MiB`, `G`/`GB`, `GiB`, `T`/`TB`, `TiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 2GiB, 500MB, 65536)"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024.0f64.powi(4),
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)"
            ))
        }
    };
    let v = n * mult;
    if !v.is_finite() || v < 1.0 || v > u64::MAX as f64 {
        return Err(format!("{s:?} is not a usable size"));
    }
    Ok(v as u64)
}

fn parse_resolve(s: &str) -> Result<ResolveRule, String> {
    s.parse()
        .map_err(|e: webinfer_proxy::ProxyError| e.to_string())
}

impl From<ProxyArgs> for ProxyOptions {
    fn from(a: ProxyArgs) -> Self {
        ProxyOptions {
            listen: a.listen,
            upstream_ca: a.upstream_ca,
            resolve: a.resolve,
            allow_hosts: a.allow_host,
            deny_hosts: a.deny_host,
            ca_dir: a.ca_dir,
            timeouts: Timeouts {
                connect: a.connect_timeout.into(),
                response: a.response_timeout.into(),
                idle: a.idle_timeout.into(),
                client_header: a.client_header_timeout.into(),
                client_tls: a.client_tls_timeout.into(),
                tunnel_idle: a.tunnel_idle_timeout.into(),
                client_idle: a.client_idle_timeout.into(),
                client_keepalive: a.client_keepalive.into(),
            },
            max_header_bytes: a.max_header_bytes,
            max_connections: a.max_connections.map(|n| n as usize),
        }
    }
}

impl ProxyArgs {
    /// The capture layer's options: traces under `--traces`, the sink
    /// limits (`--trace-max-bytes`, `--trace-max-files`,
    /// `--trace-keep-query-secrets`, `--capture-inputs`) and `--save-models`.
    pub fn capture(&self) -> CaptureOptions {
        let mut c = CaptureOptions::new(&self.traces);
        SinkLimits {
            max_bytes: self.trace_max_bytes,
            max_files: self.trace_max_files,
            keep_query_secrets: self.trace_keep_query_secrets,
            capture_inputs: self.capture_inputs,
        }
        .apply(&mut c.sink);
        c.sink.save_models = self.save_models.clone();
        c
    }
}

/// Arguments of `webinfer proxy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// The hooks also mirror each inference, model load and warm-up as a
    /// `performance.measure` with the DevTools extensibility payload: a "webinfer" track in
    /// the Performance panel of a profile recorded in that browser (off by default; the
    /// page's own user-timing buffer sees these entries).
    #[arg(long)]
    pub devtools_track: bool,
}

/// Builds the proxy for `opts` (CA, roots, host policy; no filters yet);
/// shared by `webinfer proxy` and `webinfer audit`.
pub fn builder(opts: &ProxyOptions) -> anyhow::Result<ProxyBuilder> {
    opts.builder().context("setting up the proxy")
}

/// Runs `webinfer proxy`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut capture = args.proxy.capture();
    capture.inject.devtools_track = args.devtools_track;
    let opts = ProxyOptions::from(args.proxy);
    if capture.sink.capture_inputs && capture.sink.save_models.is_none() {
        anyhow::bail!(
            "--capture-inputs needs --save-models DIR (the inputs are saved beside the models)"
        );
    }
    if let Some(w) = opts.listen_warning() {
        eprintln!("webinfer: {w}");
    }
    let builder = builder(&opts)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        // The capture layer: the trace sink (answers the trace endpoint on
        // every host, writes session files under --traces), the hook
        // injection and model saving.
        let (builder, capture) = webinfer_capture::install(builder, &capture)?;
        let handle = builder.start().await?;
        let ca = handle.ca().clone();
        println!("webinfer proxy listening on http://{}", handle.addr());
        println!("traces:         {}", capture.sink().config().dir.display());
        println!("CA certificate: {}", ca.cert_pem_path().display());
        println!("CA SHA-256:     {}", ca.fingerprint_sha256());
        println!(
            "Chromium:       --proxy-server=http://{} --ignore-certificate-errors-spki-list={}",
            handle.addr(),
            ca.leaf_spki_pin()
        );
        println!(
            "Install the CA: browse {} through the proxy and check its fingerprint \
             against `webinfer ca show`. Ctrl-C stops.",
            webinfer_proxy::MAGIC_URL
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        let stats = handle.stats();
        handle.shutdown().await;
        capture.close_all();
        println!(
            "served {} requests ({} forwarded, {} refused)",
            stats.requests,
            stats.forwarded,
            stats.refused_total()
        );
        for (host, n) in &stats.refused {
            println!("  refused {host}: {n}");
        }
        let t = capture.stats().snapshot();
        println!(
            "traces: {} page records and {} proxy records stored ({} bytes); refused: {} invalid, {} unknown sid, {} forged, {} cross-site requests, {} rate-limited, {} over budget",
            t.records,
            t.proxy_records,
            t.bytes_written,
            t.invalid,
            t.unknown_sid,
            t.forged,
            t.cross_site,
            t.rate_limited,
            t.over_budget
        );
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert!(parse_size("12 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
    }
}
