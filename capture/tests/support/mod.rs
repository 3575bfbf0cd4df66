//! Real parts for the capture tests: a test CA and an HTTPS upstream
//! on loopback serving pages, workers and binaries (counting requests per
//! path), the real proxy on port 0 with the trace sink and inject filter, and
//! a CONNECT + TLS hyper client (the test kit's) and curl, and the requests
//! the tests make again and again (a navigation, a subresource of the page,
//! a batch of records).
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use webinfer_capture::{CaptureOptions, Injection, SinkConfig, TraceSink};
use webinfer_injector::Injector;
use webinfer_proxy::ResolveRule;
use webinfer_proxy::{CertificateAuthority, ProxyBuilder, ProxyHandle};
use webinfer_testkit::Sender;

pub type TestBody = BoxBody<Bytes, Infallible>;

/// The host name the tests use for the upstream (resolved to loopback).
pub const HOST: &str = "app.test";

/// The HTML page at `/`.
pub const PAGE: &str = "<!doctype html><html lang=en><head><meta charset=utf-8>\
    <meta http-equiv=\"Content-Security-Policy\" content=\"connect-src https://api.other\">\
    <title>page</title><script src=/app.js></script></head><body><h1>Hello</h1>\
    <script>document.title += '!'</script></body></html>\n";

/// The page at `/csp`: its own inline script (nonce) loads an image so the
/// upstream sees that page scripts still run.
pub const CSP_PAGE: &str = "<!doctype html><html><head><title>csp</title>\
    <script src=\"/app.js\"></script>\
    <script nonce=\"n1\">new Image().src = '/inline-ran.png';</script></head><body>csp</body></html>";

