//! An HTTPS static file server on loopback with its own throw-away test CA.
//!
//! It serves the bundled demo app for `webinfer audit` (behind a fake host
//! name such as [`DEMO_HOST`], reached through the proxy's `--resolve` and
//! trusted through its upstream-CA option) and the pages of end-to-end tests.
//!
//! - **TLS**: a fresh CA and a leaf certificate for `localhost`, `127.0.0.1`,
//!   `::1` and every [`SiteBuilder::host_name`] are generated at start; the CA
//!   certificate (never its key) is written to [`SiteServer::ca_pem_path`].
//!   HTTP/1.1 and HTTP/2 are offered through ALPN.
//! - **Files**: mounts map a URL prefix to a folder (longest prefix wins);
//!   folders serve their `index.html`; bodies stream from disk in 64 KiB
//!   chunks, never buffered whole. Content types come from [`content_type`].
//! - **Headers**: with [`SiteBuilder::coop_coep`] every response carries
//!   `Cross-Origin-Opener-Policy: same-origin`,
//!   `Cross-Origin-Embedder-Policy: require-corp` and
//!   `Cross-Origin-Resource-Policy: cross-origin`. A sidecar file `NAME.headers`
//!   next to `NAME` adds `Header: value` lines to that file's responses
//!   (blank lines and `#` comments ignored); sidecars themselves are not served.
//! - **Results**: `POST /__results__/<name>` stores the body in memory (at most
//!   [`SiteBuilder::max_result_bytes`]) for [`SiteServer::result`] and
//!   [`SiteServer::wait_for_result`].
//! - **Counters**: every request is counted per URL path (query excluded), so a
//!   test can prove a path was never requested ([`SiteServer::requests`]).
//! - **A proxy in front**: [`SiteServer::proxy_builder`] sets up the webinfer
//!   proxy that tests and benchmarks put between a browser and the site.
//!
//! ```no_run
//! # async fn demo() -> Result<(), webinfer_audit::site::SiteError> {
//! use webinfer_audit::site::SiteServer;
//! let site = SiteServer::builder()
//!     .mount("/", "web/demo")
//!     .mount("/node_modules", "web/node_modules")
//!     .coop_coep(true)
//!     .start()
//!     .await?;
//! println!("{} trusted by {}", site.url("/"), site.ca_pem_path.display());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::io::ReaderStream;
use tokio_util::sync::CancellationToken;

/// The fake host name under which `webinfer audit` serves the bundled demo.
pub const DEMO_HOST: &str = "demo.webinfer.test";

/// The Google hosts Chromium (and MediaPipe's telemetry) calls in the background: what the
/// test and benchmark proxies in front of a [`SiteServer`] refuse.
pub const GOOGLE_HOSTS: &[&str] = &["*.google.com", "*.googleapis.com", "*.gvt1.com"];

/// URL path prefix of the results endpoint.
pub const RESULTS_PREFIX: &str = "/__results__/";

/// Default cap on one stored result body.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Chunk size of streamed file bodies.
const CHUNK: usize = 64 * 1024;

