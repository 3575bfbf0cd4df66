//! Message framing and `Connection`-listed headers across the proxy:
//! - a request with both `Content-Length` and `Transfer-Encoding: chunked`
//!   is forwarded without its `Content-Length` (RFC 9112 §6.3: chunked wins
//!   and a forwarder must remove the length), in either header order, so the
//!   origin never sees a length that disagrees with the body;
//! - end-to-end security and content headers of a response
//!   (`Content-Security-Policy`, `X-Frame-Options`, `Content-Encoding`…)
//!   survive even when the response's `Connection` header names them, while
//!   true extension hop-by-hop headers named there are still removed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use webinfer_proxy::{ProxyBuilder, ProxyHandle, ResolveRule};

/// A raw HTTP/1.1 origin (plain or TLS) that records each request exactly
/// as received (head and framed body) and answers with `response`.
struct RawOrigin {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn start_raw_origin(
    tls: Option<Arc<rustls::ServerConfig>>,
    response: &'static str,
) -> RawOrigin {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let seen = s2.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve_raw(tcp, seen, response).await,
                    Some(cfg) => {
                        if let Ok(s) = TlsAcceptor::from(cfg).accept(tcp).await {
                            serve_raw(s, seen, response).await
                        }
                    }
                }
            });
        }
    });
    RawOrigin { port, seen }
}

async fn serve_raw<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    seen: Arc<Mutex<Vec<String>>>,
    response: &'static str,
) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    // Read the head, then the body as the head frames it.
    let done = |d: &[u8]| -> bool {
        let Some(end) = d.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&d[..end]).to_ascii_lowercase();
        let body = &d[end + 4..];
        if head.contains("transfer-encoding: chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
        match head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            Some(n) => body.len() >= n,
            None => true,
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while !done(&data) {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&data).into_owned());
    let _ = s.write_all(response.as_bytes()).await;
    let _ = s.shutdown().await;
}

fn rule(host: &str, port: u16) -> ResolveRule {
    format!("{host}:{port}:127.0.0.1").parse().unwrap()
}

/// Two raw origins answering `response`, plain and TLS (`origin.test`,
/// HTTP/1.1 only, its CA trusted upstream), behind a proxy on port 0 that
/// resolves `origin.test` and `plain.test` to them.
struct Rig {
    plain: RawOrigin,
    tls: RawOrigin,
    proxy: ProxyHandle,
    /// The proxy CA's PEM file (curl's `--cacert`).
    ca_pem: PathBuf,
    _dir: TempDir,
}

impl Rig {
    async fn start(response: &'static str) -> Rig {
        let test_ca = TestCa::new("framing");
        let plain = start_raw_origin(None, response).await;
        let tls = start_raw_origin(
            Some(http1_only(test_ca.server_config(&["origin.test"]))),
            response,
        )
        .await;
        let dir = TempDir::new().unwrap();
        let ca = webinfer_testkit::proxy::ca(dir.path());
        let ca_pem = ca.cert_pem_path();
        let proxy = ProxyBuilder::new()
            .ca(ca)
            .listen("127.0.0.1:0".parse().unwrap())
            .upstream_roots(vec![test_ca.der()])
            .resolve(vec![
                rule("origin.test", tls.port),
                rule("plain.test", plain.port),
            ])
            .start()
            .await
            .unwrap();
        Rig {
            plain,
            tls,
            proxy,
            ca_pem,
            _dir: dir,
        }
    }

    fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    /// curl with `flags` through the intercepted tunnel to
    /// `https://origin.test/`: (success, stdout, stderr).
    async fn curl_https(&self, flags: &[&str]) -> (bool, String, String) {
        let proxy = self.proxy_url();
        let url = format!("https://origin.test:{}/", self.tls.port);
        let mut args = flags.to_vec();
        args.push(url.as_str());
        curl_via(&proxy, self.ca_pem.to_str().unwrap(), &args).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_is_dropped_when_transfer_encoding_is_chunked() {
    let origin = start_raw_origin(
        None,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    )
    .await;
    let dir = TempDir::new().unwrap();
    let p = webinfer_testkit::proxy::builder(dir.path())
        .start()
        .await
        .unwrap();
    let port = origin.port;
    let body = "b\r\nhello world\r\n0\r\n\r\n";
    for head in [
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
    ] {
        let mut tcp = TcpStream::connect(p.addr()).await.unwrap();
        let req = format!(
            "POST http://127.0.0.1:{port}/up HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}\r\n\
             Connection: close\r\n\r\n{body}"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let (resp, _) = read_until_closed(&mut tcp, Duration::from_secs(20)).await;
        let resp = String::from_utf8_lossy(&resp).into_owned();
        assert!(resp.starts_with("HTTP/1.1 200"), "{head:?}: {resp}");
    }
    let seen = origin.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    for got in seen {
        let lower = got.to_ascii_lowercase();
        let (head, body) = lower.split_once("\r\n\r\n").unwrap();
        assert!(
            !head.contains("content-length"),
            "the origin got a Content-Length next to the chunked body: {got}"
        );
        assert!(head.contains("transfer-encoding: chunked"), "{got}");
        // The whole chunked body, decoded, is `hello world`.
        let decoded: String = body
            .split("\r\n")
            .collect::<Vec<_>>()
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| c[1])
            .collect();
        assert_eq!(decoded, "hello world", "{got}");
    }
}

const HOSTILE_RESPONSE: &str = "HTTP/1.1 200 OK\r\n\
Content-Type: text/html\r\n\
Content-Security-Policy: default-src 'none'\r\n\
Content-Security-Policy-Report-Only: script-src 'none'\r\n\
X-Frame-Options: DENY\r\n\
X-Content-Type-Options: nosniff\r\n\
Strict-Transport-Security: max-age=600\r\n\
Cross-Origin-Opener-Policy: same-origin\r\n\
Cross-Origin-Embedder-Policy: require-corp\r\n\
Referrer-Policy: no-referrer\r\n\
Content-Encoding: identity\r\n\
X-Hop: 1\r\n\
Connection: close, Content-Security-Policy, content-security-policy-report-only, \
X-Frame-Options, x-content-type-options, Strict-Transport-Security, \
Cross-Origin-Opener-Policy, Cross-Origin-Embedder-Policy, Referrer-Policy, \
Content-Type, Content-Encoding, X-Hop\r\n\
Content-Length: 5\r\n\r\nhello";

const KEPT: &[(&str, &str)] = &[
    ("content-type", "text/html"),
    ("content-security-policy", "default-src 'none'"),
    ("content-security-policy-report-only", "script-src 'none'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("strict-transport-security", "max-age=600"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("referrer-policy", "no-referrer"),
    ("content-encoding", "identity"),
];

fn check_headers(out: &str, what: &str) {
    let lower = out.to_ascii_lowercase();
    let head = lower.split("\r\n\r\n").next().unwrap_or("");
    for (name, value) in KEPT {
        let line = format!("{name}: {}", value.to_ascii_lowercase());
        assert!(
            head.lines().any(|l| l.trim() == line),
            "{what}: {name} was stripped: {out}"
        );
    }
    assert!(
        !head.contains("x-hop"),
        "{what}: a Connection-listed extension header survived: {out}"
    );
    assert!(out.ends_with("hello"), "{what}: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_named_in_connection_are_kept() {
    let rig = Rig::start(HOSTILE_RESPONSE).await;
    let (ok, out, err) = curl(&[
        "-i",
        "-x",
        &rig.proxy_url(),
        &format!("http://plain.test:{}/", rig.plain.port),
    ])
    .await;
    assert!(ok, "{err}");
    check_headers(&out, "plain HTTP");
    for flag in ["--http1.1", "--http2"] {
        let (ok, out, err) = rig
            .curl_https(&["-i", "--suppress-connect-headers", flag])
            .await;
        assert!(ok, "{err}");
        check_headers(&out, &format!("HTTPS {flag}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_with_both_lengths_reaches_the_client_whole_and_chunked() {
    const BOTH: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\nb\r\nhello world\r\n0\r\n\r\n";
    let rig = Rig::start(BOTH).await;
    // Plain HTTP, raw: the head the client gets and the bytes after it.
    let mut tcp = TcpStream::connect(rig.proxy.addr()).await.unwrap();
    let port = rig.plain.port;
    tcp.write_all(
        format!(
            "GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Connection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (resp, _) = read_until_closed(&mut tcp, Duration::from_secs(20)).await;
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "a Content-Length that disagrees with the body reached the client: {resp}"
    );
    // Chunked (hyper writes the size in upper-case hex), all 11 bytes.
    assert_eq!(
        body.to_ascii_lowercase(),
        "b\r\nhello world\r\n0\r\n\r\n",
        "{resp}"
    );
    // HTTPS through the intercepted tunnel, HTTP/1.1 and HTTP/2.
    for flag in ["--http1.1", "--http2"] {
        let (ok, out, err) = rig.curl_https(&[flag]).await;
        assert!(ok, "{flag}: {err}");
        assert_eq!(out, "hello world", "{flag}");
    }
}
