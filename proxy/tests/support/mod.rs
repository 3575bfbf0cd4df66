//! Real parts for the proxy tests: a test CA, HTTPS/HTTP/raw-TCP upstream
//! servers on loopback that count their connections, a proxy on port 0, and
//! a CONNECT + TLS client.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

pub type TestBody = BoxBody<Bytes, Infallible>;

/// A CA made for one test, with leaf certificates for upstream servers.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
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

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let p = dir.join("upstream-ca.pem");
        std::fs::write(&p, self.pem()).unwrap();
        p
    }

    /// A TLS server config for `names` (DNS names or IPs), ALPN h2 + http/1.1.
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

/// Deterministic pseudo-random bytes: chunk `i` of a stream seeded by `seed`.
pub fn chunk(seed: u64, i: u64, len: usize) -> Bytes {
    let mut x = seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ 0xD1B5_4A32_D192_ED03;
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

pub const CHUNK: usize = 64 * 1024;

/// SHA-256 hex of the deterministic stream of `total` bytes.
pub fn stream_sha256(seed: u64, total: u64) -> String {
    let mut h = Sha256::new();
    let mut sent = 0u64;
    let mut i = 0;
    while sent < total {
        let n = (total - sent).min(CHUNK as u64) as usize;
        h.update(chunk(seed, i, n));
        sent += n as u64;
        i += 1;
    }
    hex::encode(h.finalize())
}

/// A streamed body of `total` deterministic bytes, generated on the fly.
/// With `cut_after`, the stream ends early after that many bytes (a server
/// that promised `total` bytes then breaks the connection).
pub fn stream_body(seed: u64, total: u64, cut_after: Option<u64>) -> TestBody {
    let end = cut_after.unwrap_or(total).min(total);
    let s = futures_util::stream::unfold((0u64, 0u64), move |(sent, i)| async move {
        if sent >= end {
            return None;
        }
        let n = (end - sent).min(CHUNK as u64) as usize;
        Some((
            Ok::<_, Infallible>(Frame::data(chunk(seed, i, n))),
            (sent + n as u64, i + 1),
        ))
    });
    BodyExt::boxed(StreamBody::new(s))
}

fn full(s: impl Into<Bytes>) -> TestBody {
    Full::new(s.into()).boxed()
}

/// Counts of what an upstream server saw.
#[derive(Default)]
pub struct Seen {
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
}

/// A running upstream server.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl Upstream {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }
    pub fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }
}

/// The test routes:
/// - `/hello`: "hello" with `Alt-Svc` and `Keep-Alive` headers;
/// - `/headers`: the request's version and headers, one per line;
/// - `/big?n=BYTES&seed=S`: a streamed deterministic body (no length);
/// - `/models/*.onnx`: 3 MiB deterministic body with content-length;
/// - `/cut/*.onnx`: claims 3 MiB, sends 1 MiB, then breaks;
/// - `/upload` (POST): SHA-256 and length of the request body, streamed;
/// - `/ws`: WebSocket echo.
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
    let resp = if path == "/hello" {
        Response::builder()
            .header("alt-svc", "h3=\":443\"; ma=86400")
            .header("content-type", "text/plain")
            .body(full("hello"))
            .unwrap()
    } else if path == "/headers" {
        let mut text = format!("version: {:?}\n", req.version());
        for (k, v) in req.headers() {
            text.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        Response::new(full(text))
    } else if path == "/big" {
        let n = param("n").unwrap_or(1 << 20);
        let seed = param("seed").unwrap_or(1);
        Response::builder()
            .header("content-type", "application/octet-stream")
            .body(stream_body(seed, n, None))
            .unwrap()
    } else if path.starts_with("/models/") {
        Response::builder()
            .header("content-type", "application/octet-stream")
            .header("content-length", 3 << 20)
            .body(stream_body(7, 3 << 20, None))
            .unwrap()
    } else if path.starts_with("/cut/") {
        Response::builder()
            .header("content-length", 3 << 20)
            .body(stream_body(7, 3 << 20, Some(1 << 20)))
            .unwrap()
    } else if path == "/upload" {
        let mut body = req.into_body();
        let mut h = Sha256::new();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(d) = frame.data_ref() {
                h.update(d);
                n += d.len() as u64;
            }
        }
        Response::new(full(format!("{} {}", n, hex::encode(h.finalize()))))
    } else if path == "/ws" {
        return Ok(websocket_echo(req));
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full("not found"))
            .unwrap()
    };
    Ok(resp)
}

fn websocket_echo(mut req: Request<Incoming>) -> Response<TestBody> {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| k.as_bytes().to_vec())
        .unwrap_or_default();
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(up),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                break;
            }
            if ws.send(msg).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header(
            "sec-websocket-accept",
            tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key),
        )
        .body(full(""))
        .unwrap()
}

