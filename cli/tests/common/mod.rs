//! Real parts shared by the `webinfer` binary tests: a test CA, a loopback
//! HTTPS origin that counts connections and serves deterministic bodies and
//! HTML pages, the real proxy binary started on port 0, and a CONNECT + TLS
//! client (HTTP/1.1 or HTTP/2 over hyper).
#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_webinfer");

/// The host name the origin's certificate is made for (routed to loopback
/// with `--resolve`).
pub const ORIGIN_HOST: &str = "origin.test";

/// Request bodies of the test clients.
pub type TestBody = BoxBody<Bytes, Infallible>;

/// A whole in-memory body.
pub fn full(s: impl Into<Bytes>) -> TestBody {
    Full::new(s.into()).boxed()
}

/// An empty body.
pub fn empty() -> TestBody {
    full(Bytes::new())
}

/// A CA made for one test, with leaf certificates for upstream servers.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A fresh self-signed CA.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestCa { issuer }
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Writes the CA certificate as `dir/upstream-ca.pem`.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let p = dir.join("upstream-ca.pem");
        std::fs::write(&p, self.issuer.pem()).unwrap();
        p
    }

    /// A TLS server config for `names`, ALPN h2 + http/1.1.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), self.der()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}

/// `len` deterministic pseudo-random bytes for `seed` (xorshift64).
pub fn det_bytes(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// [`det_bytes`], generated once per (seed, len) and then shared.
pub fn cached_bytes(seed: u64, len: usize) -> Bytes {
    static CACHE: std::sync::OnceLock<Mutex<std::collections::HashMap<(u64, usize), Bytes>>> =
        std::sync::OnceLock::new();
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry((seed, len))
        .or_insert_with(|| det_bytes(seed, len))
        .clone()
}

/// SHA-256 hex of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The HTML page the origin serves at `/page/{n}`.
pub fn html_page(n: u64) -> String {
    let filler: String = (0..40)
        .map(|i| format!("<p>paragraph {i} of page {n}: lorem ipsum dolor sit amet</p>\n"))
        .collect();
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>page {n}</title></head>\
         <body><h1>page {n}</h1>\n{filler}</body></html>\n"
    )
}

/// Counts of what an origin saw.
#[derive(Default)]
pub struct Seen {
    /// TCP connections accepted.
    pub connections: AtomicUsize,
    /// HTTP requests served.
    pub requests: AtomicUsize,
}

/// A running loopback origin.
pub struct Origin {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Seen>,
}

impl Origin {
    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }
    /// Requests served so far.
    pub fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }
}

/// The origin's routes:
/// - `/bytes?n=N&seed=S`: `N` deterministic bytes (`det_bytes(S, N)`), with
///   a content-length, `application/octet-stream`;
/// - `/page/N`: [`html_page`]`(N)`, `text/html`;
/// - anything else: 404.
async fn route(req: Request<Incoming>, seen: Arc<Seen>) -> Result<Response<TestBody>, Infallible> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let param = |k: &str| -> Option<u64> {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
    };
    let resp = if path == "/bytes" {
        let n = param("n").unwrap_or(1024) as usize;
        let seed = param("seed").unwrap_or(1);
        Response::builder()
            .header("content-type", "application/octet-stream")
            .header("content-length", n)
            .body(full(cached_bytes(seed, n)))
            .unwrap()
    } else if let Some(n) = path.strip_prefix("/page/").and_then(|n| n.parse().ok()) {
        Response::builder()
            .header("content-type", "text/html; charset=utf-8")
            .body(full(html_page(n)))
            .unwrap()
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full("not found"))
            .unwrap()
    };
    Ok(resp)
}

/// Starts an origin on loopback; `tls` = None means plain HTTP.
pub async fn start_origin(tls: Option<Arc<rustls::ServerConfig>>) -> Origin {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            let seen = seen2.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| route(req, seen.clone()));
                let builder = auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(cfg) => {
                        let Ok(stream) = TlsAcceptor::from(cfg).accept(tcp).await else {
                            return;
                        };
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                    }
                }
            });
        }
    });
    Origin { addr, seen }
}

/// A running `webinfer proxy` child process (killed with SIGKILL on drop).
pub struct ProxyProcess {
    child: Child,
    /// The address the proxy reported it listens on.
    pub addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Options of a proxy started by [`ProxyProcess::start`].
pub struct ProxySetup<'a> {
    /// `--ca-dir`.
    pub ca_dir: &'a Path,
    /// `--traces`.
    pub traces: &'a Path,
    /// `--upstream-ca` files.
    pub upstream_ca: Vec<PathBuf>,
    /// `--resolve HOST:PORT:127.0.0.1` for each (host, port).
    pub resolve: Vec<(String, u16)>,
    /// More arguments.
    pub extra: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
}

impl<'a> ProxySetup<'a> {
    /// A setup with just the CA and trace directories.
    pub fn new(ca_dir: &'a Path, traces: &'a Path) -> Self {
        ProxySetup {
            ca_dir,
            traces,
            upstream_ca: Vec::new(),
            resolve: Vec::new(),
            extra: Vec::new(),
            env: Vec::new(),
        }
    }
}

