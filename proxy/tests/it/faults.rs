//! Fault tests: the proxy between a client and a misbehaving world must not
//! fall over, lose the exchange record, or open a door. Each test provokes
//! one fault with real parts — HTTPS origins on loopback written on raw
//! sockets so they can reset, hang, stall or trickle on purpose (and origins
//! with expired, self-signed and wrong-host certificates), real clients
//! (hyper over CONNECT + TLS, raw TCP, curl) — and asserts what the proxy
//! does about it. Timeouts are short (1 s) so the file runs in seconds; waits
//! are bounded polls, never sleeps standing in for an assertion.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rustls::pki_types::ServerName;
use tempfile::TempDir;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use webinfer_proxy::{
    Exchange, Handler, ProxyBuilder, ProxyHandle, RequestContext, ResolveRule, Timeouts,
};

/// The host name the fault origin is reached by.
const HOST: &str = "faulty.test";

/// The timeout under test, in every test that tests one.
const SHORT: Duration = Duration::from_secs(1);

/// Upper bound for anything that should happen "promptly" or "after the
/// timeout": generous, because CI machines are loaded.
const BOUND: Duration = Duration::from_secs(10);

/// Records every finished exchange (what the trace sink would write).
#[derive(Default)]
struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
}

impl Handler for Recorder {
    type Ctx = ();

    fn new_ctx(&self) {}

    fn on_complete(&self, _info: &RequestContext, _ctx: &mut (), ex: &Exchange) {
        self.exchanges.lock().unwrap().push(ex.clone());
    }
}

impl Recorder {
    /// Waits (bounded) for the exchange whose URL ends with `suffix`.
    async fn exchange(&self, suffix: &str) -> Exchange {
        let found = wait_until(BOUND, || {
            self.exchanges
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.url.ends_with(suffix))
        })
        .await;
        assert!(found, "no exchange recorded for {suffix}");
        let all = self.exchanges.lock().unwrap();
        all.iter()
            .find(|e| e.url.ends_with(suffix))
            .unwrap()
            .clone()
    }
}

/// [`relaxed`] limits with `set` applied (the one limit a test is about).
fn with(set: impl FnOnce(&mut Timeouts)) -> Timeouts {
    let mut t = relaxed();
    set(&mut t);
    t
}

/// A proxy (port 0, its own CA) trusting `test_ca` upstream, with `rules`.
struct Env {
    _dir: TempDir,
    proxy: ProxyHandle,
    recorder: Arc<Recorder>,
}

impl Env {
    async fn start(
        test_ca: &TestCa,
        rules: Vec<ResolveRule>,
        timeouts: Timeouts,
        configure: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
    ) -> Env {
        let dir = TempDir::new().unwrap();
        let recorder = Arc::new(Recorder::default());
        let builder = webinfer_testkit::proxy::builder(dir.path())
            .upstream_roots(vec![test_ca.der()])
            .resolve(rules)
            .timeouts(timeouts);
        let proxy = configure(builder)
            .handler(recorder.clone())
            .start()
            .await
            .unwrap();
        Env {
            _dir: dir,
            proxy,
            recorder,
        }
    }

    fn ca_der(&self) -> Vec<u8> {
        self.proxy.ca().cert_der().to_vec()
    }

    fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    /// A hyper client inside an intercepted tunnel to `host:port`.
    async fn sender(&self, host: &str, port: u16, h2: bool) -> Sender {
        let der = self.ca_der();
        let open = Sender::trusting(self.proxy.addr(), host, port, &der, h2);
        tokio::time::timeout(BOUND, open)
            .await
            .expect("tunnel opens")
    }

    /// A raw TLS stream through an intercepted tunnel to `origin`, offering only
    /// HTTP/1.1.
    async fn h1_tls(&self, origin: &FaultOrigin) -> TlsStream<TcpStream> {
        let der = self.ca_der();
        tls_through_proxy(self.proxy.addr(), HOST, origin.port(), &der, &[b"http/1.1"])
            .await
            .unwrap()
    }