/// The worker script at `/worker.js`.
pub const WORKER: &str = "'use strict';\nself.onmessage = (e) => self.postMessage(e.data);\n";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Deterministic binary bytes.
pub fn binary(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A gzip'd HTML page (served at `/gz`).
pub fn gz_page() -> String {
    let mut s = String::from("<!doctype html><html><head><title>gz</title></head><body>");
    for i in 0..2000 {
        s.push_str(&format!("<p>compressed row {i}</p>\n"));
    }
    s.push_str("</body></html>");
    s
}

/// The trace endpoint's path.
pub const TRACE: &str = "/__webinfer__/trace";

/// A whole body of `s`.
pub fn full(s: impl Into<Bytes>) -> TestBody {
    Full::new(s.into()).boxed()
}

/// Upstream routes:
/// - `/`: [`PAGE`] with a CSP header (`script-src 'self'; connect-src 'self'`);
/// - `/gz`: [`gz_page`] gzip'd, with Content-Length;
/// - `/bin`: 3 MiB of [`binary`] as `application/octet-stream`;
/// - `/bin.gz`: 64 KiB of [`binary`] gzip'd (Content-Encoding gzip);
/// - `/corrupt.gz`: [`gz_page`] gzip'd then corrupted (Content-Encoding gzip);
/// - `/worker.js`: [`WORKER`];
/// - `/models/m.onnx`: 100 KiB of [`binary`];
/// - `/cut/broken.onnx`: claims 200 KiB, sends 64 KiB of [`binary`], then
///   the connection breaks;
/// - `/csp`: [`CSP_PAGE`] under a strict CSP (`default-src 'none'`, scripts
///   by `'self'` and a nonce), loading `/app.js`;
/// - `/app.js`: starts a classic worker (`/worker.js`) and a module worker
///   (`/mworker.js`, which imports `/dep.js`);
/// - anything else: 404 text.
fn route(path: &str) -> Response<TestBody> {
    let b = Response::builder();
    match path {
        "/" => b
            .header("content-type", "text/html; charset=utf-8")
            .header(
                "content-security-policy",
                "script-src 'self'; connect-src 'self'",
            )
            .header("content-length", PAGE.len())
            .body(full(PAGE)),
        "/gz" => {
            let z = gzip(gz_page().as_bytes());
            b.header("content-type", "text/html")
                .header("content-encoding", "gzip")
                .header("content-length", z.len())
                .body(full(z))
        }
        "/bin" => b
            .header("content-type", "application/octet-stream")
            .body(full(binary(3 << 20))),
        "/bin.gz" => b
            .header("content-type", "application/octet-stream")
            .header("content-encoding", "gzip")
            .body(full(gzip(&binary(64 << 10)))),
        "/corrupt.gz" => b
            .header("content-type", "text/html")
            .header("content-encoding", "gzip")
            .body(full({
                let mut z = gzip(gz_page().as_bytes());
                let n = z.len();
                for b in z[20..n - 20].iter_mut().step_by(5) {
                    *b ^= 0x5a;
                }
                z
            })),
        "/worker.js" => b
            .header("content-type", "text/javascript")
            .body(full(WORKER)),
        "/csp" => b
            .header("content-type", "text/html; charset=utf-8")
            .header(
                "content-security-policy",
                "default-src 'none'; script-src 'self' 'nonce-n1'; img-src 'self'; worker-src 'self'",
            )
            .body(full(CSP_PAGE)),
        "/app.js" => b.header("content-type", "text/javascript").body(full(
            "new Worker('/worker.js');\nnew Worker('/mworker.js', { type: 'module' });\n",
        )),
        "/mworker.js" => b
            .header("content-type", "text/javascript")
            .header("content-security-policy", "connect-src 'none'")
            .body(full(
                "import { twice } from './dep.js';\nself.onmessage = (e) => self.postMessage(twice(e.data));\n",
            )),
        "/dep.js" => b
            .header("content-type", "text/javascript")
            .body(full("export function twice(x) { return 2 * x; }\n")),
        "/models/m.onnx" => b
            .header("content-type", "application/octet-stream")
            .body(full(binary(100 << 10))),
        "/cut/broken.onnx" => b
            .header("content-type", "application/octet-stream")
            .header("content-length", 200 << 10)
            .body(full(binary(64 << 10))),
        _ => b
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/plain")
            .body(full("not found")),
    }
    .unwrap()
}

/// A running HTTPS upstream.
pub struct Upstream {
    pub addr: SocketAddr,
    /// Request paths seen, in order.
    pub hits: Arc<Mutex<Vec<String>>>,
    pub ca_der: CertificateDer<'static>,
}

impl Upstream {
    pub fn hits_for(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

/// Starts an HTTPS upstream for [`HOST`] with a fresh test CA.
pub async fn start_upstream() -> Upstream {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sink test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![HOST.to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), issuer.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(Vec::new()));
    let hits2 = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let hits = hits2.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: Request<Incoming>| {
                    let path = req.uri().path().to_string();
                    hits.lock().unwrap().push(path.clone());
                    async move { Ok::<_, Infallible>(route(&path)) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Upstream {
        addr,
        hits,
        ca_der: issuer.der().clone(),
    }
}

/// The proxy with the sink and inject filter in front of an upstream.
pub struct Harness {
    pub upstream: Upstream,
    pub proxy: ProxyHandle,
    pub sink: Arc<TraceSink>,
    pub inject: Arc<Injection>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Starts everything with the embedded hook, through
    /// [`webinfer_capture::install`]; `tweak` adjusts the sink settings.
    pub async fn start(tweak: impl FnOnce(&mut SinkConfig)) -> Harness {
        Self::start_inner(None, tweak).await
    }

    /// Starts everything with a given injector (e.g. a test hook).
    pub async fn start_with(injector: Injector, tweak: impl FnOnce(&mut SinkConfig)) -> Harness {
        Self::start_inner(Some(injector), tweak).await
    }

    async fn start_inner(
        injector: Option<Injector>,
        tweak: impl FnOnce(&mut SinkConfig),
    ) -> Harness {
        let upstream = start_upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let ca = Arc::new(CertificateAuthority::load_or_create(&dir.path().join("ca")).unwrap());
        let mut opts = CaptureOptions::new(dir.path().join("traces"));
        tweak(&mut opts.sink);
        if let Some(injector) = injector {
            opts.injector = injector;
        }
        let port = upstream.addr.port();
        let builder = ProxyBuilder::new()
            .ca(ca)
            .listen("127.0.0.1:0".parse().unwrap())
            .upstream_roots(vec![upstream.ca_der.clone()])
            .resolve(vec![ResolveRule {
                host: HOST.into(),
                port,
                addr: upstream.addr,
            }]);
        let (builder, capture) = webinfer_capture::install(builder, &opts).unwrap();
        let (sink, inject) = (capture.sink().clone(), capture.injection().clone());
        let proxy = builder.start().await.unwrap();
        Harness {
            upstream,
            proxy,
            sink,
            inject,
            dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.upstream.addr.port()
    }

    /// `https://app.test:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.port())
    }

    /// The proxy CA certificate as a PEM file (for curl).
    pub fn ca_pem(&self) -> PathBuf {
        self.proxy.ca().cert_pem_path()
    }

    /// Opens a hyper HTTP/1.1 connection to the upstream through the proxy
    /// (the test kit's CONNECT + TLS client, trusting the proxy's CA).
    pub async fn client(&self) -> hyper::client::conn::http1::SendRequest<TestBody> {
        let ca = self.proxy.ca().cert_der().to_vec();
        match Sender::trusting(self.proxy.addr(), HOST, self.port(), &ca, false).await {
            Sender::H1(send) => send,
            Sender::H2(_) => unreachable!("only http/1.1 was offered"),
        }
    }

    /// One request on a fresh connection; returns status, headers, whole body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: TestBody,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut send = self.client().await;
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("{HOST}:{}", self.port()));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp: Response<Incoming> = send.send_request(b.body(body).unwrap()).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    /// GET on a fresh connection: the status and body, or the error that cut
    /// the exchange (before or after the response head); never waits forever.
    pub async fn get_result(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), String> {
        let mut send = self.client().await;
        let mut b = Request::builder()
            .uri(path)
            .header("host", format!("{HOST}:{}", self.port()));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let exchange = async {
            let resp = send
                .send_request(b.body(full(Bytes::new())).unwrap())
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .expect("the exchange neither ended nor failed: it hangs")
    }

    /// GET with headers.
    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        self.request("GET", path, headers, full(Bytes::new())).await
    }

    /// POST a body to `path`.
    pub async fn post(
        &self,
        path: &str,
        body: impl Into<Bytes>,
        ct: &str,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        self.request("POST", path, &[("content-type", ct)], full(body.into()))
            .await
    }

    /// GET `path` as a navigation (`sec-fetch-dest: document` and `headers`);
    /// asserts a `200` and returns the headers and the body as text.
    pub async fn get_document(&self, path: &str, headers: &[(&str, &str)]) -> (HeaderMap, String) {
        let mut hs = vec![("sec-fetch-dest", "document")];
        hs.extend_from_slice(headers);
        let (status, headers, body) = self.get(path, &hs).await;
        assert_eq!(status, 200);
        (headers, String::from_utf8(body).unwrap())
    }

    /// A session id the proxy issued: loads the page `/` through the proxy
    /// (as a navigation) and reads the sid out of the injected hook's config,
    /// as the hook does. The trace endpoint stores page records only for such
    /// ids (`sink::guard`).
    pub async fn issue_sid(&self) -> String {
        let (_, page) = self.get_document("/", &[("accept", "text/html")]).await;
        injected_sid(page.as_bytes())
    }

    /// The sid of the page `/` loaded with `sec-fetch-dest: document` alone
    /// (no status check).
    pub async fn page_sid(&self) -> String {
        let (_, _, page) = self.get("/", &[("sec-fetch-dest", "document")]).await;
        injected_sid(&page)
    }

    /// GET `path` as a subresource of the page `/` (its URL as `referer`,
    /// `sec-fetch-dest: dest`).
    pub async fn get_from_page(&self, path: &str, dest: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let referer = self.url("/");
        self.get(
            path,
            &[("sec-fetch-dest", dest), ("referer", referer.as_str())],
        )
        .await
    }

    /// POSTs `records` as one JSON array to the trace endpoint ([`TRACE`]).
    pub async fn post_batch(
        &self,
        records: &[serde_json::Value],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let batch = serde_json::Value::Array(records.to_vec()).to_string();
        self.post(TRACE, batch, "application/json").await
    }

    /// While the proxy is under a flood: GET `/missing` (a subresource);
    /// panics unless the upstream's whole `404` comes within 20 s.
    pub async fn assert_answers_other_clients(&self) {
        let r = tokio::time::timeout(
            Duration::from_secs(20),
            self.get_result("/missing", &[("sec-fetch-dest", "empty")]),
        )
        .await
        .expect("the proxy answers other clients during the flood")
        .expect("a whole answer");
        assert_eq!(r.0, StatusCode::NOT_FOUND, "the upstream's answer");
    }

    /// `n` issued session ids ([`Harness::issue_sid`]).
    pub async fn issue_sids(&self, n: usize) -> Vec<String> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.issue_sid().await);
        }
        v
    }

    /// The session file of `sid`.
    pub fn session_file(&self, sid: &str) -> PathBuf {
        self.sink.session_dir().join(format!("{sid}.jsonl"))
    }
}

