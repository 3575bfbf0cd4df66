//! Bounded waits and counts (issue 18 item 8), with short limits:
//! - a raw CONNECT tunnel and a WebSocket relay with no bytes either way
//!   for `--tunnel-idle-timeout` are closed on both sides;
//! - an idle HTTP/2 client connection (no open request) is closed with
//!   GOAWAY after `--client-idle-timeout`, but never while a request is
//!   open;
//! - an HTTP/2 client that stops answering keep-alive PINGs is disconnected
//!   (and its upstream request released) after `--client-keepalive`;
//! - `--max-connections` caps open client connections (tunnels included);
//!   one more gets a 503 naming the option, and a slot frees when a
//!   connection closes.

use std::net::SocketAddr;

use std::time::{Duration, Instant};

use crate::support::*;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webinfer_proxy::ResolveRule;
use webinfer_proxy::{ProxyBuilder, ProxyHandle, Timeouts};

const HOST: &str = "limits.test";
const SHORT: Duration = Duration::from_millis(400);

async fn proxy(
    dir: &TempDir,
    test_ca: Option<&TestCa>,
    port: u16,
    timeouts: Timeouts,
    configure: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
) -> ProxyHandle {
    let rule: ResolveRule = format!("{HOST}:{port}:127.0.0.1").parse().unwrap();
    let mut b = webinfer_testkit::proxy::builder(dir.path())
        .resolve(vec![rule])
        .timeouts(timeouts);
    if let Some(t) = test_ca {
        b = b.upstream_roots(vec![t.der()]);
    }
    configure(b).start().await.unwrap()
}

/// A proxy to `port` (no upstream TLS) whose only short limit is
/// `--tunnel-idle-timeout` ([`SHORT`]).
async fn tunnel_idle_proxy(dir: &TempDir, port: u16) -> ProxyHandle {
    let timeouts = Timeouts {
        tunnel_idle: SHORT,
        ..relaxed()
    };
    proxy(dir, None, port, timeouts, |b| b).await
}