/// Starts an upstream server; `tls` = None means plain HTTP.
pub async fn start_upstream(tls: Option<Arc<rustls::ServerConfig>>) -> Upstream {
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
                        let _ = builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                            .await;
                    }
                    None => {
                        let _ = builder
                            .serve_connection_with_upgrades(TokioIo::new(tcp), svc)
                            .await;
                    }
                }
            });
        }
    });
    Upstream { addr, seen }
}

/// A raw TCP echo server (not TLS, not HTTP) that counts connections.
pub async fn start_echo() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    Upstream { addr, seen }
}

/// Sends `CONNECT authority` to the proxy and returns the stream after a 200,
/// or the status line on refusal.
pub async fn connect_tunnel(proxy: SocketAddr, authority: &str) -> Result<TcpStream, String> {
    let mut tcp = TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp.read(&mut byte).await.unwrap();
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

/// A TLS client config trusting only `root`, with the given ALPN.
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

/// CONNECT through the proxy, then TLS to `host` trusting `root`.
pub async fn tls_through_proxy(
    proxy: SocketAddr,
    host: &str,
    port: u16,
    root: &[u8],
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = connect_tunnel(proxy, &format!("{host}:{port}"))
        .await
        .unwrap();
    let name = ServerName::try_from(host.to_string()).unwrap();
    TlsConnector::from(client_tls(root, alpn))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// A hyper HTTP/1.1 or HTTP/2 sender over an intercepted tunnel.
pub enum Sender {
    H1(hyper::client::conn::http1::SendRequest<TestBody>),
    H2(hyper::client::conn::http2::SendRequest<TestBody>),
}

impl Sender {
    pub async fn open(proxy: SocketAddr, host: &str, port: u16, root: &[u8], h2: bool) -> Sender {
        let alpn: &[&[u8]] = if h2 { &[b"h2"] } else { &[b"http/1.1"] };
        let tls = tls_through_proxy(proxy, host, port, root, alpn).await;
        let negotiated = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
        assert_eq!(
            negotiated.as_deref(),
            Some(alpn[0]),
            "ALPN towards the client"
        );
        let io = TokioIo::new(tls);
        if h2 {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            Sender::H2(send)
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn.with_upgrades());
            Sender::H1(send)
        }
    }

    /// Sends `req` once the connection can take it: an HTTP/1.1 connection
    /// is ready again only after the previous response was read to its end,
    /// which hyper's connection task notices asynchronously.
    pub async fn send(&mut self, req: Request<TestBody>) -> Response<Incoming> {
        match self {
            Sender::H1(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await.unwrap()
            }
            Sender::H2(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await.unwrap()
            }
        }
    }
}

/// Reads a whole (small) response body as text.
pub async fn text(resp: Response<Incoming>) -> String {
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// Streams a response body, returning (bytes, sha256 hex) without holding it.
pub async fn hash_body(resp: Response<Incoming>) -> (u64, String) {
    let mut body = resp.into_body();
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        if let Some(d) = frame.data_ref() {
            h.update(d);
            n += d.len() as u64;
        }
    }
    (n, hex::encode(h.finalize()))
}

/// Runs curl with `args`, returning (exit ok, stdout, stderr).
pub async fn curl(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .await
        .expect("curl is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

// ---------------------------------------------------------------------------
// Fault injection: origins that misbehave on purpose, and bounded waits.
// ---------------------------------------------------------------------------

impl TestCa {
    /// A TLS server config (ALPN `http/1.1`) whose leaf for `names` expired
    /// in 2021 but is otherwise signed by this CA.
    pub fn expired_server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        tls_config(vec![cert.der().clone(), self.der()], &key, &[b"http/1.1"])
    }
}

/// A TLS server config (ALPN `http/1.1`) with a self-signed leaf for `names`.
pub fn self_signed_server_config(names: &[&str]) -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = params.self_signed(&key).unwrap();
    tls_config(vec![cert.der().clone()], &key, &[b"http/1.1"])
}

/// `cfg` with its ALPN replaced by `http/1.1` only.
pub fn http1_only(cfg: Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut cfg = (*cfg).clone();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

fn tls_config(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// What a [`FaultOrigin`] saw.
#[derive(Default)]
pub struct FaultSeen {
    /// TCP connections accepted.
    pub connections: AtomicUsize,
    /// TCP connections open right now.
    pub open: AtomicUsize,
    /// TLS handshakes completed.
    pub handshakes: AtomicUsize,
    /// HTTP request heads received.
    pub requests: AtomicUsize,
    /// Connections the peer (the proxy) closed while the origin was still
    /// holding or writing a response (a read saw EOF/error or a write failed).
    pub closed_by_peer: AtomicUsize,
}

/// An HTTPS/1.1 origin written on raw sockets so it can misbehave exactly:
/// - `/ok`: `200` with body `ok` (keep-alive);
/// - `/reset`: promises 1 MiB, sends 256 KiB, then resets the TCP connection;
/// - `/hang`: never answers; waits for the peer to close;
/// - `/stall`: promises 1 MiB, sends 64 KiB, then goes silent (connection open);
/// - `/trickle`: promises 1 GiB, sends 16 KiB every 20 ms until the peer goes;
/// - `/endless`: promises 1 GiB, sends as fast as it can until the peer goes.
///
/// With `tls = None` it accepts TCP and never says anything (not even a TLS
/// handshake), until the peer closes.
pub struct FaultOrigin {
    pub addr: SocketAddr,
    pub seen: Arc<FaultSeen>,
}

impl FaultOrigin {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }
    pub fn open(&self) -> usize {
        self.seen.open.load(Ordering::SeqCst)
    }
    pub fn handshakes(&self) -> usize {
        self.seen.handshakes.load(Ordering::SeqCst)
    }
    pub fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }
    pub fn closed_by_peer(&self) -> usize {
        self.seen.closed_by_peer.load(Ordering::SeqCst)
    }
}

/// Decrements the open-connection gauge when a connection task ends.
struct OpenGuard(Arc<FaultSeen>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a [`FaultOrigin`] (see there for its routes).
pub async fn start_fault_origin(tls: Option<Arc<rustls::ServerConfig>>) -> FaultOrigin {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(FaultSeen::default());
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            seen2.open.fetch_add(1, Ordering::SeqCst);
            let guard = OpenGuard(seen2.clone());
            let seen = seen2.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _guard = guard;
                match tls {
                    None => {
                        let mut tcp = tcp;
                        wait_for_close(&mut tcp, &seen).await;
                    }
                    Some(cfg) => {
                        let Ok(stream) = TlsAcceptor::from(cfg).accept(tcp).await else {
                            return;
                        };
                        seen.handshakes.fetch_add(1, Ordering::SeqCst);
                        serve_faults(stream, &seen).await;
                    }
                }
            });
        }
    });
    FaultOrigin { addr, seen }
}

