//! Connections to origin servers: name resolution (with `--resolve`
//! overrides), TCP, and TLS that is ALWAYS verified against the webpki roots
//! plus any `--upstream-ca` roots. HTTP/2 or HTTP/1.1 is chosen by ALPN.
//!
//! Verification failures become [`UpstreamError::Tls`] with a human reason
//! such as `certificate is not trusted: UnknownIssuer`; there is no switch to
//! turn verification off.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::bufread::ReadBuffered;
use crate::config::ResolveRule;
use crate::error::ProxyError;
use crate::hosts::{normalize_host, parse_ip, HostPolicy, Verdict};
use crate::types::Body;

/// Why an upstream connection failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// No address accepted a TCP connection.
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The last error.
        reason: String,
    },
    /// The TLS handshake or certificate verification failed.
    #[error("{reason}")]
    Tls {
        /// The host.
        host: String,
        /// Human explanation, e.g. `certificate is not trusted: UnknownIssuer`.
        reason: String,
    },
    /// The TCP connect or the TLS handshake took longer than the connect timeout.
    #[error(
        "{phase} to {host}:{port} timed out after {after:?}; raise the limit with \
         --connect-timeout"
    )]
    Timeout {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// `TCP connect` or `TLS handshake`.
        phase: &'static str,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// The host resolved to an address a `--deny-host` rule refuses; no
    /// connection was opened.
    #[error("refused {host}: {reason}")]
    Refused {
        /// The host.
        host: String,
        /// The verdict's explanation, naming the address and the rule.
        reason: String,
    },
    /// The URI had no host or an unknown scheme.
    #[error("bad upstream URI {0}")]
    BadUri(String),
}

/// Explains a rustls error for a person.
pub fn explain_tls_error(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                CertificateError::UnknownIssuer => "certificate is not trusted",
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    "certificate is not valid for this host name"
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "certificate has expired"
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "certificate is not valid yet"
                }
                CertificateError::Revoked => "certificate is revoked",
                CertificateError::BadSignature => "certificate has a bad signature",
                _ => "certificate was rejected",
            };
            let detail = match c {
                CertificateError::NotValidForNameContext { .. } => "NotValidForName".to_string(),
                CertificateError::ExpiredContext { .. } => "Expired".to_string(),
                CertificateError::NotValidYetContext { .. } => "NotValidYet".to_string(),
                other => format!("{other:?}"),
            };
            format!("{what}: {detail}")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// Builds the verifying TLS client config: webpki roots plus `extra` roots.
