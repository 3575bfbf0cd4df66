//! The demo/test site server against real clients: curl (HTTP/1.1 and h2,
//! verifying TLS with the site's CA file) and a hyper client over rustls.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use webinfer_audit::site::{SiteServer, DEMO_HOST};

/// A folder tree: `/` has index.html, app.js, model.bin, strict.html (+ sidecar),
/// `sub/index.html`; `/lib` has `x.wasm` and `y.mjs`.
fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let lib = d.path().join("lib");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><p>home</p>").unwrap();
    std::fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
    std::fs::write(root.join("app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("model.bin"), [0u8, 1, 2, 3]).unwrap();
    std::fs::write(root.join("model.onnx"), [8u8; 10]).unwrap();
    std::fs::write(root.join("data.json"), "{}").unwrap();
    std::fs::write(root.join("strict.html"), "<p>strict</p>").unwrap();
    std::fs::write(
        root.join("strict.html.headers"),
        "# a strict page\nContent-Security-Policy: script-src 'self'\nX-Test: one\n",
    )
    .unwrap();
    std::fs::write(root.join("broken.html"), "x").unwrap();
    std::fs::write(root.join("broken.html.headers"), "no colon here\n").unwrap();
    std::fs::write(lib.join("x.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(lib.join("y.mjs"), "export {}").unwrap();
    d
}

async fn start(d: &Path, coop: bool) -> SiteServer {
    SiteServer::builder()
        .mount("/", d.join("root"))
        .mount("/lib", d.join("lib"))
        .coop_coep(coop)
        .max_result_bytes(1024)
        .start()
        .await
        .unwrap()
}

/// Runs curl against `url` (resolving the demo host to the site), trusting
/// only the site's CA; returns (status line info, headers, body).
fn curl(site: &SiteServer, args: &[&str], url: &str) -> (String, String, Vec<u8>) {
    let hdr = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&site.ca_pem_path)
        .arg("--resolve")
        .arg(format!("{DEMO_HOST}:{}:127.0.0.1", site.port()))
        .arg("-D")
        .arg(hdr.path())
        .args(["-w", "\n%{http_version} %{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut body = out.stdout;
    let nl = body.iter().rposition(|&b| b == b'\n').unwrap();
    let tail = String::from_utf8(body.split_off(nl))
        .unwrap()
        .trim()
        .to_owned();
    let headers = std::fs::read_to_string(hdr.path())
        .unwrap()
        .to_ascii_lowercase();
    (tail, headers, body)
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_files_with_types_over_h2_and_http1() {
    let d = tree();
    let site = start(d.path(), false).await;
    let url = site.url_for_host(DEMO_HOST, "/");
    let (tail, h, body) = tokio::task::block_in_place(|| curl(&site, &["--http2"], &url));
    assert_eq!(tail, "2 200");
    assert_eq!(body, b"<!doctype html><p>home</p>");
    assert_eq!(header(&h, "content-type"), Some("text/html; charset=utf-8"));
    for (path, ctype) in [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/model.bin", "application/octet-stream"),
        ("/model.onnx", "application/octet-stream"),
        ("/data.json", "application/json"),
        ("/lib/x.wasm", "application/wasm"),
        ("/lib/y.mjs", "text/javascript; charset=utf-8"),
        ("/sub/", "text/html; charset=utf-8"),
    ] {
        let url = site.url_for_host(DEMO_HOST, path);
        let (tail, h, body) = tokio::task::block_in_place(|| curl(&site, &["--http1.1"], &url));
        assert_eq!(tail, "1.1 200", "{path}");
        assert_eq!(header(&h, "content-type"), Some(ctype), "{path}");
        assert_eq!(
            header(&h, "content-length"),
            Some(body.len().to_string().as_str())
        );
        // Without isolation, no COOP/COEP.
        assert_eq!(header(&h, "cross-origin-embedder-policy"), None);
    }
    // The IP address is in the certificate too.
    let url = site.url("/lib/x.wasm");
    let (tail, _, body) = tokio::task::block_in_place(|| curl(&site, &[], &url));
    assert_eq!(tail, "2 200");
    assert_eq!(body, b"\0asm\x01\0\0\0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_clients_fail_the_handshake() {
    let d = tree();
    let site = start(d.path(), false).await;
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert", "/dev/null"])
        .arg(site.url("/"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "curl trusted a site it has no CA for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_headers_sidecars_errors_and_redirects() {
    let d = tree();
    let site = start(d.path(), true).await;
    let u = |p: &str| site.url_for_host(DEMO_HOST, p);
    tokio::task::block_in_place(|| {
        let (tail, h, _) = curl(&site, &[], &u("/app.js"));
        assert_eq!(tail, "2 200");
        assert_eq!(
            header(&h, "cross-origin-opener-policy"),
            Some("same-origin")
        );
        assert_eq!(
            header(&h, "cross-origin-embedder-policy"),
            Some("require-corp")
        );
        assert_eq!(
            header(&h, "cross-origin-resource-policy"),
            Some("cross-origin")
        );

        let (tail, h, body) = curl(&site, &[], &u("/strict.html"));
        assert_eq!(tail, "2 200");
        assert_eq!(body, b"<p>strict</p>");
        assert_eq!(
            header(&h, "content-security-policy"),
            Some("script-src 'self'")
        );
        assert_eq!(header(&h, "x-test"), Some("one"));
        // Only the sidecar's own file gets its headers.
        let (_, h, _) = curl(&site, &[], &u("/"));
        assert_eq!(header(&h, "content-security-policy"), None);
        // Sidecars are not served; a malformed sidecar is a clear 500.
        let (tail, _, _) = curl(&site, &[], &u("/strict.html.headers"));
        assert_eq!(tail, "2 404");
        let (tail, _, body) = curl(&site, &[], &u("/broken.html"));
        assert_eq!(tail, "2 500");
        let msg = String::from_utf8(body).unwrap();
        assert!(msg.contains("broken.html.headers:1"), "{msg}");

        let (tail, _, _) = curl(&site, &[], &u("/missing.js"));
        assert_eq!(tail, "2 404");
        let (tail, _, _) = curl(&site, &["--path-as-is"], &u("/lib/../../etc/passwd"));
        assert_eq!(tail, "2 400");
        let (tail, _, _) = curl(&site, &[], &u("/lib/%2e%2e/%2e%2e/etc/passwd"));
        assert_eq!(tail, "2 400");
        let (tail, h, _) = curl(&site, &[], &u("/sub"));
        assert_eq!(tail, "2 301");
        assert_eq!(header(&h, "location"), Some("/sub/"));
        let (tail, h, body) = curl(&site, &["-X", "DELETE"], &u("/app.js"));
        assert_eq!(tail, "2 405", "{}", String::from_utf8_lossy(&body));
        assert_eq!(header(&h, "allow"), Some("get, head"));
        let (tail, h, body) = curl(&site, &["-I"], &u("/model.bin"));
        assert_eq!(tail, "2 200");
        // With -I curl prints only the head; the file's bytes never came.
        assert!(!body.contains(&0u8) && !body.contains(&3u8), "{body:?}");
        assert_eq!(header(&h, "content-length"), Some("4"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_stored_and_awaited_and_requests_counted() {
    let d = tree();
    let site = Arc::new(start(d.path(), false).await);
    assert_eq!(
        site.wait_for_result("run-1", Duration::from_millis(50))
            .await,
        None
    );
    let waiter = {
        let site = site.clone();
        tokio::spawn(async move { site.wait_for_result("run-1", Duration::from_secs(20)).await })
    };
    let url = site.url_for_host(DEMO_HOST, "/__results__/run-1");
    let s2 = site.clone();
    let (tail, _, _) =
        tokio::task::block_in_place(|| curl(&s2, &["--data-binary", r#"{"ok":true}"#], &url));
    assert_eq!(tail, "2 204");
    let got = waiter.await.unwrap();
    assert_eq!(got.as_deref(), Some(&br#"{"ok":true}"#[..]));
    assert_eq!(site.results().len(), 1);

    // Over the cap: 413 and nothing stored.
    let big = "x".repeat(2000);
    let url2 = site.url_for_host(DEMO_HOST, "/__results__/big");
    let (tail, _, _) = tokio::task::block_in_place(|| curl(&s2, &["--data-binary", &big], &url2));
    assert_eq!(tail, "2 413");
    assert_eq!(site.result("big"), None);
    // GET on the results endpoint is refused.
    let (tail, _, _) = tokio::task::block_in_place(|| curl(&s2, &[], &url));
    assert_eq!(tail, "2 405");

    let app = site.url_for_host(DEMO_HOST, "/app.js?v=1");
    tokio::task::block_in_place(|| {
        curl(&s2, &[], &app);
        curl(&s2, &[], &app);
    });
    assert_eq!(site.requests("/app.js"), 2);
    assert_eq!(site.requests("/model.bin"), 0);
    assert_eq!(site.requests("/__results__/run-1"), 2);
    assert!(site.request_counts().contains_key("/__results__/big"));
}

/// A hyper client over rustls that trusts only `ca_pem`, speaking `alpn`.
async fn hyper_get(
    site: &SiteServer,
    path: &str,
    alpn: &[u8],
) -> http::Response<hyper::body::Incoming> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(site.ca_pem().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    let tcp = TcpStream::connect(site.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from(DEMO_HOST).unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn));
    let io = hyper_util::rt::TokioIo::new(tls);
    let uri = site.url_for_host(DEMO_HOST, path);
    if alpn == b"h2" {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
        send.send_request(req).await.unwrap()
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header("host", format!("{DEMO_HOST}:{}", site.port()))
            .body(Empty::<Bytes>::new())
            .unwrap();
        send.send_request(req).await.unwrap()
    }
}

/// An 8 GiB sparse file: its head and first MiB arrive long before the
/// server could have read it whole, in small chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_files_stream_in_small_chunks() {
    let d = tree();
    let size: u64 = 8 << 30;
    let f = std::fs::File::create(d.path().join("root/huge.bin")).unwrap();
    f.set_len(size).unwrap();
    drop(f);
    let site = start(d.path(), true).await;
    for alpn in [&b"h2"[..], &b"http/1.1"[..]] {
        let t0 = Instant::now();
        let resp = hyper_get(&site, "/huge.bin", alpn).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-length"], size.to_string().as_str());
        assert_eq!(resp.headers()["content-type"], "application/octet-stream");
        let mut body = resp.into_body();
        let mut got = 0usize;
        while got < 1 << 20 {
            let frame = body.frame().await.unwrap().unwrap();
            let data = frame.into_data().unwrap();
            // The client may merge the server's 64 KiB chunks, never into the whole file.
            assert!(data.len() <= 1 << 20, "chunk of {} bytes", data.len());
            assert!(data.iter().all(|&b| b == 0));
            got += data.len();
        }
        // Reading 8 GiB whole would take far longer than this (and 8 GiB of RAM).
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }
    assert_eq!(site.requests("/huge.bin"), 2);
}

#[tokio::test]
async fn bad_mounts_are_clear_errors() {
    let e = SiteServer::builder()
        .mount("/", "/no/such/folder")
        .start()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/no/such/folder"), "{e}");
    let d = tree();
    let e = SiteServer::builder()
        .mount("lib", d.path())
        .start()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("must start with '/'"), "{e}");
}