/// Why the site server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// A mount prefix is not an absolute URL path.
    #[error("mount prefix {0:?} must start with '/'")]
    BadPrefix(String),
    /// A mounted folder does not exist or is not a folder.
    #[error("mounted folder {path}: {reason}")]
    BadMount {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Certificate generation failed.
    #[error("generating the test certificates: {0}")]
    Cert(#[from] rcgen::Error),
    /// The TLS configuration was rejected.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Writing the CA certificate file failed.
    #[error("writing the CA certificate: {0}")]
    WriteCa(#[source] io::Error),
    /// The listening socket could not be opened.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// One URL prefix served from one folder.
#[derive(Debug, Clone)]
struct Mount {
    /// Without trailing slash; `""` for the root mount.
    prefix: String,
    dir: PathBuf,
}

/// Configures a [`SiteServer`]; see [`SiteServer::builder`].
#[derive(Debug, Clone)]
pub struct SiteBuilder {
    mounts: Vec<Mount>,
    coop_coep: bool,
    host_names: Vec<String>,
    bind: SocketAddr,
    max_result_bytes: usize,
    bad_prefix: Option<String>,
}

impl Default for SiteBuilder {
    fn default() -> Self {
        SiteBuilder {
            mounts: Vec::new(),
            coop_coep: false,
            host_names: vec![DEMO_HOST.to_owned()],
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            bad_prefix: None,
        }
    }
}

impl SiteBuilder {
    /// Serves folder `dir` under URL prefix `prefix` (e.g. `"/"`,
    /// `"/node_modules"`). The longest matching prefix wins.
    pub fn mount(mut self, prefix: &str, dir: impl Into<PathBuf>) -> Self {
        if !prefix.starts_with('/') {
            self.bad_prefix.get_or_insert_with(|| prefix.to_owned());
        }
        let prefix = prefix.trim_end_matches('/').to_owned();
        self.mounts.push(Mount {
            prefix,
            dir: dir.into(),
        });
        self
    }

    /// Adds the cross-origin isolation headers (COOP/COEP/CORP) to every response.
    pub fn coop_coep(mut self, on: bool) -> Self {
        self.coop_coep = on;
        self
    }

    /// Adds a DNS name to the leaf certificate (besides `localhost`,
    /// `127.0.0.1`, `::1` and [`DEMO_HOST`]).
    pub fn host_name(mut self, name: &str) -> Self {
        self.host_names.push(name.to_owned());
        self
    }

    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Caps the body of one `POST /__results__/<name>` (default
    /// [`DEFAULT_MAX_RESULT_BYTES`]); larger bodies get 413 and are not stored.
    pub fn max_result_bytes(mut self, n: usize) -> Self {
        self.max_result_bytes = n;
        self
    }

    /// Generates the certificates, binds the socket and starts serving.
    pub async fn start(self) -> Result<SiteServer, SiteError> {
        if let Some(p) = self.bad_prefix {
            return Err(SiteError::BadPrefix(p));
        }
        let mut mounts = Vec::with_capacity(self.mounts.len());
        for m in self.mounts {
            let dir = std::fs::canonicalize(&m.dir).map_err(|e| SiteError::BadMount {
                path: m.dir.clone(),
                reason: e.to_string(),
            })?;
            if !dir.is_dir() {
                return Err(SiteError::BadMount {
                    path: m.dir,
                    reason: "not a folder".into(),
                });
            }
            mounts.push(Mount {
                prefix: m.prefix,
                dir,
            });
        }
        // Longest prefix first.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));

        let certs = TestCerts::generate(&self.host_names)?;
        let tmp = tempfile::Builder::new()
            .prefix("webinfer-site-")
            .tempdir()
            .map_err(SiteError::WriteCa)?;
        let ca_pem_path = tmp.path().join("site-ca.pem");
        std::fs::write(&ca_pem_path, &certs.ca_pem).map_err(SiteError::WriteCa)?;

        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certs.leaf_der, certs.ca_der], certs.leaf_key)?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));

        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(|source| SiteError::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SiteError::Bind {
            addr: self.bind,
            source,
        })?;

        let (results_tx, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            mounts,
            coop_coep: self.coop_coep,
            max_result_bytes: self.max_result_bytes,
            results: Mutex::new(HashMap::new()),
            results_tx,
            counts: Mutex::new(BTreeMap::new()),
        });
        let cancel = CancellationToken::new();
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            shared.clone(),
            cancel.clone(),
        ));
        tracing::debug!(%addr, "site server listening");
        Ok(SiteServer {
            addr,
            ca_pem_path,
            ca_pem: certs.ca_pem,
            leaf_spki_sha256: certs.leaf_spki_sha256,
            shared,
            cancel,
            task,
            _tmp: tmp,
        })
    }
}

/// A running HTTPS static file server; stops when dropped.
pub struct SiteServer {
    /// The loopback address it listens on.
    pub addr: SocketAddr,
    /// PEM file holding the CA certificate that signed the server's leaf
    /// (give it to the proxy as its upstream CA, or to `curl --cacert`).
    pub ca_pem_path: PathBuf,
    ca_pem: String,
    leaf_spki_sha256: String,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    _tmp: tempfile::TempDir,
}

impl std::fmt::Debug for SiteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteServer")
            .field("addr", &self.addr)
            .field("ca_pem_path", &self.ca_pem_path)
            .finish_non_exhaustive()
    }
}

impl SiteServer {
    /// A builder with no mounts, no isolation headers, bound to `127.0.0.1:0`.
    pub fn builder() -> SiteBuilder {
        SiteBuilder::default()
    }

    /// The CA certificate as PEM text.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Base64 of the SHA-256 of the leaf certificate's SubjectPublicKeyInfo:
    /// what Chromium's `--ignore-certificate-errors-spki-list` takes to trust
    /// this server when a browser connects to it directly.
    pub fn leaf_spki_sha256(&self) -> &str {
        &self.leaf_spki_sha256
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://127.0.0.1:PORT` + `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.addr, path)
    }

