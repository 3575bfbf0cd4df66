//! Security properties of the real `webinfer` binary (see SECURITY.md):
//! - the CA keys are 0600 in a 0700 directory and never printed, logged,
//!   served or traced;
//! - the proxy listens on loopback by default; a non-loopback `--listen`
//!   warns and names who can reach it;
//! - neither the trace endpoint nor the CA page (`webinfer.ca`) relays to
//!   another host, and a request inside a tunnel to host A is never sent to
//!   another host B;
//! - no session id a page posts makes the proxy write outside `--traces`;
//! - there is no way to skip upstream TLS verification.

use crate::common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::*;
use http::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The secret material of a PEM private key: each base64 line of its body
/// (any one appearing in an output is a leak), the whole body, and the DER.
struct Secret {
    name: String,
    lines: Vec<String>,
    der: Vec<u8>,
}

fn secret(path: &Path) -> Secret {
    let pem = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!lines.is_empty(), "{} holds a PEM body", path.display());
    let der = base64::engine::general_purpose::STANDARD
        .decode(lines.concat())
        .unwrap();
    Secret {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        lines,
        der,
    }
}

/// Asserts no part of any key in `secrets` is in `output`.
fn assert_no_key(secrets: &[Secret], what: &str, output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    for s in secrets {
        for l in &s.lines {
            assert!(!text.contains(l.as_str()), "{what} leaks {}: {l}", s.name);
        }
        assert!(
            !output.windows(s.der.len()).any(|w| w == s.der.as_slice()),
            "{what} leaks the DER of {}",
            s.name
        );
        // The private scalar of an EC key (PKCS#8 → ECPrivateKey:
        // `02 01 01 04 20` then 32 secret bytes); the rest of the DER holds
        // the public key, which the certificate carries anyway.
        if let Some(i) = s.der.windows(5).position(|w| w == [2, 1, 1, 4, 32]) {
            let scalar = &s.der[i + 5..i + 37];
            assert!(
                !output.windows(32).any(|o| o == scalar),
                "{what} leaks the private scalar of {}",
                s.name
            );
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Sends raw bytes to `addr` and reads the answer until the peer closes
/// (requests carry `Connection: close`) or 10 s pass.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP/1.1 answer.
fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

/// TLS (trusting the proxy's CA, SNI `host`) over a CONNECT tunnel to
/// `authority`; then one raw HTTP/1.1 request; returns the answer.
async fn raw_in_tunnel(
    proxy: SocketAddr,
    ca_der: &[u8],
    authority: &str,
    sni: &str,
    request: &[u8],
) -> String {
    let tcp = connect_tunnel(proxy, authority).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let mut tls = TlsConnector::from(client_tls([ca_der], &[b"http/1.1"]))
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// [`raw_in_tunnel`] to `host:port` (SNI `host`): `GET path` with `Host:
/// host:port`, the connection closed after the answer.
async fn get_in_tunnel(
    proxy: SocketAddr,
    ca_der: &[u8],
    host: &str,
    port: u16,
    path: &str,
) -> String {
    raw_in_tunnel(
        proxy,
        ca_der,
        &format!("{host}:{port}"),
        host,
        format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
}

/// This machine's non-loopback IPv4 addresses, read from the kernel's
/// routing table (`/proc/net/fib_trie`, "/32 host LOCAL" entries), an
/// independent source from the proxy's `getifaddrs`.
fn local_ipv4s() -> BTreeSet<IpAddr> {
    let text = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeSet::new();
    for w in lines.windows(2) {
        if w[1].trim() == "/32 host LOCAL" {
            if let Some(ip) = w[0]
                .trim()
                .trim_start_matches("|--")
                .trim()
                .parse::<IpAddr>()
                .ok()
                .filter(|ip| !ip.is_loopback())
            {
                out.insert(ip);
            }
        }
    }
    out
}

/// Every file (not directory) under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_keys_are_0600_and_never_printed_logged_served_or_traced() {
    let tmp = tempfile::tempdir().unwrap();
    let trace_env = [("WEBINFER_LOG", "trace"), ("RUST_LOG", "trace")];

    // Created by `webinfer ca path`.
    let ca_dir = tmp.path().join("by-ca-path");
    let ca_arg = ca_dir.display().to_string();
    let (ok, out, err) = run_bin(&["ca", "path", "--ca-dir", &ca_arg], &trace_env);
    assert!(ok, "{err}");
    assert_eq!(mode(&ca_dir), 0o700, "CA directory mode");
    for key in ["webinfer-ca.key", "webinfer-leaf.key"] {
        assert_eq!(mode(&ca_dir.join(key)), 0o600, "{key} mode");
    }
    let secrets = vec![
        secret(&ca_dir.join("webinfer-ca.key")),
        secret(&ca_dir.join("webinfer-leaf.key")),
    ];
    assert_no_key(&secrets, "ca path", format!("{out}{err}").as_bytes());
    for args in [
        vec!["ca", "show"],
        vec!["ca", "pin"],
        vec!["ca", "export"],
        vec!["ca", "path"],
    ] {
        let mut a = args.clone();
        a.extend(["--ca-dir", &ca_arg]);
        let (ok, out, err) = run_bin(&a, &trace_env);
        assert!(ok, "{args:?}: {err}");
        assert_no_key(
            &secrets,
            &format!("{args:?}"),
            format!("{out}{err}").as_bytes(),
        );
    }
    let der_out = std::process::Command::new(BIN)
        .args(["ca", "export", "--der", "--ca-dir", &ca_arg])
        .env("WEBINFER_LOG", "trace")
        .output()
        .unwrap();
    assert!(der_out.status.success());
    assert_eq!(
        der_out.stdout,
        std::fs::read(ca_dir.join("webinfer-ca.der")).unwrap(),
        "export --der is the certificate"
    );
    assert_no_key(&secrets, "ca export --der", &der_out.stdout);
    assert_no_key(&secrets, "ca export --der (stderr)", &der_out.stderr);

    // Created by the proxy's first start, with trace logging, then used:
    // leaf certificates signed, the CA page and downloads served.
    let ca_dir = tmp.path().join("by-proxy");
    let traces = tmp.path().join("traces");
    let test_ca = TestCa::new("sec");
    let origin = start_origin(Some(test_ca.server_config(&[ORIGIN_HOST]))).await;
    let mut setup = ProxySetup::new(&ca_dir, &traces);
    setup.upstream_ca.push(test_ca.write_pem(tmp.path()));
    setup.resolve.push((ORIGIN_HOST.into(), origin.port()));
    setup.env = trace_env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let proxy = ProxyProcess::start(setup);
    assert_eq!(mode(&ca_dir), 0o700);
    assert_eq!(mode(&ca_dir.join("webinfer-ca.key")), 0o600);
    assert_eq!(mode(&ca_dir.join("webinfer-leaf.key")), 0o600);
    let secrets = vec![
        secret(&ca_dir.join("webinfer-ca.key")),
        secret(&ca_dir.join("webinfer-leaf.key")),
    ];
    let ca_der = proxy_ca_der(&ca_dir);
    let mut served = Vec::new();
    for path in [
        "/",
        "/index.html",
        "/webinfer-ca.pem",
        "/webinfer-ca.der",
        "/cert.pem",
        "/webinfer-ca.key",
        "/webinfer-leaf.key",
        "/../webinfer-ca.key",
        "/%2e%2e/webinfer-ca.key",
    ] {
        let a = raw(
            proxy.addr,
            format!("GET http://webinfer.ca{path} HTTP/1.1\r\nHost: webinfer.ca\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        if path.ends_with(".key") {
            assert_eq!(status_of(&a), 404, "{path}: {a}");
        } else {
            assert_eq!(status_of(&a), 200, "{path}");
        }
        served.extend_from_slice(a.as_bytes());
    }
    let a = raw_in_tunnel(
        proxy.addr,
        &ca_der,
        "webinfer.ca:443",
        "webinfer.ca",
        b"GET /webinfer-ca.pem HTTP/1.1\r\nHost: webinfer.ca\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&a), 200);
    served.extend_from_slice(a.as_bytes());
    let a = get_in_tunnel(
        proxy.addr,
        &ca_der,
        ORIGIN_HOST,
        origin.port(),
        "/bytes?n=100",
    )
    .await;
    assert_eq!(status_of(&a), 200, "{a}");
    assert_no_key(&secrets, "the CA page and downloads", &served);
    // Let the trace sink's timer flush, then look at everything written.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = format!("{}{}", proxy.stdout(), proxy.stderr());
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging was on: {}",
        &logs[..logs.len().min(400)]
    );
    assert_no_key(
        &secrets,
        "proxy stdout/stderr at trace level",
        logs.as_bytes(),
    );
    let mut files = Vec::new();
    walk(&traces, &mut files);
    assert!(!files.is_empty(), "the proxy wrote its net records");
    for f in files {
        assert_no_key(
            &secrets,
            &f.display().to_string(),
            &std::fs::read(&f).unwrap(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_loopback_by_default_and_warns_who_can_reach_it_otherwise() {
    for cmd in ["proxy", "audit"] {
        let (ok, out, _) = run_bin(&[cmd, "--help"], &[]);
        assert!(ok);
        let listen = out
            .split("--listen")
            .nth(1)
            .and_then(|s| s.split("\n  -").next())
            .unwrap_or_else(|| panic!("{cmd} --help has --listen:\n{out}"));
        assert!(
            listen.contains("[default: 127.0.0.1:8080]"),
            "{cmd}: --listen defaults to loopback: {listen}"
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let traces = tmp.path().join("traces");
    let others = local_ipv4s();

    // Loopback: no warning, and not reachable on this machine's other
    // addresses.
    let lo = ProxyProcess::start(ProxySetup::new(&ca_dir, &traces));
    assert!(lo.addr.ip().is_loopback());
    for ip in &others {
        assert!(
            TcpStream::connect((*ip, lo.addr.port())).await.is_err(),
            "a loopback proxy is reachable on {ip}"
        );
    }
    assert!(!lo.stderr().contains("warning"), "{}", lo.stderr());
    drop(lo);

    // 0.0.0.0: a warning naming every non-loopback IPv4 address, and the
    // proxy really is reachable there.
    let mut args: Vec<String> = vec![
        "proxy".into(),
        "--ca-dir".into(),
        ca_dir.display().to_string(),
        "--traces".into(),
        traces.display().to_string(),
        "--listen".into(),
        "0.0.0.0:0".into(),
    ];
    let any = ProxyProcess::spawn(&args, &[]);
    let warning = any.stderr();
    let warning = warning
        .lines()
        .find(|l| l.contains("warning: listening on 0.0.0.0:0 is not loopback"))
        .unwrap_or_else(|| panic!("no warning on stderr: {warning}"));
    assert!(
        warning.contains("any host that can reach every IPv4 address of this machine"),
        "{warning}"
    );
    for ip in &others {
        assert!(
            warning.contains(&format!("{ip} (")),
            "{ip} named: {warning}"
        );
        TcpStream::connect((*ip, any.addr.port()))
            .await
            .unwrap_or_else(|e| panic!("0.0.0.0 proxy reachable on {ip}: {e}"));
    }
    if others.is_empty() {
        assert!(
            warning.contains("none besides loopback right now"),
            "{warning}"
        );
    }
    drop(any);

    // A specific non-loopback address is named as such.
    if let Some(ip) = others.iter().next() {
        args[6] = format!("{ip}:0");
        let one = ProxyProcess::spawn(&args, &[]);
        assert!(
            one.stderr()
                .contains(&format!("any host that can reach {ip} ({ip} (")),
            "{}",
            one.stderr()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_endpoint_and_ca_page_never_relay_to_another_host() {
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let traces = tmp.path().join("traces");
    let test_ca = TestCa::new("relay");
    // Host A, which tunnels go to, and the victim B that must see nothing
    // (both TLS so a relay attempt would complete a handshake).
    let a = start_origin(Some(test_ca.server_config(&[ORIGIN_HOST]))).await;
    let victim = start_origin(Some(test_ca.server_config(&["victim.test"]))).await;
    let plain_victim = start_origin(None).await;
    let vp = victim.port();
    let pvp = plain_victim.port();
    let mut setup = ProxySetup::new(&ca_dir, &traces);
    setup.upstream_ca.push(test_ca.write_pem(tmp.path()));
    setup.resolve.push((ORIGIN_HOST.into(), a.port()));
    setup.resolve.push(("victim.test".into(), vp));
    setup.resolve.push(("plain-victim.test".into(), pvp));
    let proxy = ProxyProcess::start(setup);
    let ca_der = proxy_ca_der(&ca_dir);
    let batch = json!([{"v": 1, "sid": "relay1", "seq": 0, "ts": 1.0, "kind": "probe", "start": 0.5, "delay": 0.5}]).to_string();
    let victims = |case: &str| {
        assert_eq!(
            victim.connections() + plain_victim.connections(),
            0,
            "{case}: the proxy connected to the victim"
        );
    };

    // Plain HTTP to the proxy: (request, expected status).
    let cases: Vec<(String, u16)> = vec![
        // Answered by the sink itself: 400, the sid was not issued by the
        // proxy (issue 18; getting one would mean loading a victim page).
        (format!("POST http://plain-victim.test:{pvp}/__webinfer__/trace HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{batch}", batch.len()), 400),
        (format!("POST http://plain-victim.test:{pvp}/__webinfer__/trace?url=http://plain-victim.test:{pvp}/ HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{batch}", batch.len()), 400),
        (format!("GET http://plain-victim.test:{pvp}/__webinfer__/trace HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nConnection: close\r\n\r\n"), 405),
        (format!("GET http://webinfer.ca/?url=http://plain-victim.test:{pvp}/x HTTP/1.1\r\nHost: webinfer.ca\r\nConnection: close\r\n\r\n"), 200),
        (format!("GET http://webinfer.ca/http://plain-victim.test:{pvp}/x HTTP/1.1\r\nHost: webinfer.ca\r\nConnection: close\r\n\r\n"), 404),
        (format!("GET http://webinfer.ca/ HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nConnection: close\r\n\r\n"), 200),
        (format!("GET http://webinfer.ca:{pvp}/ HTTP/1.1\r\nHost: webinfer.ca:{pvp}\r\nConnection: close\r\n\r\n"), 200),
        (format!("GET /?url=http://plain-victim.test:{pvp}/ HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nConnection: close\r\n\r\n"), 200),
        (format!("POST /__webinfer__/trace HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{batch}", batch.len()), 405),
    ];
    for (req, want) in &cases {
        let answer = raw(proxy.addr, req.as_bytes()).await;
        let line = req.lines().next().unwrap();
        assert_eq!(status_of(&answer), *want, "{line}: {answer}");
        victims(line);
    }

    // Inside TLS tunnels, a Host naming another host is not followed.
    for (tunnel, sni, host) in [
        (
            "webinfer.ca:443".to_string(),
            "webinfer.ca",
            format!("victim.test:{vp}"),
        ),
        (
            format!("{ORIGIN_HOST}:{}", a.port()),
            ORIGIN_HOST,
            format!("victim.test:{vp}"),
        ),
        (
            format!("{ORIGIN_HOST}:{}", a.port()),
            ORIGIN_HOST,
            format!("plain-victim.test:{pvp}"),
        ),
    ] {
        for path in ["/", "/__webinfer__/ping", "/bytes?n=10"] {
            let answer = raw_in_tunnel(
                proxy.addr,
                &ca_der,
                &tunnel,
                sni,
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await;
            let case = format!("CONNECT {tunnel}, GET {path}, Host: {host}");
            assert_eq!(status_of(&answer), 400, "{case}: {answer}");
            victims(&case);
            assert_eq!(a.requests(), 0, "{case}: sent to the tunnel's host instead");
        }
    }
    // The same with HTTP/2's :authority.
    let tcp = connect_tunnel(proxy.addr, &format!("{ORIGIN_HOST}:{}", a.port()))
        .await
        .unwrap();
    let tls = TlsConnector::from(client_tls([&ca_der], &[b"h2"]))
        .connect(ServerName::try_from(ORIGIN_HOST).unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = send
        .send_request(
            Request::get(format!("https://victim.test:{vp}/bytes?n=10"))
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let st = resp.status();
    let _ = body_bytes(resp).await;
    assert_eq!(st, 400, "h2 :authority of another host is refused");
    assert_eq!(a.requests(), 0);
    victims("h2 :authority victim.test inside a tunnel to origin.test");
    // A plain-text tunnel to the CA host with another Host inside.
    let mut tcp = connect_tunnel(proxy.addr, "webinfer.ca:80").await.unwrap();
    tcp.write_all(
        format!("GET / HTTP/1.1\r\nHost: plain-victim.test:{pvp}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    assert_eq!(status_of(&String::from_utf8_lossy(&out)), 400);
    victims("CONNECT webinfer.ca:80, Host: plain-victim.test");

    // Host A itself still works through its tunnel.
    let answer = get_in_tunnel(proxy.addr, &ca_der, ORIGIN_HOST, a.port(), "/bytes?n=10").await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(a.requests() >= 1);
    victims("end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_session_id_makes_the_proxy_write_outside_the_traces_dir() {
    let root = tempfile::tempdir().unwrap();
    // Deep enough that `../` chains stay inside `root`, where we can look.
    let traces = root.path().join("1/2/3/traces");
    let ca_dir = root.path().join("ca");
    let page = start_origin(None).await;
    let mut setup = ProxySetup::new(&ca_dir, &traces);
    setup.resolve.push(("page.test".into(), page.port()));
    let proxy = ProxyProcess::start(setup);
    let page_auth = format!("page.test:{}", page.port());
    let okay = issue_sid(proxy.addr, &page_auth).await;
    let abs = root.path().join("escaped-abs").display().to_string();
    let bad_sids: Vec<String> = vec![
        "../x".into(),
        "../../../../escaped".into(),
        "..".into(),
        ".".into(),
        "a/b".into(),
        "/abs".into(),
        abs.clone(),
        "%2e%2e".into(),
        "..%2fescaped".into(),
        "a\\b".into(),
        "a\0b".into(),
        "x".repeat(65),
        "y".repeat(5000),
        "".into(),
        " ".into(),
        "é".into(),
        "_proxy".into(),
        "_proxy-1".into(),
        "a.jsonl".into(),
        "a\nb".into(),
    ];
    let mut refused = 0;
    for sid in &bad_sids {
        let body = json!([{"v": 1, "sid": sid, "seq": 0, "ts": 1.0, "kind": "probe", "start": 0.5, "delay": 0.5}]).to_string();
        let answer = raw(
            proxy.addr,
            format!(
                "POST http://page.test/__webinfer__/trace HTTP/1.1\r\nHost: page.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
        let status = status_of(&answer);
        assert!(
            (400..500).contains(&status),
            "sid {:?} was not refused: {answer}",
            &sid[..sid.len().min(40)]
        );
        assert!(answer.contains("\"stored\":0"), "{answer}");
        assert!(answer.contains("\"invalid\":1"), "{answer}");
        refused += 1;
    }
    assert_eq!(refused, bad_sids.len());
    // Path-like values in other fields are data, never paths.
    let body =
        json!([{"v": 1, "sid": okay, "seq": 0, "ts": 1.0, "kind": "session", "source": "page",
        "url": "https://x/../../y", "label": "../../../../escaped-label", "variant": "/abs"}])
        .to_string();
    let answer = raw(
        proxy.addr,
        format!("POST http://{page_auth}/__webinfer__/trace?label=../../x&sid=../y HTTP/1.1\r\nHost: {page_auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(),
    )
    .await;
    assert_eq!(status_of(&answer), 204, "{answer}");
    // Give the sink's flush timer a turn.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    drop(proxy);

    let mut files = Vec::new();
    walk(root.path(), &mut files);
    let allowed_ca: BTreeSet<&str> = [
        "webinfer-ca.pem",
        "webinfer-ca.der",
        "webinfer-ca.key",
        "webinfer-leaf.key",
        ".lock", // the CA directory's creation lock (proxy/src/ca.rs)
    ]
    .into();
    for f in &files {
        let rel = f.strip_prefix(root.path()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let in_ca = f.parent() == Some(ca_dir.as_path()) && allowed_ca.contains(name.as_str());
        let in_traces = f.parent() == Some(traces.join("default").as_path())
            && (name == format!("{okay}.jsonl") || name.starts_with("_proxy"));
        assert!(in_ca || in_traces, "unexpected file {}", rel.display());
    }
    assert!(traces.join(format!("default/{okay}.jsonl")).exists());
    assert!(!Path::new("/abs.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_tls_is_always_verified() {
    // No option to turn verification off, under any usual name.
    for cmd in ["proxy", "audit"] {
        let (ok, out, _) = run_bin(&[cmd, "--help"], &[]);
        assert!(ok);
        let options: Vec<&str> = out
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| w.starts_with("--"))
            .collect();
        assert!(options.contains(&"--upstream-ca"), "{options:?}");
        for o in &options {
            let l = o.to_ascii_lowercase();
            for bad in [
                "insecure",
                "verify",
                "danger",
                "invalid",
                "skip",
                "no-check",
                "trust-all",
            ] {
                assert!(!l.contains(bad), "{cmd} has option {o}");
            }
        }
        for flag in [
            "--insecure",
            "-k",
            "--no-verify",
            "--skip-verify",
            "--tls-skip-verify",
            "--danger-accept-invalid-certs",
        ] {
            let (ok, _, err) = run_bin(&[cmd, flag], &[]);
            assert!(!ok, "{cmd} {flag} was accepted");
            assert!(err.contains("unexpected argument"), "{cmd} {flag}: {err}");
        }
    }

    // An origin whose certificate chains to a CA the proxy does not trust,
    // and one with a trusted CA but another host's name: 502, and the origin
    // serves nothing.
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let traces = tmp.path().join("traces");
    let trusted = TestCa::new("trusted");
    let untrusted = TestCa::new("untrusted");
    let bad_ca = start_origin(Some(untrusted.server_config(&[ORIGIN_HOST]))).await;
    let bad_name = start_origin(Some(trusted.server_config(&["other.test"]))).await;
    let mut setup = ProxySetup::new(&ca_dir, &traces);
    setup.upstream_ca.push(trusted.write_pem(tmp.path()));
    setup.resolve.push((ORIGIN_HOST.into(), bad_ca.port()));
    setup.resolve.push(("named.test".into(), bad_name.port()));
    let proxy = ProxyProcess::start(setup);
    let ca_der = proxy_ca_der(&ca_dir);
    for (host, origin) in [(ORIGIN_HOST, &bad_ca), ("named.test", &bad_name)] {
        let answer = get_in_tunnel(proxy.addr, &ca_der, host, origin.port(), "/bytes?n=10").await;
        assert_eq!(status_of(&answer), 502, "{host}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("certificate"),
            "the error page explains: {answer}"
        );
        assert!(origin.connections() >= 1, "{host}: the proxy tried");
        assert_eq!(origin.requests(), 0, "{host}: a request was forwarded");
    }
}
