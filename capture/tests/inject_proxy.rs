//! The inject filter through the real proxy, against a real HTTPS upstream on
//! loopback, with a hyper client and curl.

use crate::support::*;
use base64::Engine as _;
use sha2::Digest as _;

fn script_text(body: &str) -> &str {
    let start = body.find("<script>").unwrap() + "<script>".len();
    let end = start + body[start..].find("</script>").unwrap();
    &body[start..end]
}

fn sha256_b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_page_gets_hook_first_in_head_with_csp_patched_and_a_session() {
    let h = Harness::start(|_| {}).await;
    let (headers, body) = h.get_document("/", &[("accept", "text/html")]).await;
    let script = script_text(&body).to_owned();
    assert!(
        body.starts_with(&format!(
            "<!doctype html><html lang=en><head><script>{script}</script><meta charset=utf-8>"
        )),
        "hook is the first child of head: {body}"
    );
    assert!(
        script.contains("/* main.js */"),
        "the embedded hook follows the config"
    );
    let cfg = injected_config(&body);
    let sid = cfg["sid"].as_str().unwrap().to_owned();
    assert_eq!(sid.len(), 16);
    assert_eq!(cfg["scope"], "document");
    assert_eq!(cfg["endpoint"], "/__webinfer__/trace");

    // CSP header: the hash of exactly this script text is allowed.
    let hash = format!("'sha256-{}'", sha256_b64(&script));
    assert_eq!(
        headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("script-src 'self' {hash}; connect-src 'self'")
    );
    // The <meta> CSP gets exactly the endpoint URL (and the hash).
    let endpoint = h.url("/__webinfer__/trace");
    assert!(body.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"connect-src https://api.other {endpoint}\">"
    )));
    assert!(headers.get("content-length").is_none());
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    // Everything after the script is the page as sent.
    assert_eq!(
        body.replace(&format!("<script>{script}</script>"), "")
            .replace(&format!(" {endpoint}\">"), "\">"),
        PAGE
    );

    // The proxy's session record, then the document's own net record.
    let lines = wait_lines(&h.session_file(&sid), |l| {
        l.iter().any(|r| r["kind"] == "net")
    })
    .await;
    let session = &lines[0];
    assert_eq!(session["kind"], "session");
    assert_eq!(session["by"], "proxy");
    assert_eq!(session["source"], "page");
    assert_eq!(session["seq"], 0);
    assert_eq!(session["status"], 200);
    assert_eq!(session["url"], h.url("/"));
    assert_eq!(
        session["time_origin"].as_f64(),
        cfg["proxy_time_ms"].as_f64()
    );
    let net = lines.iter().find(|r| r["kind"] == "net").unwrap();
    assert_eq!(net["by"], "proxy");
    assert_eq!(net["seq"], 1);
    assert_eq!(net["url"], h.url("/"));
    assert_eq!(net["bytes"], PAGE.len(), "bytes as received from upstream");
    assert!(net["ts"].as_f64().unwrap() >= 0.0);
    assert_eq!(h.inject.documents(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_page_is_decoded_rewritten_and_sent_as_identity() {
    let h = Harness::start(|_| {}).await;
    let (headers, body) = h.get_document("/gz", &[("accept-encoding", "gzip")]).await;
    assert!(headers.get("content-encoding").is_none());
    assert!(headers.get("content-length").is_none());
    let script = script_text(&body).to_owned();
    assert_eq!(
        body.replace(&format!("<script>{script}</script>"), ""),
        gz_page()
    );
    assert!(body.starts_with("<!doctype html><html><head><script>globalThis.__WEBINFER_CONFIG__"));

    // curl, asking for compression, gets the same page.
    let (ok, out, err) = curl(
        &h,
        &[
            "--compressed",
            "-H",
            "Sec-Fetch-Dest: document",
            &h.url("/gz"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    let out = String::from_utf8(out).unwrap();
    let script2 = script_text(&out).to_owned();
    assert_ne!(script, script2, "each document gets its own session");
    assert_eq!(
        out.replace(&format!("<script>{script2}</script>"), ""),
        gz_page()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_html_and_non_document_responses_are_byte_identical() {
    let h = Harness::start(|_| {}).await;
    let (status, headers, body) = h.get("/bin", &[("sec-fetch-dest", "empty")]).await;
    assert_eq!(status, 200);
    assert_eq!(body, binary(3 << 20));
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/octet-stream"
    );
    // A document request answered with a binary is not touched either.
    let (_, _, body) = h.get("/bin", &[("sec-fetch-dest", "document")]).await;
    assert_eq!(body, binary(3 << 20));
    // HTML fetched by script (not a navigation) is not injected.
    let (_, _, body) = h
        .get("/", &[("sec-fetch-dest", "empty"), ("accept", "*/*")])
        .await;
    assert_eq!(String::from_utf8(body).unwrap(), PAGE);
    // A gzip'd binary keeps its encoding and its exact bytes.
    let (_, headers, body) = h.get("/bin.gz", &[("sec-fetch-dest", "empty")]).await;
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    let mut d = flate2::read::GzDecoder::new(&body[..]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut d, &mut plain).unwrap();
    assert_eq!(plain, binary(64 << 10));
    // curl sees the same bytes.
    let (ok, out, err) = curl(&h, &[&h.url("/bin")]).await;
    assert!(ok, "{err}");
    assert_eq!(out, binary(3 << 20));
    assert_eq!(h.inject.documents(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_script_gets_the_hook_with_its_page_as_parent() {
    let h = Harness::start(|_| {}).await;
    let page_sid = h.page_sid().await;
    let (status, headers, body) = h.get_from_page("/worker.js", "worker").await;
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.starts_with("\"use strict\";\nglobalThis.__WEBINFER_CONFIG__ = "),
        "{body}"
    );
    assert!(body.ends_with(WORKER));
    let cfg = injected_config(&body);
    assert_eq!(cfg["scope"], "worker");
    assert_eq!(cfg["parent"], page_sid.as_str());
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let worker_sid = cfg["sid"].as_str().unwrap().to_owned();
    let lines = wait_lines(&h.session_file(&worker_sid), |l| !l.is_empty()).await;
    assert_eq!(lines[0]["source"], "worker");
    assert_eq!(lines[0]["parent"], page_sid.as_str());
    // The worker script's exchange, and a fetch the worker makes (its
    // referrer is the worker URL), are attributed to the page.
    let wurl = h.url("/worker.js");
    h.get(
        "/models/m.onnx",
        &[("sec-fetch-dest", "empty"), ("referer", wurl.as_str())],
    )
    .await;
    let lines = wait_lines(&h.session_file(&page_sid), |l| net_count(l) >= 3).await;
    let model = lines
        .iter()
        .find(|r| r["kind"] == "net" && r["url"] == h.url("/models/m.onnx"))
        .unwrap();
    assert_eq!(
        model["sha256"].as_str().unwrap().len(),
        64,
        "model artifacts carry their hash"
    );
    assert!(lines.iter().any(|r| r["kind"] == "net" && r["url"] == wurl));
    assert_eq!(h.inject.workers(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_navigation_without_fetch_metadata_is_injected() {
    let h = Harness::start(|c| c.label = Some("curl-run".into())).await;
    let (ok, out, err) = curl(&h, &["-H", "Accept: text/html", &h.url("/")]).await;
    assert!(ok, "{err}");
    let out = String::from_utf8(out).unwrap();
    let cfg = injected_config(&out);
    assert_eq!(cfg["label"], "curl-run");
    assert!(h
        .session_file(cfg["sid"].as_str().unwrap())
        .starts_with(h.dir.path().join("traces/curl-run")));
    // Without Accept: text/html (curl's default */*) nothing is injected.
    let (ok, out, _) = curl(&h, &[&h.url("/")]).await;
    assert!(ok);
    assert_eq!(String::from_utf8(out).unwrap(), PAGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_fails_to_decode_ends_in_an_error_not_a_hang() {
    let h = Harness::start(|_| {}).await;
    let result = h
        .get_result("/corrupt.gz", &[("sec-fetch-dest", "document")])
        .await;
    let err = result.expect_err("a corrupt gzip body must not end cleanly");
    assert!(!err.is_empty());
    // curl reports the cut body as a failure too.
    let (ok, _, stderr) = curl(
        &h,
        &["-H", "Sec-Fetch-Dest: document", &h.url("/corrupt.gz")],
    )
    .await;
    assert!(!ok, "curl must fail: {stderr}");
}