    /// A raw CONNECT tunnel to `origin` (no TLS from the client yet).
    async fn tunnel(&self, origin: &FaultOrigin) -> TcpStream {
        connect_tunnel(self.proxy.addr(), &format!("{HOST}:{}", origin.port()))
            .await
            .unwrap()
    }

    /// Proves the proxy still serves: a fresh tunnel, `GET /ok`, `200 ok`.
    async fn still_serves(&self, origin: &FaultOrigin) {
        let mut s = self.sender(HOST, origin.port(), false).await;
        let resp = fetch(&mut s, origin.port(), "/ok").await;
        assert_eq!(resp.status(), 200, "the proxy keeps serving others");
        assert_eq!(text(resp).await, "ok");
    }
}

fn rule(host: &str, port: u16) -> ResolveRule {
    format!("{host}:{port}:127.0.0.1").parse().unwrap()
}

fn url(host: &str, port: u16, path: &str) -> String {
    format!("https://{host}:{port}{path}")
}

fn get(uri: &str) -> Request<TestBody> {
    Request::get(uri)
        .body(http_body_util::Empty::new().map_err(|e| match e {}).boxed())
        .unwrap()
}

/// Sends with a bound, so a broken proxy fails the test instead of hanging it.
async fn send(s: &mut Sender, req: Request<TestBody>) -> Response<Incoming> {
    tokio::time::timeout(BOUND, s.send(req))
        .await
        .expect("a response head within the bound")
        .expect("a response")
}

/// `GET https://HOST:port{path}` on `s`, bounded as [`send`].
async fn fetch(s: &mut Sender, port: u16, path: &str) -> Response<Incoming> {
    send(s, get(&url(HOST, port, path))).await
}

/// Writes a raw HTTP/1.1 `GET path` for [`HOST`]`:port` on `stream`.
async fn write_get(stream: &mut (impl AsyncWrite + Unpin), port: u16, path: &str) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
}

/// Whether, within the bound, the proxy closed `n` connections to `origin`
/// and none is left open.
async fn released(origin: &FaultOrigin, n: usize) -> bool {
    wait_until(BOUND, || origin.closed_by_peer() == n && origin.open() == 0).await
}

/// The error page of a refusal: (`x-webinfer-error` header, page text).
async fn error_page(resp: Response<Incoming>) -> (String, String) {
    let reason = resp.headers()["x-webinfer-error"]
        .to_str()
        .unwrap()
        .to_string();
    (reason, text(resp).await)
}

/// Asserts that `page` contains every one of `needles`.
fn assert_mentions(page: &str, needles: &[&str]) {
    for needle in needles {
        assert!(page.contains(needle), "the page lacks {needle:?}: {page}");
    }
}

/// Reads a body to its end or its first error: (bytes, error).
async fn drain(resp: Response<Incoming>) -> (u64, Option<String>) {
    let mut body = resp.into_body();
    let mut n = 0u64;
    let read = async {
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => n += f.data_ref().map_or(0, |d| d.len() as u64),
                Err(e) => return Some(e.to_string()),
            }
        }
        None
    };
    let err = tokio::time::timeout(BOUND, read)
        .await
        .expect("the body ends or fails within the bound");
    (n, err)
}

/// A fault origin with a leaf from `test_ca` for [`HOST`], and a proxy
/// resolving [`HOST`] to it.
async fn faulty(timeouts: Timeouts) -> (TestCa, FaultOrigin, Env) {
    faulty_with(timeouts, |b| b).await
}

/// [`faulty`], with the proxy's builder passed through `configure`.
async fn faulty_with(
    timeouts: Timeouts,
    configure: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
) -> (TestCa, FaultOrigin, Env) {
    let test_ca = TestCa::new("faults");
    let origin = start_fault_origin(Some(http1_only(test_ca.server_config(&[HOST])))).await;
    let env = Env::start(
        &test_ca,
        vec![rule(HOST, origin.port())],
        timeouts,
        configure,
    )
    .await;
    (test_ca, origin, env)
}