    /// `https://HOST:PORT` + `path`: the URL under a certificate host name,
    /// for clients that resolve `host` to this server.
    pub fn url_for_host(&self, host: &str, path: &str) -> String {
        format!("https://{}:{}{}", host, self.addr.port(), path)
    }

    /// A proxy builder in front of this site under `host`: `ca` as the proxy's CA, listening
    /// on `127.0.0.1:0`, trusting the site's CA upstream, resolving `host` to the site and
    /// refusing the hosts `deny`.
    ///
    /// # Errors
    /// If the site's CA file cannot be read.
    pub fn proxy_builder(
        &self,
        host: &str,
        ca: Arc<webinfer_proxy::CertificateAuthority>,
        deny: &[&str],
    ) -> Result<webinfer_proxy::ProxyBuilder, webinfer_proxy::ProxyError> {
        let roots = webinfer_proxy::read_pem_roots(&self.ca_pem_path)?;
        let rule = webinfer_proxy::ResolveRule {
            host: host.to_owned(),
            port: self.port(),
            addr: self.addr,
        };
        Ok(webinfer_proxy::ProxyBuilder::new()
            .ca(ca)
            .listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .upstream_roots(roots)
            .resolve(vec![rule])
            .deny_hosts(deny.iter().map(|h| h.to_string()).collect()))
    }

    /// All results posted so far, by name.
    pub fn results(&self) -> HashMap<String, Bytes> {
        lock(&self.shared.results).clone()
    }

    /// The result posted under `name`, if any.
    pub fn result(&self, name: &str) -> Option<Bytes> {
        lock(&self.shared.results).get(name).cloned()
    }

    /// Waits until a result named `name` was posted, at most `timeout`.
    pub async fn wait_for_result(&self, name: &str, timeout: Duration) -> Option<Bytes> {
        let mut rx = self.shared.results_tx.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(b) = self.result(name) {
                return Some(b);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                // Sender lives as long as `self`; a timeout ends the wait.
                Ok(Err(_)) | Err(_) => return self.result(name),
            }
        }
    }

    /// How many requests arrived for URL path `path` (query excluded, as sent
    /// by the client, e.g. `/node_modules/x.js`).
    pub fn requests(&self, path: &str) -> u64 {
        lock(&self.shared.counts).get(path).copied().unwrap_or(0)
    }

    /// Request counts of every path seen so far.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.counts).clone()
    }

    /// Stops accepting connections and closes the open ones.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let _ = (&mut self.task).await;
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.task.abort();
    }
}

/// Locks a mutex, recovering the data if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// State shared by every connection.
struct Shared {
    mounts: Vec<Mount>,
    coop_coep: bool,
    max_result_bytes: usize,
    results: Mutex<HashMap<String, Bytes>>,
    results_tx: watch::Sender<u64>,
    counts: Mutex<BTreeMap<String, u64>>,
}

/// The generated CA and leaf.
struct TestCerts {
    ca_pem: String,
    leaf_spki_sha256: String,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

impl TestCerts {
    fn generate(host_names: &[String]) -> Result<Self, rcgen::Error> {
        use rcgen::{
            BasicConstraints, CertificateParams, DistinguishedName, DnType,
            ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
        };
        let cert_date = |(y, m, d): (i32, u8, u8)| rcgen::date_time_ymd(y, m, d);
        let mut ca = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "webinfer test site CA (throw-away)");
        dn.push(DnType::OrganizationName, "webinfer");
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = cert_date(ymd_from_today(-1));
        ca.not_after = cert_date(ymd_from_today(30));
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;
        let ca_pem = ca_cert.pem();
        let ca_der = ca_cert.der().clone();
        let issuer = Issuer::new(ca, ca_key);

        let mut names = vec!["localhost".to_owned()];
        for h in host_names {
            if !names.contains(h) {
                names.push(h.clone());
            }
        }
        let mut leaf = CertificateParams::new(names)?;
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        leaf.subject_alt_names.push(SanType::IpAddress(IpAddr::V6(
            std::net::Ipv6Addr::LOCALHOST,
        )));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "webinfer test site");
        leaf.distinguished_name = dn;
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.not_before = cert_date(ymd_from_today(-1));
        leaf.not_after = cert_date(ymd_from_today(30));
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
        let spki = rcgen::PublicKeyData::subject_public_key_info(&leaf_key);
        Ok(TestCerts {
            ca_pem,
            leaf_spki_sha256: base64::engine::general_purpose::STANDARD
                .encode(sha2::Sha256::digest(&spki)),
            ca_der,
            leaf_der: leaf_cert.der().clone(),
            leaf_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        })
    }
}