pub fn client_config(
    extra: &[CertificateDer<'static>],
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, ProxyError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// Resolves names (honouring `--resolve`), checks every resolved address
/// against the `--deny-host` rules, and opens TCP connections.
#[derive(Debug, Clone)]
pub struct Resolver {
    overrides: Arc<HashMap<(String, u16), SocketAddr>>,
    connect_timeout: Duration,
    policy: Arc<HostPolicy>,
}

impl Resolver {
    /// A resolver with `--resolve` overrides; each TCP connect attempt (and
    /// each TLS handshake of the [`Connector`]) may take `connect_timeout`.
    /// Connections to addresses `policy` denies are refused.
    pub fn new(rules: &[ResolveRule], connect_timeout: Duration, policy: HostPolicy) -> Self {
        let map = rules
            .iter()
            .map(|r| ((normalize_host(&r.host), r.port), r.addr))
            .collect();
        Resolver {
            overrides: Arc::new(map),
            connect_timeout,
            policy: Arc::new(policy),
        }
    }

    /// The addresses `host:port` stands for without a DNS query: a
    /// `--resolve` rule or an address literal (any spelling).
    pub fn static_addrs(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let host = normalize_host(host);
        if let Some(addr) = self.overrides.get(&(host.clone(), port)) {
            return Some(vec![*addr]);
        }
        parse_ip(&host).map(|ip| vec![SocketAddr::new(ip, port)])
    }

    /// Checks the addresses `host:port` stands for without a DNS query (see
    /// [`Resolver::static_addrs`]) against the deny rules; names that need
    /// DNS are checked when connecting.
    pub fn precheck(&self, host: &str, port: u16) -> Verdict {
        match self.static_addrs(host, port) {
            Some(addrs) => {
                let ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
                self.policy.check_resolved(&ips)
            }
            None => Verdict::Allowed,
        }
    }

    /// Opens a TCP connection to `host:port`, refusing it when any address
    /// the host resolves to is denied.
    pub async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, UpstreamError> {
        let addrs: Vec<SocketAddr> = match self.static_addrs(host, port) {
            Some(a) => a,
            None => tokio::net::lookup_host((normalize_host(host), port))
                .await
                .map_err(|e| UpstreamError::Resolve {
                    host: host.to_string(),
                    reason: e.to_string(),
                })?
                .collect(),
        };
        let ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
        let verdict = self.policy.check_resolved(&ips);
        if verdict != Verdict::Allowed {
            return Err(UpstreamError::Refused {
                host: host.to_string(),
                reason: verdict.reason(),
            });
        }
        let mut last = String::from("no addresses");
        let mut timed_out = false;
        for addr in addrs {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Ok(Err(e)) => {
                    last = format!("{addr}: {e}");
                    timed_out = false;
                }
                Err(_) => {
                    last = format!("{addr}: timed out");
                    timed_out = true;
                }
            }
        }
        if timed_out {
            return Err(UpstreamError::Timeout {
                host: host.to_string(),
                port,
                phase: "TCP connect",
                after: self.connect_timeout,
            });
        }
        Err(UpstreamError::Connect {
            host: host.to_string(),
            port,
            reason: last,
        })
    }
}

/// A connection to an origin: plain TCP or verified TLS.
pub enum UpstreamStream {
    /// `http://`
    Plain(TcpStream),
    /// `https://`
    Tls(Box<TlsStream<ReadBuffered<TcpStream>>>),
}

impl UpstreamStream {
    fn negotiated_h2(&self) -> bool {
        match self {
            UpstreamStream::Plain(_) => false,
            UpstreamStream::Tls(t) => t.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }
}

impl AsyncRead for UpstreamStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_flush(cx),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            UpstreamStream::Plain(s) => s.is_write_vectored(),
            UpstreamStream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The connection type handed to hyper's client.
pub struct UpstreamIo(TokioIo<UpstreamStream>);

impl Connection for UpstreamIo {
    fn connected(&self) -> Connected {
        if self.0.inner().negotiated_h2() {
            Connected::new().negotiated_h2()
        } else {
            Connected::new()
        }
    }
}

impl hyper::rt::Read for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

/// The connector for hyper's pooled client.
#[derive(Clone)]
pub struct Connector {
    resolver: Resolver,
    tls: Arc<ClientConfig>,
}

impl Connector {
    /// Connects to the origin of `uri` (TLS for `https`).
    pub async fn open(&self, uri: &Uri) -> Result<UpstreamStream, UpstreamError> {
        let host = uri
            .host()
            .ok_or_else(|| UpstreamError::BadUri(uri.to_string()))?
            .trim_matches(['[', ']'])
            .to_string();
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(UpstreamError::BadUri(uri.to_string())),
        };
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = self.resolver.connect(&host, port).await?;
        if !tls {
            return Ok(UpstreamStream::Plain(tcp));
        }
        let name = ServerName::try_from(host.clone()).map_err(|e| UpstreamError::Tls {
            host: host.clone(),
            reason: format!("invalid server name: {e}"),
        })?;
        let connector = TlsConnector::from(self.tls.clone());
        let after = self.resolver.connect_timeout;
        let handshake =
            tokio::time::timeout(after, connector.connect(name, ReadBuffered::new(tcp)));
        match handshake.await {
            Ok(Ok(s)) => Ok(UpstreamStream::Tls(Box::new(s))),
            Ok(Err(e)) => {
                let reason = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls_err) => explain_tls_error(tls_err),
                    None => format!("TLS handshake failed: {e}"),
                };
                Err(UpstreamError::Tls { host, reason })
            }
            Err(_) => Err(UpstreamError::Timeout {
                host,
                port,
                phase: "TLS handshake",
                after,
            }),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = UpstreamIo;
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamIo, UpstreamError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.open(&uri).await.map(|s| UpstreamIo(TokioIo::new(s))) })
    }
}

/// Pooled HTTP clients towards origins.
#[derive(Clone)]
pub struct Upstream {
    /// ALPN `h2`, `http/1.1`: the client for ordinary requests.
    pub client: Client<Connector, Body>,
    /// ALPN `http/1.1` only: for WebSocket upgrades.
    pub client_h1: Client<Connector, Body>,
    /// Name resolution and TCP (also used for raw CONNECT tunnels).
    pub resolver: Resolver,
}

impl Upstream {
    /// Builds the clients with the webpki roots plus `extra_roots`.
    pub fn new(
        extra_roots: &[CertificateDer<'static>],
        rules: &[ResolveRule],
        connect_timeout: Duration,
        policy: HostPolicy,
    ) -> Result<Self, ProxyError> {
        let resolver = Resolver::new(rules, connect_timeout, policy);
        let make = |alpn: &[&[u8]]| -> Result<Client<Connector, Body>, ProxyError> {
            let connector = Connector {
                resolver: resolver.clone(),
                tls: client_config(extra_roots, alpn)?,
            };
            Ok(Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .pool_idle_timeout(Duration::from_secs(60))
                // (load-sec, issue 8) Fixed windows, not the adaptive one:
                // that starts at 64 KiB for the whole connection, so many
                // concurrent streams get slivers of DATA frames and h2's
                // small-frame flood guard closes the connection
                // (ENHANCE_YOUR_CALM "too_many_data_frames"), failing every
                // request on it. Checked by cli/tests/load.rs.
                .http2_initial_stream_window_size(1024 * 1024)
                .http2_initial_connection_window_size(16 * 1024 * 1024)
                .http2_max_frame_size(256 * 1024)
                .build(connector))
        };
        Ok(Upstream {
            client: make(&[b"h2", b"http/1.1"])?,
            client_h1: make(&[b"http/1.1"])?,
            resolver,
        })
    }
}

/// A one-line reason for a client error, naming TLS problems and timeouts
/// precisely.
pub fn describe_client_error(err: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut parts = Vec::new();
    while let Some(e) = source {
        if let Some(up) = e.downcast_ref::<UpstreamError>() {
            return up.to_string();
        }
        if let Some(idle) = e.downcast_ref::<crate::idle::IdleTimeout>() {
            return idle.to_string();
        }
        let s = e.to_string();
        if !parts.contains(&s) {
            parts.push(s);
        }
        source = e.source();
    }
    parts.join(": ")
}
