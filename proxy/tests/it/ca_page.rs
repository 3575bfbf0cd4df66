//! The CA page lives on `webinfer.invalid`, a name that can never resolve
//! publicly (a browser not using the proxy cannot send the request to a
//! stranger), tells the user to compare its fingerprint with `webinfer ca
//! show`, and names the address the proxy really listens on. The former
//! name `webinfer.ca` still answers, through the proxy only.

use std::net::SocketAddr;

use crate::support::*;
use tempfile::TempDir;
use webinfer_proxy::{ProxyBuilder, ProxyHandle};

async fn proxy(dir: &TempDir, listen: &str) -> ProxyHandle {
    let ca = webinfer_testkit::proxy::ca(dir.path());
    ProxyBuilder::new()
        .ca(ca)
        .listen(listen.parse().unwrap())
        .start()
        .await
        .unwrap()
}

fn assert_page_for(page: &str, proxy: SocketAddr, fingerprint: &str) {
    assert!(page.contains(fingerprint), "no fingerprint: {page}");
    assert!(
        page.contains("webinfer ca show"),
        "the page does not say to compare with `webinfer ca show`: {page}"
    );
    assert!(
        page.contains(&format!("--proxy-server=http://{proxy} ")),
        "the Chromium command does not name {proxy}: {page}"
    );
    assert!(
        page.contains(&format!("curl -x http://{proxy} ")),
        "the curl command does not name {proxy}: {page}"
    );
    assert!(
        page.contains("http://webinfer.invalid/webinfer-ca.pem"),
        "the download command does not use webinfer.invalid: {page}"
    );
    assert!(!page.contains(":8080"), "a hard-coded port is left: {page}");
    assert!(
        !page.contains("webinfer.ca/"),
        "the page still advertises the registrable name: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_page_is_on_an_unresolvable_name_and_names_the_real_proxy_address() {
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, "127.0.0.1:0").await;
    let url = format!("http://{}", p.addr());
    let fp = p.ca().fingerprint_sha256();
    let (ok, page, err) = curl(&["-x", &url, "http://webinfer.invalid/"]).await;
    assert!(ok, "{err}");
    assert_page_for(&page, p.addr(), &fp);

    // HTTPS too (intercepted with a leaf for the magic name).
    let cacert = p.ca().cert_pem_path();
    let (ok, pem, err) = curl_via(
        &url,
        cacert.to_str().unwrap(),
        &["https://webinfer.invalid/webinfer-ca.pem"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(pem, p.ca().cert_pem());

    // The old name still answers, through the proxy, with the same page.
    let (ok, old, err) = curl(&["-x", &url, "http://WebInfer.CA./"]).await;
    assert!(ok, "{err}");
    assert_eq!(old, page);
    assert_eq!(p.stats().forwarded, 0, "the CA page is never forwarded");

    // Without the proxy the new name does not resolve at all (RFC 6761).
    let (ok, _, err) = curl(&["--connect-timeout", "5", "http://webinfer.invalid/"]).await;
    assert!(!ok, "webinfer.invalid resolved without the proxy");
    assert!(err.contains("resolve"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_page_names_an_ipv6_listen_address() {
    let dir = TempDir::new().unwrap();
    let p = proxy(&dir, "[::1]:0").await;
    let url = format!("http://{}", p.addr());
    let (ok, page, err) = curl(&["-x", &url, "http://webinfer.invalid/"]).await;
    assert!(ok, "{err}");
    assert!(p.addr().to_string().starts_with("[::1]:"));
    assert_page_for(&page, p.addr(), &p.ca().fingerprint_sha256());
}
