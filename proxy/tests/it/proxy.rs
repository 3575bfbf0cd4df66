//! End-to-end tests of the proxy with real parts: HTTPS upstreams on
//! loopback (their own rcgen CA, passed as an upstream root), the proxy on
//! port 0, and real clients (hyper over CONNECT + TLS, curl, tungstenite).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webinfer_proxy::{
    full, Body, Exchange, Handler, ProxyBuilder, ProxyHandle, RequestContext, RequestOutcome,
    ResolveRule,
};

/// What a filter saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    scheme: &'static str,
    host: String,
    port: u16,
    uri: String,
    version: http::Version,
}

/// A filter that records everything, answers `/__local__` itself and marks
/// forwarded responses with `x-filtered: 1`.
#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<Seen>>,
    exchanges: Mutex<Vec<Exchange>>,
}

impl Handler for Recorder {
    type Ctx = ();

    fn new_ctx(&self) {}

    async fn on_request(
        &self,
        info: &RequestContext,
        _ctx: &mut (),
        req: Request<Body>,
    ) -> RequestOutcome {
        self.requests.lock().unwrap().push(Seen {
            scheme: info.scheme.as_str(),
            host: info.host.clone(),
            port: info.port,
            uri: info.uri.to_string(),
            version: info.client_version,
        });
        if info.uri.path() == "/__local__" {
            let resp = Response::builder()
                .header("content-type", "text/plain")
                .body(full("answered locally"))
                .unwrap();
            return RequestOutcome::Respond(resp);
        }
        RequestOutcome::Forward(req)
    }

    fn on_response(
        &self,
        _info: &RequestContext,
        _ctx: &mut (),
        mut resp: Response<Body>,
    ) -> Response<Body> {
        resp.headers_mut()
            .insert("x-filtered", http::HeaderValue::from_static("1"));
        resp
    }

    fn on_complete(&self, _info: &RequestContext, _ctx: &mut (), ex: &Exchange) {
        self.exchanges.lock().unwrap().push(ex.clone());
    }
}