/// Reads until the peer closes (EOF or error), then counts it.
async fn wait_for_close<S: tokio::io::AsyncRead + Unpin>(s: &mut S, seen: &FaultSeen) {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    seen.closed_by_peer.fetch_add(1, Ordering::SeqCst);
}

/// Reads one request head; returns its path, or None at EOF.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head.len() > 1 << 20 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let line = text.lines().next()?;
    Some(line.split(' ').nth(1)?.to_string())
}

async fn serve_faults(mut stream: tokio_rustls::server::TlsStream<TcpStream>, seen: &FaultSeen) {
    loop {
        let Some(path) = read_head(&mut stream).await else {
            return;
        };
        seen.requests.fetch_add(1, Ordering::SeqCst);
        match path.as_str() {
            "/ok" => {
                let resp =
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
                if stream.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
                let _ = stream.flush().await;
            }
            "/reset" => {
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&chunk(3, 0, 256 * 1024)).await;
                let _ = stream.flush().await;
                let (tcp, _) = stream.into_inner();
                // SO_LINGER 0: close() sends a TCP RST instead of a FIN.
                #[allow(deprecated)]
                let _ = tcp.set_linger(Some(std::time::Duration::ZERO));
                drop(tcp);
                return;
            }
            "/hang" => {
                wait_for_close(&mut stream, seen).await;
                return;
            }
            "/stall" => {
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&chunk(4, 0, 64 * 1024)).await;
                let _ = stream.flush().await;
                wait_for_close(&mut stream, seen).await;
                return;
            }
            "/trickle" | "/endless" => {
                // `/trickle`: 16 KiB every 20 ms; `/endless`: as fast as the
                // peer takes it. Both until the peer goes.
                let pause = (path == "/trickle").then(|| std::time::Duration::from_millis(20));
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n";
                let (mut r, mut w) = tokio::io::split(stream);
                let writer = async {
                    if w.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for i in 0.. {
                        if w.write_all(&chunk(5, i, 16 * 1024)).await.is_err()
                            || w.flush().await.is_err()
                        {
                            return;
                        }
                        if let Some(p) = pause {
                            tokio::time::sleep(p).await;
                        }
                    }
                };
                let mut buf = [0u8; 1024];
                let reader = async {
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                };
                tokio::select! {
                    _ = writer => {}
                    _ = reader => {}
                }
                seen.closed_by_peer.fetch_add(1, Ordering::SeqCst);
                return;
            }
            _ => {
                let resp = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
                if stream.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Polls `cond` every 20 ms until it holds or `within` passes; returns
/// whether it held.
pub async fn wait_until(within: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Reads from `s` until EOF or an error, giving up after `within`; returns
/// the bytes read and whether the peer closed in time.
pub async fn read_until_closed<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    within: std::time::Duration,
) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (out, closed)
}