/// [`faulty`], and a client (h2 or HTTP/1.1) through the proxy to [`HOST`].
async fn faulty_client(timeouts: Timeouts, h2: bool) -> (TestCa, FaultOrigin, Env, Sender) {
    let (test_ca, origin, env) = faulty(timeouts).await;
    let s = env.sender(HOST, origin.port(), h2).await;
    (test_ca, origin, env, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reset_mid_body_breaks_the_client_body_and_the_proxy_keeps_serving() {
    let (_ca, origin, env) = faulty(relaxed()).await;
    for h2 in [false, true] {
        let mut s = env.sender(HOST, origin.port(), h2).await;
        let resp = fetch(&mut s, origin.port(), "/reset").await;
        assert_eq!(resp.status(), 200);
        let (n, err) = drain(resp).await;
        assert!(
            err.is_some(),
            "h2={h2}: a reset upstream must break the client's body, not end it cleanly \
             after {n} bytes"
        );
        assert!(n < 1 << 20, "h2={h2}: got {n} of the promised 1 MiB");
    }
    // The exchange is recorded with its error, not lost and not "complete".
    let ex = env.recorder.exchange("/reset").await;
    assert_eq!(ex.status, 200);
    let error = ex.error.expect("the broken body is recorded as an error");
    assert!(error.contains("upstream body failed"), "{error}");
    assert_eq!(origin.requests(), 2);
    env.still_serves(&origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_hang_gives_a_504_naming_the_host_and_the_timeout() {
    let (_ca, origin, env, mut s) = faulty_client(with(|t| t.response = SHORT), true).await;
    let t0 = Instant::now();
    let resp = fetch(&mut s, origin.port(), "/hang").await;
    let waited = t0.elapsed();
    assert_eq!(resp.status(), 504);
    assert!(
        waited >= SHORT,
        "answered after {waited:?}, before the timeout"
    );
    assert!(waited < SHORT + BOUND, "answered after {waited:?}");
    let (reason, page) = error_page(resp).await;
    assert_mentions(
        &page,
        &[
            "504 Upstream timed out",
            HOST,
            "within 1s",
            "--response-timeout",
        ],
    );
    assert!(reason.contains("--response-timeout"), "{reason}");
    // The hung upstream connection is released, not left dangling.
    assert!(
        wait_until(BOUND, || origin.closed_by_peer() == 1).await,
        "the proxy must close the hung upstream connection"
    );
    assert!(wait_until(BOUND, || origin.open() == 0).await);
    // The same client connection goes on working.
    let resp = fetch(&mut s, origin.port(), "/ok").await;
    assert_eq!(text(resp).await, "ok");
    let ex = env.recorder.exchange("/hang").await;
    assert_eq!(ex.status, 504);
    assert!(ex.error.unwrap().contains("--response-timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_that_never_answers_the_tls_handshake_gives_a_504_after_the_connect_timeout() {
    let test_ca = TestCa::new("faults");
    let silent = start_fault_origin(None).await;
    let env = Env::start(
        &test_ca,
        vec![rule("silent.test", silent.port())],
        with(|t| t.connect = SHORT),
        |b| b,
    )
    .await;
    let mut s = env.sender("silent.test", silent.port(), false).await;
    let t0 = Instant::now();
    let resp = send(&mut s, get(&url("silent.test", silent.port(), "/ok"))).await;
    let waited = t0.elapsed();
    assert_eq!(resp.status(), 504);
    assert!(waited >= SHORT && waited < SHORT + BOUND, "{waited:?}");
    let page = text(resp).await;
    assert_mentions(
        &page,
        &[
            "silent.test",
            "TLS handshake",
            "timed out after 1s",
            "--connect-timeout",
        ],
    );
    assert!(
        wait_until(BOUND, || silent.closed_by_peer() >= 1).await,
        "the proxy must give up the half-open upstream connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_body_stall_aborts_the_exchange_after_the_idle_timeout() {
    let (_ca, origin, env, mut s) = faulty_client(with(|t| t.idle = SHORT), false).await;
    let t0 = Instant::now();
    let resp = fetch(&mut s, origin.port(), "/stall").await;
    assert_eq!(resp.status(), 200);
    let (n, err) = drain(resp).await;
    let waited = t0.elapsed();
    assert!(
        err.is_some(),
        "a stalled body must fail, got a clean end after {n} bytes"
    );
    assert_eq!(n, 64 * 1024, "the bytes sent before the stall arrive");
    assert!(
        waited >= SHORT,
        "cut after {waited:?}, before the idle timeout"
    );
    // Both sides are released: the origin sees its connection closed.
    assert!(
        wait_until(BOUND, || origin.closed_by_peer() == 1).await,
        "the proxy must close the stalled upstream connection"
    );
    let ex = env.recorder.exchange("/stall").await;
    let error = ex.error.expect("the stall is recorded");
    assert!(error.contains("--idle-timeout"), "{error}");
    assert_eq!(ex.bytes, 64 * 1024);
    env.still_serves(&origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_request_body_stall_gets_408_after_the_idle_timeout() {
    let (_ca, origin, env) = faulty(with(|t| t.idle = SHORT)).await;
    // An upload that promises 1 MiB, sends 1 KiB, then pauses (the socket
    // stays open). The origin (`/hang`) waits for the body like a real one.
    let mut tls = env.h1_tls(&origin).await;
    let t0 = Instant::now();
    let head = format!(
        "POST /hang HTTP/1.1\r\nHost: {HOST}:{}\r\ncontent-length: 1048576\r\n\r\n",
        origin.port()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&[b'u'; 1024]).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !String::from_utf8_lossy(&got).contains("</html>") {
            let n = tokio::io::AsyncReadExt::read(&mut tls, &mut buf)
                .await
                .unwrap();
            assert!(
                n > 0,
                "closed without an answer: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(BOUND, read).await.expect("an answer");
    let waited = t0.elapsed();
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(
        got.contains("the client sent no request body bytes"),
        "{got}"
    );
    assert!(got.contains("--idle-timeout"), "{got}");
    assert!(waited >= SHORT, "answered after {waited:?}");
    // The upstream exchange is released too.
    assert!(
        released(&origin, 1).await,
        "the proxy must close the upstream connection of the abandoned upload"
    );
    let ex = env.recorder.exchange("/hang").await;
    assert_eq!(ex.status, 408);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_mid_stream_releases_the_upstream_connection() {
    let (_ca, origin, env) = faulty(relaxed()).await;
    // HTTP/1.1 client on a raw TLS stream: read some of an endless body, then
    // drop the connection.
    let mut tls = env.h1_tls(&origin).await;
    write_get(&mut tls, origin.port(), "/trickle").await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let read_some = async {
        while got < 64 * 1024 {
            let n = tokio::io::AsyncReadExt::read(&mut tls, &mut buf)
                .await
                .unwrap();
            assert!(n > 0, "the body is streaming");
            got += n;
        }
    };
    tokio::time::timeout(BOUND, read_some).await.unwrap();
    drop(tls);
    assert!(
        released(&origin, 1).await,
        "h1: the origin must see its connection closed once the client left \
         (closed: {}, open: {})",
        origin.closed_by_peer(),
        origin.open()
    );

    // HTTP/2 client: drop the response body mid-stream (RST_STREAM) while the
    // client connection itself stays up.
    let mut s = env.sender(HOST, origin.port(), true).await;
    let resp = fetch(&mut s, origin.port(), "/trickle").await;
    let mut body = resp.into_body();
    let first = tokio::time::timeout(BOUND, body.frame()).await.unwrap();
    assert!(first.unwrap().is_ok());
    drop(body);
    assert!(
        released(&origin, 2).await,
        "h2: the origin must see its connection closed once the client reset the stream"
    );
    let resp = fetch(&mut s, origin.port(), "/ok").await;
    assert_eq!(text(resp).await, "ok", "the h2 connection goes on");
    let ex = env.recorder.exchange("/trickle").await;
    assert!(
        ex.error.is_some(),
        "a body the client did not take is not complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_stops_reading_is_cut_after_the_idle_timeout_and_the_upstream_released() {
    let (_ca, origin, env) = faulty(with(|t| t.idle = SHORT)).await;
    // The client asks for an endless body, reads its first bytes, then keeps
    // the connection open without reading: buffers fill, the proxy's writes
    // towards it stay pending.
    let mut tls = env.h1_tls(&origin).await;
    write_get(&mut tls, origin.port(), "/endless").await;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(BOUND, tokio::io::AsyncReadExt::read(&mut tls, &mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(n > 0);
    let t0 = Instant::now();
    assert!(
        wait_until(BOUND + SHORT, || origin.closed_by_peer() == 1
            && origin.open() == 0)
        .await,
        "the proxy must give up a client that stopped reading and release the origin"
    );
    assert!(t0.elapsed() >= SHORT, "cut after {:?}", t0.elapsed());
    let ex = env.recorder.exchange("/endless").await;
    assert!(
        ex.error.is_some(),
        "the cut exchange is recorded as incomplete"
    );
    drop(tls);
    env.still_serves(&origin).await;
}

/// Writes `first`, then one header line every 100 ms until the proxy closes
/// the connection; returns what the proxy sent and whether it closed.
async fn slowloris<S>(stream: S, first: &str) -> (Vec<u8>, bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut r, mut w) = tokio::io::split(stream);
    w.write_all(first.as_bytes()).await.unwrap();
    let drip = async {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if w.write_all(format!("x-slow-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    tokio::select! {
        r = read_until_closed(&mut r, BOUND + SHORT) => r,
        _ = drip => (Vec::new(), true),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_on_the_listener_is_cut_after_the_header_timeout_and_others_are_served() {
    let (_ca, origin, env) = faulty(with(|t| t.client_header = SHORT)).await;
    let port = origin.port();
    for first in [
        format!("GET http://{HOST}:{port}/ok HTTP/1.1\r\nHost: {HOST}:{port}\r\n"),
        format!("CONNECT {HOST}:{port} HTTP/1.1\r\n"),
    ] {
        // Timed from before the connect: the proxy's clock starts later.
        let t0 = Instant::now();
        let tcp = TcpStream::connect(env.proxy.addr()).await.unwrap();
        let loris = async {
            let r = slowloris(tcp, &first).await;
            (t0.elapsed(), r.0, r.1)
        };
        // Meanwhile, another client is served normally.
        let other = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            env.still_serves(&origin).await;
        };
        let ((waited, got, closed), ()) = tokio::join!(loris, other);
        assert!(
            closed,
            "{first:?}: the proxy must close a slowloris connection"
        );
        assert!(waited >= SHORT, "{first:?}: closed after {waited:?}");
        assert!(
            !String::from_utf8_lossy(&got).contains(" 200 "),
            "{first:?}: the slow request must not be answered: {got:?}"
        );
    }
    assert_eq!(
        origin.requests(),
        2,
        "only the normal requests reached the origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_inside_intercepted_tls_is_cut_after_the_header_timeout() {
    let (_ca, origin, env) = faulty(with(|t| t.client_header = SHORT)).await;
    let t0 = Instant::now();
    let tls = env.h1_tls(&origin).await;
    let (got, closed) = slowloris(tls, "GET /ok HTTP/1.1\r\n").await;
    let waited = t0.elapsed();
    assert!(closed, "the proxy must close a slowloris TLS connection");
    assert!(waited >= SHORT, "closed after {waited:?}");
    assert!(!String::from_utf8_lossy(&got).contains(" 200 "), "{got:?}");
    // A client that completes the handshake and then says nothing is cut too.
    let mut idle = env.h1_tls(&origin).await;
    let t0 = Instant::now();
    let (_, closed) = read_until_closed(&mut idle, BOUND).await;
    assert!(closed, "a silent TLS client must be closed");
    assert!(
        t0.elapsed() >= SHORT * 9 / 10,
        "closed after {:?}",
        t0.elapsed()
    );
    assert_eq!(origin.requests(), 0);
    env.still_serves(&origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_are_refused_or_closed_and_never_reach_the_origin_as_http() {
    let (_ca, origin, env) = faulty(relaxed()).await;
    // Garbage instead of a request line: 400, then the connection closes.
    let mut tcp = TcpStream::connect(env.proxy.addr()).await.unwrap();
    tcp.write_all(b"\x00\x01\x02garbage \xff\xfe\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = read_until_closed(&mut tcp, BOUND).await;
    assert!(closed);
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");

    // A bogus TLS record after CONNECT: the interception fails, the tunnel
    // is closed, and the origin is never contacted.
    let mut tunnel = env.tunnel(&origin).await;
    tunnel
        .write_all(b"\x16\x03\x01\x00\x10this is not a ClientHello at all")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut tunnel, BOUND).await;
    assert!(closed, "a bogus handshake must close the tunnel");
    assert_eq!(origin.connections(), 0, "the origin is not contacted");

    // Non-TLS bytes after CONNECT are, by design, tunneled untouched (like
    // any non-TLS protocol): the HTTPS origin rejects them, and no HTTP
    // request reaches it.
    let mut tunnel = env.tunnel(&origin).await;
    tunnel.write_all(b"GARBAGE\r\n\r\n\x00\x01").await.unwrap();
    let (_, closed) = read_until_closed(&mut tunnel, BOUND).await;
    assert!(
        closed,
        "the origin's TLS rejects the garbage and the tunnel ends"
    );
    assert_eq!(origin.handshakes(), 0);
    assert_eq!(origin.requests(), 0);

    env.still_serves(&origin).await;
    assert_eq!(origin.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_client_hello_is_closed_after_the_tls_timeout_without_reaching_the_origin() {
    let (_ca, origin, env) = faulty(with(|t| t.client_tls = SHORT)).await;
    // A real ClientHello, cut in half.
    let cfg = client_tls([env.ca_der()], &[b"http/1.1"]);
    let mut conn =
        rustls::ClientConnection::new(cfg, ServerName::try_from(HOST.to_string()).unwrap())
            .unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    let mut tunnel = env.tunnel(&origin).await;
    let t0 = Instant::now();
    tunnel.write_all(&hello[..hello.len() / 2]).await.unwrap();
    let (got, closed) = read_until_closed(&mut tunnel, BOUND).await;
    let waited = t0.elapsed();
    assert!(
        closed,
        "the proxy must close a tunnel whose handshake never completes"
    );
    assert!(
        waited >= SHORT,
        "closed after {waited:?}, before the TLS timeout"
    );
    assert!(
        got.is_empty(),
        "no ServerHello for half a ClientHello: {got:?}"
    );
    assert_eq!(origin.connections(), 0, "the origin is not contacted");
    env.still_serves(&origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_over_the_limit_get_431_on_the_listener_and_inside_tls() {
    const LIMIT: usize = 16 * 1024;
    let (_ca, origin, env) = faulty_with(relaxed(), |b| b.max_header_bytes(LIMIT)).await;
    let port = origin.port();
    let big = "a".repeat(LIMIT + 1024);
    // Plain listener: an absolute-form request and a CONNECT.
    for head in [
        format!("GET http://{HOST}:{port}/ok HTTP/1.1\r\nHost: {HOST}\r\nX-Big: {big}\r\n\r\n"),
        format!("CONNECT {HOST}:{port} HTTP/1.1\r\nX-Big: {big}\r\n\r\n"),
    ] {
        let mut tcp = TcpStream::connect(env.proxy.addr()).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        let (got, _) = read_until_closed(&mut tcp, BOUND).await;
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 431"), "{}: {got}", &head[..8]);
    }
    // Inside intercepted TLS, HTTP/1.1 (hyper): over the limit 431, under 200.
    for (value, want) in [(big.clone(), 431), ("a".repeat(LIMIT / 2), 200)] {
        let mut s = env.sender(HOST, port, false).await;
        let mut req = get(&url(HOST, port, "/ok"));
        req.headers_mut().insert("x-big", value.parse().unwrap());
        let resp = send(&mut s, req).await;
        assert_eq!(
            resp.status(),
            want,
            "a {}-byte header against a limit of {LIMIT}",
            value.len()
        );
    }
    // Inside intercepted TLS, HTTP/2 (curl): the proxy advertises the limit
    // and answers 431.
    let dir = TempDir::new().unwrap();
    let cacert = dir.path().join("proxy-ca.pem");
    std::fs::write(&cacert, env.proxy.ca().cert_pem()).unwrap();
    let header = format!("X-Big: {big}");
    let resolve = format!("{HOST}:{port}:127.0.0.1");
    let (ok, out, err) = curl_via(
        &env.proxy_url(),
        cacert.to_str().unwrap(),
        &[
            "--http2",
            "-H",
            &header,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
            "--resolve",
            &resolve,
            &url(HOST, port, "/ok"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "431 2", "{err}");
    assert_eq!(
        origin.requests(),
        1,
        "only the request under the limit arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_refused_host_gets_403_and_the_origin_sees_no_connection() {
    let test_ca = TestCa::new("faults");
    let origin = start_fault_origin(Some(http1_only(
        test_ca.server_config(&["denied.test", "unlisted.test"]),
    )))
    .await;
    let port = origin.port();
    let rules = vec![rule("denied.test", port), rule("unlisted.test", port)];
    let deny = Env::start(&test_ca, rules.clone(), relaxed(), |b| {
        b.deny_hosts(vec!["denied.*".into()])
    })
    .await;
    let refused = connect_refused(deny.proxy.addr(), &format!("denied.test:{port}")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let allow = Env::start(&test_ca, rules, relaxed(), |b| {
        b.allow_hosts(vec!["*.example".into()])
    })
    .await;
    let refused = connect_refused(allow.proxy.addr(), &format!("unlisted.test:{port}")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert_eq!(origin.connections(), 0, "a refused host is never contacted");
    assert_eq!(deny.proxy.stats().refused.get("denied.test"), Some(&1));
    assert_eq!(allow.proxy.stats().refused.get("unlisted.test"), Some(&1));
}

/// Requests `https://host:port/ok` through a proxy that trusts `test_ca`
/// upstream, from an origin serving `cfg`, and asserts the refusal: a 502
/// whose page carries its reason, names `host` and `says` why, and an origin
/// that got neither a request nor a finished handshake.
async fn refused_cert(test_ca: &TestCa, cfg: Arc<rustls::ServerConfig>, host: &str, says: &str) {
    let origin = start_fault_origin(Some(cfg)).await;
    let env = Env::start(test_ca, vec![rule(host, origin.port())], relaxed(), |b| b).await;
    let mut s = env.sender(host, origin.port(), true).await;
    let resp = send(&mut s, get(&url(host, origin.port(), "/ok"))).await;
    let status = resp.status().as_u16();
    let (reason, page) = error_page(resp).await;
    assert!(
        page.contains(&reason),
        "the page carries the reason: {page}"
    );
    assert_eq!(status, 502);
    assert!(page.contains(host), "{page}");
    assert!(page.contains(says), "{page}");
    assert_eq!(
        origin.requests(),
        0,
        "nothing is sent to an unverified origin"
    );
    assert_eq!(origin.handshakes(), 0, "the proxy aborts the handshake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_upstream_certificate_gives_a_502_that_says_expired() {
    let test_ca = TestCa::new("faults");
    let cfg = test_ca.expired_server_config(&["expired.test"]);
    refused_cert(&test_ca, cfg, "expired.test", "certificate has expired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_upstream_certificate_gives_a_502_that_says_not_trusted() {
    let test_ca = TestCa::new("faults");
    let cfg = self_signed_server_config(&["selfsigned.test"]);
    refused_cert(
        &test_ca,
        cfg,
        "selfsigned.test",
        "certificate is not trusted",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_upstream_certificate_gives_a_502_that_says_wrong_name() {
    let test_ca = TestCa::new("faults");
    // A valid certificate from a trusted CA, but for another name.
    let cfg = http1_only(test_ca.server_config(&["someone-else.test"]));
    refused_cert(
        &test_ca,
        cfg,
        "wronghost.test",
        "certificate is not valid for this host name",
    )
    .await;
}