impl Recorder {
    /// Waits (briefly) for an exchange whose URL ends with `suffix`.
    async fn exchange(&self, suffix: &str) -> Exchange {
        for _ in 0..200 {
            if let Some(e) = self
                .exchanges
                .lock()
                .unwrap()
                .iter()
                .find(|e| e.url.ends_with(suffix))
            {
                return e.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no exchange for {suffix}");
    }
}

struct Env {
    dir: TempDir,
    _test_ca: TestCa,
    https: Upstream,
    plain: Upstream,
    proxy: ProxyHandle,
    proxy_ca_pem: PathBuf,
    recorder: Arc<Recorder>,
}

impl Env {
    async fn start(configure: impl FnOnce(ProxyBuilder, &Upstream) -> ProxyBuilder) -> Env {
        let dir = TempDir::new().unwrap();
        let test_ca = TestCa::new("upstream");
        let https =
            start_upstream(Some(test_ca.server_config(&["upstream.test", "127.0.0.1"]))).await;
        let plain = start_upstream(None).await;
        let ca = webinfer_testkit::proxy::ca(dir.path());
        let recorder = Arc::new(Recorder::default());
        let rules = vec![
            rule("upstream.test", https.port()),
            rule("plain.test", plain.port()),
        ];
        let builder = ProxyBuilder::new()
            .ca(ca.clone())
            .listen("127.0.0.1:0".parse().unwrap())
            .upstream_roots(vec![test_ca.der()])
            .resolve(rules);
        let proxy = configure(builder, &https)
            .handler(recorder.clone())
            .start()
            .await
            .unwrap();
        let proxy_ca_pem = ca.cert_pem_path();
        Env {
            dir,
            _test_ca: test_ca,
            https,
            plain,
            proxy,
            proxy_ca_pem,
            recorder,
        }
    }

    fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    fn ca_der(&self) -> Vec<u8> {
        self.proxy.ca().cert_der().to_vec()
    }

    fn https_url(&self, path: &str) -> String {
        format!("https://upstream.test:{}{path}", self.https.port())
    }

    /// The proxy CA's PEM file, as curl's `--cacert` takes it.
    fn cacert(&self) -> String {
        self.proxy_ca_pem.to_str().unwrap().to_string()
    }

    /// A hyper client inside an intercepted tunnel to the HTTPS upstream.
    async fn sender(&self, h2: bool) -> Sender {
        let der = self.ca_der();
        Sender::trusting(
            self.proxy.addr(),
            "upstream.test",
            self.https.port(),
            &der,
            h2,
        )
        .await
    }
}

fn rule(host: &str, port: u16) -> ResolveRule {
    format!("{host}:{port}:127.0.0.1").parse().unwrap()
}

fn get(uri: &str) -> Request<TestBody> {
    Request::get(uri)
        .body(http_body_util::Empty::new().map_err(|e| match e {}).boxed())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_https_over_http1_and_http2_strips_alt_svc() {
    let env = Env::start(|b, _| b).await;
    let proxy = env.proxy_url();
    let cacert = env.cacert();
    for (flag, want) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let url = env.https_url("/hello");
        let (ok, out, err) = curl_via(
            &proxy,
            &cacert,
            &[flag, "-D", "-", "-w", "\nversion=%{http_version}", &url],
        )
        .await;
        assert!(ok, "curl {flag} failed: {err}");
        assert!(
            out.contains("\nhello\nversion=") || out.contains("\r\nhello\nversion="),
            "{out}"
        );
        assert!(out.ends_with(&format!("version={want}")), "{flag}: {out}");
        let lower = out.to_ascii_lowercase();
        assert!(
            !lower.contains("alt-svc"),
            "Alt-Svc must be stripped: {out}"
        );
        assert!(lower.contains("x-filtered: 1"), "{out}");
    }
    // The upstream was reached over HTTP/2 (ALPN towards the origin).
    let url = env.https_url("/headers");
    let (ok, out, err) = curl_via(&proxy, &cacert, &[&url]).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("version: HTTP/2.0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_client_keeps_alive_over_h1_and_h2_tunnels() {
    let env = Env::start(|b, _| b).await;
    for h2 in [false, true] {
        let mut sender = env.sender(h2).await;
        for _ in 0..3 {
            let resp = sender.send(get(&env.https_url("/hello"))).await.unwrap();
            assert_eq!(resp.status(), 200);
            assert!(resp.headers().get("alt-svc").is_none());
            assert_eq!(text(resp).await, "hello");
        }
    }
    let seen = env.recorder.requests.lock().unwrap().clone();
    assert_eq!(seen.len(), 6);
    assert!(seen.iter().all(|s| s.scheme == "https"
        && s.host == "upstream.test"
        && s.port == env.https.port()
        && s.uri == env.https_url("/hello")));
    assert_eq!(seen[0].version, http::Version::HTTP_11);
    assert_eq!(seen[5].version, http::Version::HTTP_2);
    // Keep-alive and pooling: far fewer upstream connections than requests.
    assert!(env.https.connections() <= 2, "{}", env.https.connections());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_proxied_and_hop_by_hop_headers_are_dropped() {
    let env = Env::start(|b, _| b).await;
    let url = format!("http://plain.test:{}/headers", env.plain.port());
    let (ok, out, err) = curl(&[
        "-x",
        &env.proxy_url(),
        "-H",
        "Connection: keep-alive, X-Secret",
        "-H",
        "X-Secret: 1",
        "-H",
        "Proxy-Authorization: Basic eDp5",
        "-H",
        "Keep-Alive: timeout=5",
        "-H",
        "X-Kept: yes",
        &url,
    ])
    .await;
    assert!(ok, "{err}");
    let lower = out.to_ascii_lowercase();
    assert!(lower.contains("x-kept: yes"), "{out}");
    assert!(
        lower.contains(&format!("host: plain.test:{}", env.plain.port())),
        "{out}"
    );
    for gone in [
        "x-secret",
        "proxy-authorization",
        "keep-alive",
        "proxy-connection",
    ] {
        assert!(
            !lower.contains(gone),
            "{gone} must not reach upstream: {out}"
        );
    }
    let seen = env.recorder.requests.lock().unwrap().clone();
    assert_eq!(seen[0].scheme, "http");
    assert_eq!(seen[0].host, "plain.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_passes_through_interception() {
    let env = Env::start(|b, _| b).await;
    let tls = tls_through_proxy(
        env.proxy.addr(),
        "upstream.test",
        env.https.port(),
        &env.ca_der(),
        &[b"http/1.1"],
    )
    .await
    .unwrap();
    let url = format!("wss://upstream.test:{}/ws", env.https.port());
    let (mut ws, resp) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    assert_eq!(resp.status(), 101);
    use tokio_tungstenite::tungstenite::Message;
    for i in 0..5 {
        let msg = format!("ping {i}");
        ws.send(Message::text(msg.clone())).await.unwrap();
        let back = ws.next().await.unwrap().unwrap();
        assert_eq!(back.into_text().unwrap().as_str(), msg);
    }
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    let back = ws.next().await.unwrap().unwrap();
    assert_eq!(back.into_data().to_vec(), blob);
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_download_and_a_50_mb_upload_stream_intact() {
    let env = Env::start(|b, _| b).await;
    const DOWN: u64 = 200 * 1024 * 1024;
    const UP: u64 = 50 * 1024 * 1024;
    let expected_down = tokio::task::spawn_blocking(|| stream_sha256(42, DOWN));
    let expected_up = tokio::task::spawn_blocking(|| stream_sha256(9, UP));
    let mut sender = env.sender(false).await;
    let resp = sender
        .send(get(&env.https_url(&format!("/big?n={DOWN}&seed=42"))))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (n, sha) = hash_body(resp).await;
    assert_eq!(n, DOWN);
    assert_eq!(sha, expected_down.await.unwrap());
    let ex = env.recorder.exchange("/big?n=209715200&seed=42").await;
    assert_eq!(ex.bytes, DOWN);
    assert!(ex.error.is_none(), "{:?}", ex.error);

    let req = Request::post(env.https_url("/upload"))
        .body(stream_body(9, UP, None))
        .unwrap();
    let resp = sender.send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = text(resp).await;
    assert_eq!(body, format!("{UP} {}", expected_up.await.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_upstream_certificate_gives_an_explained_502() {
    let other_ca = TestCa::new("untrusted");
    let rogue = start_upstream(Some(other_ca.server_config(&["rogue.test"]))).await;
    let port = rogue.port();
    let env = Env::start(move |b, _| b.resolve(vec![rule("rogue.test", port)])).await;
    let url = format!("https://rogue.test:{}/hello", rogue.port());
    let cacert = env.cacert();
    let (ok, out, err) = curl_via(&env.proxy_url(), &cacert, &["-D", "-", &url]).await;
    assert!(ok, "{err}");
    // curl prints the CONNECT answer first, then the intercepted response.
    assert!(out.contains("\nHTTP/2 502"), "{out}");
    assert!(out.contains("rogue.test"), "{out}");
    assert!(
        out.contains("certificate is not trusted: UnknownIssuer"),
        "{out}"
    );
    assert_eq!(
        rogue.requests(),
        0,
        "no request may reach an unverified server"
    );
    let ex = env.recorder.exchange("/hello").await;
    assert_eq!(ex.status, 502);
    assert!(ex.error.unwrap().contains("UnknownIssuer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_unlisted_hosts_get_403_and_are_never_contacted() {
    let denied = start_upstream(Some(TestCa::new("d").server_config(&["denied.test"]))).await;
    let denied_plain = start_upstream(None).await;
    let (dp, dpp) = (denied.port(), denied_plain.port());
    let env = Env::start(move |b, _| {
        b.resolve(vec![rule("denied.test", dp), rule("denied.test", dpp)])
            .deny_hosts(vec!["denied.*".into()])
    })
    .await;
    // CONNECT is refused before any tunnel exists.
    let refused = connect_refused(env.proxy.addr(), &format!("denied.test:{dp}")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    // curl sees the refusal too.
    let cacert = env.cacert();
    let url = format!("https://denied.test:{dp}/hello");
    let (ok, _, err) = curl_via(&env.proxy_url(), &cacert, &[&url]).await;
    assert!(!ok && err.contains("403"), "{err}");
    // Plain HTTP gets the explanatory page.
    let url = format!("http://denied.test:{dpp}/hello");
    let (ok, out, err) = curl(&["-x", &env.proxy_url(), "-D", "-", &url]).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(
        out.contains("denied.test") && out.contains("--deny-host denied.*"),
        "{out}"
    );
    assert_eq!(denied.connections(), 0);
    assert_eq!(denied_plain.connections(), 0);
    let stats = env.proxy.stats();
    assert_eq!(stats.refused.get("denied.test"), Some(&3));
    assert_eq!(stats.refused_total(), 3);

    // With an allow list, anything else is refused and untouched.
    let other = start_upstream(None).await;
    let op = other.port();
    let allow_env = Env::start(move |b, _| {
        b.resolve(vec![rule("other.test", op)])
            .allow_hosts(vec!["*.upstream.test".into()])
    })
    .await;
    let (ok, out, _) = curl(&[
        "-x",
        &allow_env.proxy_url(),
        "-D",
        "-",
        &format!("http://other.test:{op}/hello"),
    ])
    .await;
    assert!(ok);
    assert!(
        out.starts_with("HTTP/1.1 403") && out.contains("no --allow-host"),
        "{out}"
    );
    assert_eq!(other.connections(), 0);
    let mut sender = allow_env.sender(true).await;
    let resp = sender
        .send(get(&allow_env.https_url("/hello")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "*.upstream.test covers upstream.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_tls_connect_traffic_is_tunneled_untouched() {
    let echo = start_echo().await;
    let port = echo.port();
    let env = Env::start(move |b, _| b.resolve(vec![rule("echo.test", port)])).await;
    let mut tunnel = connect_tunnel(env.proxy.addr(), &format!("echo.test:{port}"))
        .await
        .unwrap();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let (mut r, mut w) = tunnel.split();
    let write = async {
        w.write_all(b"PING not tls\r\n").await.unwrap();
        w.write_all(&payload).await.unwrap();
    };
    let mut got = vec![0u8; 14 + payload.len()];
    let read = r.read_exact(&mut got);
    let (_, n) = tokio::join!(write, read);
    n.unwrap();
    assert_eq!(&got[..14], b"PING not tls\r\n");
    assert_eq!(&got[14..], &payload[..]);
    assert_eq!(echo.connections(), 1);
    assert_eq!(env.proxy.stats().tunnels, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_answer_locally_without_forwarding_for_every_flavour() {
    let env = Env::start(|b, _| b).await;
    // Intercepted HTTPS over h2 and h1.
    for h2 in [true, false] {
        let mut s = env.sender(h2).await;
        let resp = s.send(get(&env.https_url("/__local__"))).await.unwrap();
        assert!(resp.headers().get("x-filtered").is_none());
        assert_eq!(text(resp).await, "answered locally");
    }
    // Plain HTTP.
    let url = format!("http://plain.test:{}/__local__", env.plain.port());
    let (ok, out, _) = curl(&["-x", &env.proxy_url(), &url]).await;
    assert!(ok);
    assert_eq!(out, "answered locally");
    assert_eq!(env.https.requests(), 0, "local answers never go upstream");
    assert_eq!(env.plain.requests(), 0);
    assert_eq!(env.plain.connections(), 0);
    let ex = env
        .recorder
        .exchange(&format!("plain.test:{}/__local__", env.plain.port()))
        .await;
    assert!(!ex.forwarded);
    assert_eq!(ex.status, 200);
    assert_eq!(ex.bytes, "answered locally".len() as u64);
    let seen = env.recorder.requests.lock().unwrap().clone();
    let schemes: Vec<_> = seen.iter().map(|s| (s.scheme, s.version)).collect();
    assert_eq!(
        schemes,
        vec![
            ("https", http::Version::HTTP_2),
            ("https", http::Version::HTTP_11),
            ("http", http::Version::HTTP_11)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magic_host_serves_the_ca_and_install_page() {
    let env = Env::start(|b, _| b).await;
    let proxy = env.proxy_url();
    let (ok, page, err) = curl(&["-x", &proxy, "http://webinfer.ca/"]).await;
    assert!(ok, "{err}");
    for needle in [
        "update-ca-certificates",
        "update-ca-trust",
        "security add-trusted-cert",
        "certutil -addstore",
        "certutil -A",
        &env.proxy.ca().fingerprint_sha256(),
        &env.proxy.ca().leaf_spki_pin(),
    ] {
        assert!(page.contains(needle), "install page lacks {needle}");
    }
    let cacert = env.cacert();
    let (ok, pem, err) = curl_via(&proxy, &cacert, &["https://webinfer.ca/webinfer-ca.pem"]).await;
    assert!(ok, "{err}");
    assert_eq!(pem, env.proxy.ca().cert_pem());
    let out = env.dir.path().join("ca.der");
    let (ok, _, err) = curl(&[
        "-x",
        &proxy,
        "-o",
        out.to_str().unwrap(),
        "http://webinfer.ca/webinfer-ca.der",
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(out).unwrap(), env.proxy.ca().cert_der());
    assert_eq!(
        env.proxy.stats().forwarded,
        0,
        "the magic host is never forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_listening() {
    let env = Env::start(|b, _| b).await;
    let addr = env.proxy.addr();
    assert_ne!(addr.port(), 0);
    let (ok, _, _) = curl(&["-x", &env.proxy_url(), "http://webinfer.ca/"]).await;
    assert!(ok);
    let Env { proxy, .. } = env;
    tokio::time::timeout(Duration::from_secs(10), proxy.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let _ = Bytes::new();
}

/// (issue 19) The upstream pool: requests to one origin, one after another,
/// from several client connections in turn (each a new CONNECT and TLS
/// handshake, HTTP/1.1 and HTTP/2 clients alternately), all travel on ONE
/// upstream connection, for an HTTP/2 origin and for an HTTP/1.1-only one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_to_one_origin_share_one_upstream_connection() {
    let dir = TempDir::new().unwrap();
    let test_ca = TestCa::new("upstream");
    let h2_origin =
        start_upstream(Some(test_ca.server_config(&["upstream.test", "127.0.0.1"]))).await;
    let h1_origin = start_upstream(Some(http1_only(test_ca.server_config(&["h1.test"])))).await;
    let ca = webinfer_testkit::proxy::ca(dir.path());
    let proxy = ProxyBuilder::new()
        .ca(ca.clone())
        .listen("127.0.0.1:0".parse().unwrap())
        .upstream_roots(vec![test_ca.der()])
        .resolve(vec![
            rule("upstream.test", h2_origin.port()),
            rule("h1.test", h1_origin.port()),
        ])
        .start()
        .await
        .unwrap();
    let ca_der = ca.cert_der().to_vec();
    for (host, origin) in [("upstream.test", &h2_origin), ("h1.test", &h1_origin)] {
        let url = format!("https://{host}:{}/hello", origin.port());
        for i in 0..6 {
            let mut sender =
                Sender::trusting(proxy.addr(), host, origin.port(), &ca_der, i % 2 == 1).await;
            for _ in 0..5 {
                let resp = sender.send(get(&url)).await.unwrap();
                assert_eq!(resp.status(), 200, "{host}");
                assert_eq!(text(resp).await, "hello");
            }
        }
        assert_eq!(origin.requests(), 30, "{host}");
        assert_eq!(
            origin.connections(),
            1,
            "{host}: 30 sequential requests must share one upstream connection"
        );
    }
    proxy.shutdown().await;
}

/// (issue 19) Inside a tunnel the Host is compared with the CONNECT host
/// without parsing when it is spelled the same (with or without the port),
/// and parsed and normalised otherwise: other spellings of the tunnel host
/// are forwarded to it, other hosts (including ones that merely start with
/// the tunnel host's name) are refused and never reach an origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_requests_name_the_tunnel_host_in_any_spelling_or_are_refused() {
    let env = Env::start(|b, _| b).await;
    let port = env.https.port();
    let mut sender = env.sender(false).await;
    let with_host = |host: &str, path: &str| {
        Request::get(path)
            .header("host", host)
            .body(http_body_util::Empty::new().map_err(|e| match e {}).boxed())
            .unwrap()
    };
    for (i, host) in [
        format!("upstream.test:{port}"),
        "upstream.test".to_string(),
        format!("UPSTREAM.Test.:{port}"),
    ]
    .iter()
    .enumerate()
    {
        let resp = sender
            .send(with_host(host, &format!("/hello?{i}")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "Host: {host}");
        assert_eq!(text(resp).await, "hello");
    }
    for host in ["other.test", "upstream.test.evil.test", "upstream.testx:1"] {
        let resp = sender.send(with_host(host, "/hello")).await.unwrap();
        assert_eq!(resp.status(), 400, "Host: {host}");
        let body = text(resp).await;
        assert!(body.contains("is not forwarded"), "Host: {host}: {body}");
    }
    assert_eq!(env.https.requests(), 3);
    let seen = env.recorder.requests.lock().unwrap().clone();
    let uris: Vec<String> = seen.iter().map(|s| s.uri.clone()).collect();
    assert_eq!(
        uris,
        (0..3)
            .map(|i| env.https_url(&format!("/hello?{i}")))
            .collect::<Vec<_>>()
    );
}