/// A raw CONNECT tunnel through `p` to [`HOST`]`:port`.
async fn tunnel(p: &ProxyHandle, port: u16) -> TcpStream {
    connect_tunnel(p.addr(), &format!("{HOST}:{port}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_raw_tunnel_is_closed_on_both_sides() {
    let origin = start_fault_origin(None).await; // reads until the peer closes
    let dir = TempDir::new().unwrap();
    let p = tunnel_idle_proxy(&dir, origin.port()).await;
    let mut tcp = tunnel(&p, origin.port()).await;
    tcp.write_all(b"not TLS, a raw tunnel\n").await.unwrap();
    assert!(wait_until(Duration::from_secs(10), || origin.connections() == 1).await);
    let t0 = Instant::now();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    assert!(closed, "the idle tunnel was not closed towards the client");
    assert!(t0.elapsed() >= SHORT / 2, "closed before the idle timeout");
    assert!(
        wait_until(Duration::from_secs(5), || origin.closed_by_peer() == 1).await,
        "the idle tunnel was not closed towards the origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_raw_tunnel_outlives_the_idle_timeout() {
    // An echo origin: bytes every 100 ms keep the tunnel alive for 4x the limit.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let dir = TempDir::new().unwrap();
    let p = tunnel_idle_proxy(&dir, port).await;
    let mut tcp = tunnel(&p, port).await;
    let t0 = Instant::now();
    while t0.elapsed() < SHORT * 4 {
        tcp.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut buf))
            .await
            .expect("echo in time")
            .expect("the busy tunnel stays open");
        assert_eq!(&buf, b"ping");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_websocket_relay_is_closed() {
    let origin = start_upstream(None).await; // /ws echoes, silent otherwise
    let dir = TempDir::new().unwrap();
    let p = tunnel_idle_proxy(&dir, origin.port()).await;
    let mut tcp = TcpStream::connect(p.addr()).await.unwrap();
    let port = origin.port();
    tcp.write_all(
        format!(
            "GET http://{HOST}:{port}/ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1);
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let t0 = Instant::now();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    assert!(closed, "the idle WebSocket relay was not closed");
    assert!(t0.elapsed() >= SHORT / 2, "closed before the idle timeout");
}

async fn h2_client(
    p: &ProxyHandle,
    port: u16,
) -> (
    hyper::client::conn::http2::SendRequest<TestBody>,
    tokio::task::JoinHandle<()>,
) {
    let root = p.ca().cert_der().to_vec();
    let tls = tls_through_proxy(p.addr(), HOST, port, &root, &[b"h2"])
        .await
        .unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    (send, task)
}

fn get(port: u16, path: &str) -> http::Request<TestBody> {
    http::Request::get(format!("https://{HOST}:{port}{path}"))
        .body(http_body_util::BodyExt::boxed(http_body_util::Empty::new()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_client_connection_is_closed_but_not_while_a_request_is_open() {
    let test_ca = TestCa::new("limits");
    let origin = start_fault_origin(Some(http1_only(test_ca.server_config(&[HOST])))).await;
    let dir = TempDir::new().unwrap();
    let response = Duration::from_millis(1500);
    let p = proxy(
        &dir,
        Some(&test_ca),
        origin.port(),
        Timeouts {
            client_idle: SHORT,
            response,
            ..relaxed()
        },
        |b| b,
    )
    .await;
    let (mut send, conn) = h2_client(&p, origin.port()).await;
    // A request open for longer than the idle limit is not cut: /hang gets
    // its 504 from the response timeout, on the same connection.
    let t0 = Instant::now();
    let resp = send
        .send_request(get(origin.port(), "/hang"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 504);
    assert!(t0.elapsed() >= response, "{:?}", t0.elapsed());
    let resp = send.send_request(get(origin.port(), "/ok")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(text(resp).await, "ok");
    // Then, with nothing open, the proxy closes the connection.
    let t1 = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the idle HTTP/2 connection was closed by the proxy")
        .unwrap();
    assert!(t1.elapsed() >= SHORT / 2, "closed before the idle timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_stops_answering_pings_is_dropped() {
    let test_ca = TestCa::new("limits");
    let origin = start_fault_origin(Some(http1_only(test_ca.server_config(&[HOST])))).await;
    let dir = TempDir::new().unwrap();
    let p = proxy(
        &dir,
        Some(&test_ca),
        origin.port(),
        Timeouts {
            client_keepalive: SHORT,
            ..relaxed()
        },
        |b| b,
    )
    .await;
    let root = p.ca().cert_der().to_vec();
    let tls = tls_through_proxy(p.addr(), HOST, origin.port(), &root, &[b"h2"])
        .await
        .unwrap();
    // A raw h2 client whose connection we stop polling: it then answers no
    // PING (nor reads anything) while its request is open.
    let (mut client, conn) = h2::client::handshake(tls).await.unwrap();
    let mut conn = Box::pin(conn);
    let req = http::Request::get(format!("https://{HOST}:{}/hang", origin.port()))
        .body(())
        .unwrap();
    // Drive the connection until the request is queued; the response future
    // is kept (never awaited) so the stream stays open.
    let ready = tokio::select! {
        r = client.ready() => r.unwrap(),
        _ = conn.as_mut() => panic!("connection ended early"),
    };
    client = ready;
    let (_pending_response, _) = client.send_request(req, true).unwrap();
    // Keep flushing until the origin has the request, then freeze.
    let flushed = async {
        while origin.requests() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        _ = flushed => {}
        _ = conn.as_mut() => panic!("connection ended early"),
    }
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || origin.closed_by_peer() == 1).await,
        "a client that answers no PING kept its request (and the upstream) open"
    );
    assert!(
        t0.elapsed() >= SHORT,
        "released before a PING could go unanswered"
    );
    drop(conn);
}

async fn status_of(addr: SocketAddr, req: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tcp.write_all(req.as_bytes()).await;
    let (out, _) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_get_a_503_naming_the_option() {
    let origin = start_fault_origin(None).await;
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, None, origin.port(), relaxed(), |b| {
        b.max_connections(2)
    })
    .await;
    // One raw tunnel (its slot lives on after the upgrade) and one idle
    // connection fill the two slots.
    let mut tunnel = tunnel(&p, origin.port()).await;
    tunnel.write_all(b"raw\n").await.unwrap();
    assert!(wait_until(Duration::from_secs(10), || origin.connections() == 1).await);
    let idle = TcpStream::connect(p.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let page = "GET http://webinfer.invalid/ HTTP/1.1\r\nHost: webinfer.invalid\r\nConnection: close\r\n\r\n";
    let out = status_of(p.addr(), page).await;
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(
        out.contains("--max-connections") && out.contains("the limit is 2"),
        "{out}"
    );
    // Closing the tunnel frees a slot.
    drop(tunnel);
    assert!(wait_until(Duration::from_secs(5), || origin.closed_by_peer() == 1).await);
    let mut ok = String::new();
    for _ in 0..50 {
        ok = status_of(p.addr(), page).await;
        if ok.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    drop(idle);
}
