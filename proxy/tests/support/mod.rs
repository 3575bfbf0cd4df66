//! Real parts for the proxy tests: a test CA, HTTPS/HTTP/raw-TCP upstream
//! servers on loopback that count their connections, a proxy on port 0, and
//! a CONNECT + TLS client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
pub use webinfer_testkit::ca::{http1_only, self_signed_server_config};
pub use webinfer_testkit::client::{hash_body, text};
pub use webinfer_testkit::data::{chunk, stream_body, stream_sha256};
pub use webinfer_testkit::{
    client_tls, connect_refused, connect_tunnel, full, tls_through_proxy, Origin, Sender, TestBody,
    TestCa,
};

/// Long limits (30 s each), for tests about something else; a test about
/// one limit sets that one short (`Timeouts { idle: SHORT, ..relaxed() }`).
pub fn relaxed() -> webinfer_proxy::Timeouts {
    let long = std::time::Duration::from_secs(30);
    webinfer_proxy::Timeouts {
        connect: long,
        response: long,
        idle: long,
        client_header: long,
        client_tls: long,
        tunnel_idle: long,
        client_idle: long,
        client_keepalive: long,
    }
}

/// The upstream servers of these tests are the kit's origins.
pub type Upstream = Origin;

/// The test routes:
/// - `/hello`: "hello" with `Alt-Svc` and `Keep-Alive` headers;
/// - `/headers`: the request's version and headers, one per line;
/// - `/big?n=BYTES&seed=S`: a streamed deterministic body (no length);
/// - `/models/*.onnx`: 3 MiB deterministic body with content-length;
/// - `/cut/*.onnx`: claims 3 MiB, sends 1 MiB, then breaks;
/// - `/upload` (POST): SHA-256 and length of the request body, streamed;
/// - `/ws`: WebSocket echo.
async fn route(req: Request<Incoming>) -> Response<TestBody> {
    let path = req.uri().path().to_string();
    let uri = req.uri().clone();
    let param = |k: &str| webinfer_testkit::query_u64(&uri, k);
    if path == "/hello" {
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
        websocket_echo(req)
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full("not found"))
            .unwrap()
    }
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

/// Starts an upstream server ([`route`]); `tls` = None means plain HTTP.
pub async fn start_upstream(tls: Option<Arc<rustls::ServerConfig>>) -> Upstream {
    Origin::start(tls, route)
        .await
        .expect("the upstream starts")
}

/// A raw TCP echo server (see [`start_echo`]).
pub struct Echo {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Echo {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A raw TCP echo server (not TLS, not HTTP) that counts connections.
pub async fn start_echo() -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    Echo { addr, connections }
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

/// Runs curl through the proxy at `proxy` (`http://host:port`), trusting the
/// CA certificate in the PEM file `cacert`, with `args` (flags and the URL).
pub async fn curl_via(proxy: &str, cacert: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["-x", proxy, "--cacert", cacert];
    all.extend_from_slice(args);
    curl(&all).await
}

// ---------------------------------------------------------------------------
// Fault injection: origins that misbehave on purpose, and bounded waits.
// ---------------------------------------------------------------------------

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
    webinfer_testkit::port_and_counts!(connections, open, handshakes, requests, closed_by_peer);
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