/// Runs curl through the harness proxy, returning (ok, stdout bytes, stderr).
pub async fn curl(h: &Harness, args: &[&str]) -> (bool, Vec<u8>, String) {
    let proxy = format!("http://{}", h.proxy.addr());
    let ca = h.ca_pem();
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "60", "--proxy", &proxy, "--cacert"])
        .arg(&ca)
        .args(args)
        .output()
        .await
        .expect("curl is installed");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Polls `file` until `pred` holds on its lines (up to 10 s); returns the lines.
pub async fn wait_lines(
    file: &Path,
    pred: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "whole lines only in {}: {text:?}",
            file.display()
        );
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON record"))
            .collect();
        if pred(&lines) {
            return lines;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting on {}: {lines:?}",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page's own records of a session file (those without `by`; the
/// proxy's `session` and `net` records are left out).
pub fn page_lines(lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| l.get("by").is_none())
        .cloned()
        .collect()
}

/// Polls `file` until `pred` holds on the page's own records of it (those
/// without `by`); returns those records.
pub async fn wait_page_lines(
    file: &Path,
    pred: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    page_lines(&wait_lines(file, |l| pred(&page_lines(l))).await)
}

/// A valid record.
pub fn rec(sid: &str, seq: u64, kind: &str) -> serde_json::Value {
    serde_json::json!({"v": 1, "sid": sid, "seq": seq, "ts": seq as f64 * 1.5, "kind": kind})
}

/// The `sid` of the config injected into `page`.
pub fn injected_sid(page: &[u8]) -> String {
    injected_config(std::str::from_utf8(page).unwrap())["sid"]
        .as_str()
        .expect("the injected config names the sid")
        .to_owned()
}

/// The number of `net` records among `lines`.
pub fn net_count(lines: &[serde_json::Value]) -> usize {
    lines.iter().filter(|r| r["kind"] == "net").count()
}

/// Reads the config object out of an injected page.
pub fn injected_config(body: &str) -> serde_json::Value {
    let start = body
        .find("globalThis.__WEBINFER_CONFIG__ = ")
        .expect("config prefix")
        + 33;
    let end = start + body[start..].find(";\n").unwrap();
    serde_json::from_str(&body[start..end]).unwrap()
}

/// Counts of the upstream hits per path.
pub fn hit_counts(u: &Upstream) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for p in u.hits.lock().unwrap().iter() {
        *m.entry(p.clone()).or_default() += 1;
    }
    m
}