fn pump(
    reader: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &lines {
                let _ = tx.send(line.clone());
            }
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl ProxyProcess {
    /// Starts `webinfer proxy --listen 127.0.0.1:0 …` and waits (at most
    /// 30 s) for its `listening on http://ADDR` line on stdout.
    pub fn start(setup: ProxySetup<'_>) -> ProxyProcess {
        let mut args: Vec<String> = vec![
            "proxy".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--ca-dir".into(),
            setup.ca_dir.display().to_string(),
            "--traces".into(),
            setup.traces.display().to_string(),
        ];
        for ca in &setup.upstream_ca {
            args.push("--upstream-ca".into());
            args.push(ca.display().to_string());
        }
        for (host, port) in &setup.resolve {
            args.push("--resolve".into());
            args.push(format!("{host}:{port}:127.0.0.1"));
        }
        args.extend(setup.extra.iter().cloned());
        Self::spawn(&args, &setup.env)
    }

    /// Runs `webinfer ARGS` (which must start a proxy) and waits for its
    /// listening line.
    pub fn spawn(args: &[String], env: &[(String, String)]) -> ProxyProcess {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the webinfer binary starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
        pump(child.stderr.take().unwrap(), stderr.clone(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("webinfer proxy listening on http://") {
                        break a.trim().parse::<SocketAddr>().expect("a socket address");
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the proxy did not report its address; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        ProxyProcess {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the proxy printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the proxy printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Resident set size of the proxy process in KiB (`VmRSS` of
    /// `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Sends SIGKILL (`kill -9`) and reaps the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends `CONNECT authority` (with `Host: host_header`) to the proxy and
/// returns the stream after a 200, or the status line on refusal.
pub async fn connect_tunnel_with_host(
    proxy: SocketAddr,
    authority: &str,
    host_header: &str,
) -> Result<TcpStream, String> {
    let mut tcp = TcpStream::connect(proxy).await.map_err(|e| e.to_string())?;
    tcp.write_all(
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {host_header}\r\n\r\n").as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp.read(&mut byte).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    if text.starts_with("HTTP/1.1 200") {
        Ok(tcp)
    } else {
        Err(text.lines().next().unwrap_or("").to_string())
    }
}

/// Sends `CONNECT authority` to the proxy (see [`connect_tunnel_with_host`]).
pub async fn connect_tunnel(proxy: SocketAddr, authority: &str) -> Result<TcpStream, String> {
    connect_tunnel_with_host(proxy, authority, authority).await
}

/// A TLS client config trusting only `root` (the proxy's CA), with `alpn`.
pub fn client_tls(root: &[u8], alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(cfg)
}

/// The proxy's CA certificate (DER) from `--ca-dir`.
pub fn proxy_ca_der(ca_dir: &Path) -> Vec<u8> {
    std::fs::read(ca_dir.join("webinfer-ca.der")).expect("the proxy wrote its CA")
}

/// A hyper HTTP/1.1 or HTTP/2 sender over an intercepted tunnel.
pub enum Sender {
    /// HTTP/1.1 (keep-alive).
    H1(hyper::client::conn::http1::SendRequest<TestBody>),
    /// HTTP/2.
    H2(hyper::client::conn::http2::SendRequest<TestBody>),
}

impl Sender {
    /// CONNECT `host:port` through the proxy, TLS trusting `tls`'s root,
    /// then an HTTP/1.1 or HTTP/2 handshake.
    pub async fn open(
        proxy: SocketAddr,
        host: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Sender, String> {
        let tcp = connect_tunnel(proxy, &format!("{host}:{port}")).await?;
        let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let stream = TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to the proxy: {e}"))?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        if h2 {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            Ok(Sender::H2(send))
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            Ok(Sender::H1(send))
        }
    }

    /// Sends `req` when the connection can take it.
    pub async fn send(&mut self, req: Request<TestBody>) -> Result<Response<Incoming>, String> {
        match self {
            Sender::H1(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await.map_err(|e| e.to_string())
            }
            Sender::H2(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await.map_err(|e| e.to_string())
            }
        }
    }

    /// Whether this is an HTTP/2 connection.
    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }
}

/// Reads a whole response body.
pub async fn body_bytes(resp: Response<Incoming>) -> Result<Bytes, String> {
    resp.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string())
}

/// Runs `webinfer ARGS` to completion; returns (success, stdout, stderr).
pub fn run_bin(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the webinfer binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A session id the proxy at `proxy` issued: loads `http://{authority}/page/1`
/// (a plain-HTTP [`start_origin`] routed with `--resolve`) through it as a
/// navigation and reads the sid out of the injected hook's config, as the
/// hook does. The trace endpoint stores records only for such ids, posted to
/// `http://{authority}/__webinfer__/trace` (the page's own origin).
pub async fn issue_sid(proxy: SocketAddr, authority: &str) -> String {
    let tcp = TcpStream::connect(proxy).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://{authority}/page/1"))
        .header("host", authority)
        .header("accept", "text/html")
        .header("sec-fetch-dest", "document")
        .body(empty())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    let at = text.find("\"sid\":\"").expect("an injected config") + 7;
    let end = at + text[at..].find('"').unwrap();
    text[at..end].to_owned()
}
