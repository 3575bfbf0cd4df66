//! `--deny-host` / `--allow-host` hold against every other spelling of an
//! address or a name: numeric IPv4 forms (`127.1`, `2130706433`, `0x7f.1`,
//! octal), IPv4-mapped IPv6, the unspecified address (which the kernel
//! routes to loopback), a DNS or `--resolve` name that resolves to a denied
//! address, letter case, a trailing dot and IDNA (Unicode vs. `xn--`). Each
//! case must get a 403 and the origin must see no connection at all.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webinfer_proxy::ResolveRule;
use webinfer_proxy::{ProxyBuilder, ProxyHandle};
use webinfer_testkit::hosts::LOOPBACK_V4_SPELLINGS;

async fn proxy(dir: &TempDir, configure: impl FnOnce(ProxyBuilder) -> ProxyBuilder) -> ProxyHandle {
    let b = webinfer_testkit::proxy::builder(dir.path());
    configure(b).start().await.unwrap()
}

/// Sends a raw request head and returns the whole response (the proxy
/// answers `Connection: close`d requests and closes).
async fn raw(proxy: SocketAddr, head: &str) -> String {
    let mut tcp = TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get_via(proxy: SocketAddr, host: &str, port: u16) -> String {
    raw(
        proxy,
        &format!(
            "GET http://{host}:{port}/hello HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

/// A CONNECT to `host:port`; if the tunnel opens, sends a plain HTTP request
/// through it (a raw tunnel to the origin) and returns what came back.
async fn connect_via(proxy: SocketAddr, host: &str, port: u16) -> String {
    match connect_tunnel(proxy, &format!("{host}:{port}")).await {
        Err(webinfer_testkit::Error::Refused(status)) => status,
        Err(e) => panic!("CONNECT {host}:{port}: {e}"),
        Ok(mut tcp) => {
            let _ = tcp
                .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut out)).await;
            format!("tunnel: {}", String::from_utf8_lossy(&out))
        }
    }
}

fn status(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_spellings_of_a_denied_ipv4_address_are_refused() {
    let origin = start_upstream(None).await;
    let port = origin.port();
    let dir = TempDir::new().unwrap();
    let rule: ResolveRule = format!("sneaky.test:{port}:127.0.0.1").parse().unwrap();
    let p = proxy(&dir, |b| {
        b.deny_hosts(vec!["127.0.0.1".into()]).resolve(vec![rule])
    })
    .await;
    let others = [
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "0.0.0.0",
        "0",
        "localhost",
        "LocalHost.",
        "sneaky.test",
        "SNEAKY.test.",
    ];
    let spellings = LOOPBACK_V4_SPELLINGS.iter().chain(&others);
    let mut failures = Vec::new();
    for &host in spellings {
        let got = get_via(p.addr(), host, port).await;
        if !status(&got).starts_with("HTTP/1.1 403") {
            failures.push(format!("GET {host}: {}", status(&got)));
        } else if !got.contains("--deny-host 127.0.0.1") {
            failures.push(format!("GET {host}: 403 without naming the rule: {got}"));
        }
        let got = connect_via(p.addr(), host, port).await;
        if got.contains("200 OK") || got.contains("hello") {
            failures.push(format!("CONNECT {host}: reached the origin: {got}"));
        }
    }
    assert_eq!(
        origin.connections(),
        0,
        "the denied origin was contacted; failures: {failures:#?}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cidr_and_ipv6_rules_match_every_spelling_and_the_unspecified_address() {
    // An origin on 127.0.0.2 (denied by a CIDR rule) and one on ::1.
    let l4 = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let l6 = TcpListener::bind("[::1]:0").await.unwrap();
    let (p4, p6) = (
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
    );
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for l in [l4, l6] {
        let hits = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                    .await;
            }
        });
    }
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, |b| {
        b.deny_hosts(vec!["127.0.0.0/8".into(), "::1".into()])
    })
    .await;
    let mut failures = Vec::new();
    for (host, port) in [
        ("127.0.0.2", p4),
        ("127.2", p4),
        ("0x7f000002", p4),
        ("[::ffff:127.0.0.2]", p4),
        ("[::1]", p6),
        ("[0:0:0:0:0:0:0:1]", p6),
        ("[0000::0001]", p6),
        ("[::]", p6),
    ] {
        let got = get_via(p.addr(), host, port).await;
        if !status(&got).starts_with("HTTP/1.1 403") {
            failures.push(format!("GET {host}: {}", status(&got)));
        }
        let got = connect_via(p.addr(), host, port).await;
        if got.contains("hello") {
            failures.push(format!("CONNECT {host}: reached the origin"));
        }
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{failures:#?}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_normalised_case_trailing_dot_and_idna() {
    let origin = start_upstream(None).await;
    let port = origin.port();
    let rules: Vec<ResolveRule> = ["denied.test", "xn--bcher-kva.test", "ok.test"]
        .iter()
        .map(|h| format!("{h}:{port}:127.0.0.1").parse().unwrap())
        .collect();
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, |b| {
        b.deny_hosts(vec!["Denied.Test.".into(), "BÜCHER.test".into()])
            .resolve(rules)
    })
    .await;
    let mut failures = Vec::new();
    for host in [
        "denied.test",
        "DENIED.TEST",
        "denied.test.",
        "xn--bcher-kva.test",
        "XN--BCHER-KVA.TEST.",
    ] {
        let got = get_via(p.addr(), host, port).await;
        if !status(&got).starts_with("HTTP/1.1 403") {
            failures.push(format!("GET {host}: {}", status(&got)));
        }
        let got = connect_via(p.addr(), host, port).await;
        if !got.starts_with("HTTP/1.1 403") {
            failures.push(format!("CONNECT {host}: {got}"));
        }
    }
    assert_eq!(origin.connections(), 0, "{failures:#?}");
    assert!(failures.is_empty(), "{failures:#?}");
    // Other names still work.
    let got = get_via(p.addr(), "ok.test", port).await;
    assert!(status(&got).starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_address_is_allowed_in_any_spelling() {
    let origin = start_upstream(None).await;
    let port = origin.port();
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, |b| b.allow_hosts(vec!["127.0.0.1".into()])).await;
    for host in ["127.0.0.1", "127.1", "2130706433", "[::ffff:127.0.0.1]"] {
        let got = get_via(p.addr(), host, port).await;
        assert!(status(&got).starts_with("HTTP/1.1 200"), "{host}: {got}");
    }
    let got = get_via(p.addr(), "localhost", port).await;
    assert!(
        status(&got).starts_with("HTTP/1.1 403") && got.contains("no --allow-host"),
        "an allow list of addresses names no host: {got}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intercepted_https_request_to_a_name_resolving_to_a_denied_address_gets_403() {
    // `localhost` needs the system resolver, so the CONNECT is answered (no
    // DNS query before the tunnel); the check happens when the proxy would
    // connect, and the refusal arrives as a 403 inside the TLS tunnel.
    let test_ca = TestCa::new("spellings origin CA");
    let origin = start_upstream(Some(test_ca.server_config(&["localhost"]))).await;
    let dir = TempDir::new().unwrap();
    let ca = webinfer_testkit::proxy::ca(dir.path());
    let root = ca.cert_der().to_vec();
    let p = ProxyBuilder::new()
        .ca(ca)
        .listen("127.0.0.1:0".parse().unwrap())
        .upstream_roots(vec![test_ca.der()])
        .deny_hosts(vec!["127.0.0.0/8".into()])
        .start()
        .await
        .unwrap();
    for h2 in [false, true] {
        let mut sender = Sender::trusting(p.addr(), "localhost", origin.port(), &root, h2).await;
        let req = http::Request::get("/hello")
            .header("host", format!("localhost:{}", origin.port()))
            .body(http_body_util::BodyExt::boxed(http_body_util::Empty::new()))
            .unwrap();
        let resp = sender.send(req).await.unwrap();
        assert_eq!(resp.status(), 403, "h2={h2}");
        let body = text(resp).await;
        assert!(
            body.contains("resolves to 127.0.0.1") && body.contains("--deny-host 127.0.0.0/8"),
            "{body}"
        );
    }
    assert_eq!(origin.connections(), 0);
}