/// The (year, month, day) `offset_days` from today (UTC).
fn ymd_from_today(offset_days: i64) -> (i32, u8, u8) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    civil_from_days(secs.div_euclid(86_400) + offset_days)
}

/// Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    ((if m <= 2 { y + 1 } else { y }) as i32, m as u8, d as u8)
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("site server accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "site server TLS handshake: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "site server TLS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = cancel.cancelled() => {}
                r = conn => if let Err(e) = r {
                    tracing::debug!(%peer, "site server connection: {e}");
                }
            }
        });
    }
}

/// Response body: streamed from a file or held in full.
type RespBody = BoxBody<Bytes, io::Error>;

fn full(data: impl Into<Bytes>) -> RespBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<RespBody> {
    let path = req.uri().path().to_owned();
    *lock(&shared.counts).entry(path.clone()).or_insert(0) += 1;
    let mut resp = if let Some(name) = path.strip_prefix(RESULTS_PREFIX) {
        store_result(shared, name, req).await
    } else if req.method() == Method::GET || req.method() == Method::HEAD {
        let head = req.method() == Method::HEAD;
        serve_file(shared, &path, head).await
    } else {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if shared.coop_coep {
        h.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            "cross-origin-embedder-policy",
            HeaderValue::from_static("require-corp"),
        );
        h.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
    }
    resp
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<RespBody> {
    let mut r = Response::new(full(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn store_result(shared: &Shared, name: &str, req: Request<Incoming>) -> Response<RespBody> {
    if req.method() != Method::POST {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "results are POSTed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let name = match percent_decode(name) {
        Some(n) if !n.is_empty() => n,
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "a result needs a name: POST /__results__/<name>\n",
            )
        }
    };
    let body = match Limited::new(req.into_body(), shared.max_result_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return if e.is::<http_body_util::LengthLimitError>() {
                text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "result larger than {} bytes, not stored\n",
                        shared.max_result_bytes
                    ),
                )
            } else {
                text(
                    StatusCode::BAD_REQUEST,
                    format!("reading the result body: {e}\n"),
                )
            };
        }
    };
    tracing::debug!(%name, bytes = body.len(), "result stored");
    lock(&shared.results).insert(name, body);
    shared.results_tx.send_modify(|n| *n += 1);
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Maps a URL path to a file under the longest matching mount; `None` when
/// no mount matches or the path tries to leave its folder.
fn resolve(mounts: &[Mount], path: &str) -> Result<PathBuf, StatusCode> {
    let decoded = percent_decode(path).ok_or(StatusCode::BAD_REQUEST)?;
    for m in mounts {
        let rest = if m.prefix.is_empty() {
            decoded.as_str()
        } else if let Some(r) = decoded.strip_prefix(&m.prefix) {
            if !(r.is_empty() || r.starts_with('/')) {
                continue;
            }
            r
        } else {
            continue;
        };
        let mut out = m.dir.clone();
        for seg in rest.split('/').filter(|s| !s.is_empty()) {
            let p = Path::new(seg);
            let mut comps = p.components();
            match (comps.next(), comps.next()) {
                (Some(Component::Normal(c)), None)
                    if !seg.contains('\\') && !seg.contains('\0') =>
                {
                    out.push(c)
                }
                _ => return Err(StatusCode::BAD_REQUEST),
            }
        }
        return Ok(out);
    }
    Err(StatusCode::NOT_FOUND)
}

async fn serve_file(shared: &Shared, path: &str, head: bool) -> Response<RespBody> {
    let mut file_path = match resolve(&shared.mounts, path) {
        Ok(p) => p,
        Err(StatusCode::BAD_REQUEST) => return text(StatusCode::BAD_REQUEST, "bad path\n"),
        Err(s) => return text(s, format!("{path} is not served here\n")),
    };
    if file_path.extension().is_some_and(|e| e == "headers") {
        return text(StatusCode::NOT_FOUND, format!("{path} not found\n"));
    }
    let mut meta = match tokio::fs::metadata(&file_path).await {
        Ok(m) => m,
        Err(_) => return text(StatusCode::NOT_FOUND, format!("{path} not found\n")),
    };
    if meta.is_dir() {
        if !path.ends_with('/') {
            let mut r = text(StatusCode::MOVED_PERMANENTLY, "");
            if let Ok(v) = HeaderValue::from_str(&format!("{path}/")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        file_path.push("index.html");
        meta = match tokio::fs::metadata(&file_path).await {
            Ok(m) if m.is_file() => m,
            _ => return text(StatusCode::NOT_FOUND, format!("{path} has no index.html\n")),
        };
    }
    let extra = match sidecar_headers(&file_path).await {
        Ok(h) => h,
        Err(msg) => return text(StatusCode::INTERNAL_SERVER_ERROR, msg),
    };
    let body = if head {
        full(Bytes::new())
    } else {
        match tokio::fs::File::open(&file_path).await {
            Ok(f) => {
                let stream = ReaderStream::with_capacity(f, CHUNK).map_ok(Frame::data);
                BodyExt::boxed(StreamBody::new(stream))
            }
            Err(e) => return text(StatusCode::FORBIDDEN, format!("{path}: {e}\n")),
        }
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file_path)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    for (k, v) in extra {
        h.append(k, v);
    }
    r
}

/// Reads `FILE.headers` next to `file`: `Header: value` lines. A missing
/// sidecar is no extra headers; a malformed one is an error message.
async fn sidecar_headers(file: &Path) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut side = file.as_os_str().to_owned();
    side.push(".headers");
    let side = PathBuf::from(side);
    let text = match tokio::fs::read_to_string(&side).await {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("reading {}: {e}\n", side.display())),
    };
    parse_headers(&text).map_err(|(line, why)| format!("{}:{line}: {why}\n", side.display()))
}

/// Parses sidecar header lines; errors carry the 1-based line number.
fn parse_headers(text: &str) -> Result<Vec<(HeaderName, HeaderValue)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or((i + 1, "expected `Header: value`".to_owned()))?;
        let k = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|e| (i + 1, format!("bad header name: {e}")))?;
        let v = HeaderValue::from_str(v.trim())
            .map_err(|e| (i + 1, format!("bad header value: {e}")))?;
        out.push((k, v));
    }
    Ok(out)
}

/// The `Content-Type` served for a file, by extension: `.wasm`
/// `application/wasm`, `.js`/`.mjs` `text/javascript`, `.json`
/// `application/json`, model weights (`.bin`, `.onnx`, `.ort`, `.pb`)
/// `application/octet-stream`, and the usual web types.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes; `None` for malformed escapes or non-UTF-8 results.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts() -> Vec<Mount> {
        vec![
            Mount {
                prefix: "/node_modules".into(),
                dir: "/nm".into(),
            },
            Mount {
                prefix: "".into(),
                dir: "/root".into(),
            },
        ]
    }

    #[test]
    fn resolve_picks_longest_prefix_and_rejects_escapes() {
        let m = mounts();
        let ok = |p: &str| Ok(PathBuf::from(p));
        let bad = Err(StatusCode::BAD_REQUEST);
        for (path, want) in [
            ("/node_modules/a/b.js", ok("/nm/a/b.js")),
            ("/node_modulesx/a", ok("/root/node_modulesx/a")),
            ("/index.html", ok("/root/index.html")),
            ("/a%20b.txt", ok("/root/a b.txt")),
            ("/../etc/passwd", bad.clone()),
            ("/node_modules/%2e%2e/x", bad.clone()),
            ("/a%5c..%5cb", bad.clone()),
            ("/bad%zz", bad),
        ] {
            assert_eq!(resolve(&m, path), want, "{path}");
        }
        assert_eq!(resolve(&m[..1], "/other"), Err(StatusCode::NOT_FOUND));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
    }

    #[test]
    fn content_types_of_model_and_code_files() {
        let js = "text/javascript; charset=utf-8";
        for (file, want) in [
            ("a/ort-wasm-simd.wasm", "application/wasm"),
            ("x.mjs", js),
            ("x.JS", js),
            ("m.json", "application/json"),
            ("m.bin", "application/octet-stream"),
            ("m.onnx", "application/octet-stream"),
            ("index.html", "text/html; charset=utf-8"),
        ] {
            assert_eq!(content_type(Path::new(file)), want, "{file}");
        }
    }

    #[test]
    fn sidecar_lines_parse_and_errors_name_the_line() {
        let h =
            parse_headers("# strict page\nContent-Security-Policy: script-src 'self'\n\nX-A: 1\n")
                .unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].0, "content-security-policy");
        assert_eq!(h[0].1, "script-src 'self'");
        assert_eq!(parse_headers("X-A: 1\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse_headers("Bad Name: 1\n").unwrap_err().0, 1);
    }
}
