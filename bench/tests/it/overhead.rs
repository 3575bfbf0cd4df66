//! Behaviour tests behind the overhead benchmarks (no timings: the speed
//! goals live in the `overhead` binary's output).
//!
//! - Through the real proxy with injection on, a 5 MB page's first bytes,
//!   hook included, reach a real client while the origin is held after
//!   sending 5% of the page: the rewriter streams, it does not buffer.
//! - The rewrite benchmark's pages come out of the real injector correct:
//!   the hook once, first in `<head>`, every other byte unchanged (also
//!   through gzip); a `<meta>` CSP gets the hook's hash.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use rustls::pki_types::CertificateDer;
use sha2::Digest as _;
use webinfer_bench::overhead::page::{chunks, page, Variant, META_CSP};
use webinfer_bench::overhead::rewrite::{
    check_injected, gzip, hook_start, inject, lol_html_no_handlers, origin_headers, CHUNK, HOOK_END,
};
use webinfer_bench::overhead::ttfb::{start_proxy, Client, Mode, Pace, SlowOrigin};
use webinfer_injector::Injector;

const PAGE: usize = 5_000_000;

/// Safety net so a buffering proxy fails the test instead of hanging it;
/// not a speed bound (the origin never sends more until released).
const STALL: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_bytes_with_the_hook_arrive_while_the_origin_has_sent_under_10_percent() {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let html = page(Variant::Plain, PAGE);
    let hold_after = (html.len() / 20) as u64; // 5%
    let origin = SlowOrigin::start(
        html.clone(),
        Variant::Plain.content_type(),
        Pace {
            chunk: 64 * 1024,
            interval: Duration::ZERO,
            hold_after: Some(hold_after),
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("origin-ca.pem");
    std::fs::write(&pem, origin.ca_pem()).unwrap();
    let (proxy, capture) = start_proxy(dir.path(), &pem).await.unwrap();
    let root = CertificateDer::from(proxy.ca().cert_der().to_vec());

    let mut client = Client::connect(origin.addr(), root, Some(proxy.addr()))
        .await
        .unwrap();
    let resp = client.start("/page", Mode::Navigate).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let mut body = resp.into_body();
    let mut got = Vec::new();
    // Read until the whole injected script has arrived.
    let origin_sent = tokio::time::timeout(STALL, async {
        while memchr::memmem::find(&got, HOOK_END).is_none() {
            let frame = body
                .frame()
                .await
                .expect("the body ended before the hook")
                .expect("body error");
            if let Some(d) = frame.data_ref() {
                got.extend_from_slice(d);
            }
        }
        origin.progress().written.load(Ordering::SeqCst)
    })
    .await
    .expect("the hook did not reach the client while the origin was held: the proxy buffers");
    let page_len = html.len() as u64;
    assert!(
        origin_sent * 10 < page_len,
        "the origin had sent {origin_sent} of {page_len} bytes when the hook arrived"
    );
    assert!(got.starts_with(b"<!DOCTYPE html>"));
    assert_eq!(capture.injection().documents(), 1, "one document injected");

    origin.release();
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame.expect("body error").data_ref() {
            got.extend_from_slice(d);
        }
    }
    assert_eq!(
        origin.progress().written.load(Ordering::SeqCst),
        page_len,
        "the origin sent the whole page after the release"
    );
    check_injected(&html, &got).unwrap();
    proxy.shutdown().await;
}

fn concat(v: &[Bytes]) -> Vec<u8> {
    v.iter().flat_map(|b| b.iter().copied()).collect()
}

#[tokio::test]
async fn rewrite_benchmark_pages_get_the_hook_once_and_are_otherwise_unchanged() {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let injector = Injector::new();
    for variant in [Variant::Plain, Variant::HeavyHead] {
        let html = page(variant, PAGE);
        assert!(
            html.len() >= PAGE,
            "{variant:?} page is {} bytes",
            html.len()
        );
        let out = inject(
            &injector,
            &origin_headers(variant, None),
            &chunks(&html, CHUNK),
        )
        .await
        .unwrap();
        check_injected(&html, &concat(&out)).unwrap_or_else(|e| panic!("{variant:?}: {e}"));
    }

    // The gzip case decodes and sends identity: the same output.
    let html = page(Variant::Plain, PAGE);
    let out = inject(
        &injector,
        &origin_headers(Variant::Plain, Some("gzip")),
        &gzip(&html).unwrap(),
    )
    .await
    .unwrap();
    check_injected(&html, &concat(&out)).unwrap();

    // The full-parse baseline really is a no-op rewrite.
    assert_eq!(lol_html_no_handlers(&chunks(&html, CHUNK)).unwrap(), html);
}

#[tokio::test]
async fn meta_charset_and_meta_csp_page_gets_the_hook_and_its_hash() {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let html = page(Variant::MetaCsp, PAGE);
    let out = concat(
        &inject(
            &Injector::new(),
            &origin_headers(Variant::MetaCsp, None),
            &chunks(&html, CHUNK),
        )
        .await
        .unwrap(),
    );
    let start = hook_start();
    assert_eq!(memchr::memmem::find_iter(&out, &start).count(), 1);
    let script_at = memchr::memmem::find(&out, &start).unwrap();
    let script_end =
        memchr::memmem::find(&out[script_at..], HOOK_END).unwrap() + script_at + HOOK_END.len();
    // The charset the page declared is repeated right before the hook.
    assert!(out[..script_at].ends_with(b"<head><meta charset=\"UTF-8\">"));
    let text = std::str::from_utf8(&out[script_at + 8..script_end - 9]).unwrap();
    let hash = format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
    );
    let head_end = memchr::memmem::find(&out, b"</head>").unwrap();
    let head = std::str::from_utf8(&out[..head_end]).unwrap();
    assert!(!head.contains(META_CSP), "the meta CSP was not patched");
    assert!(
        head.contains(&hash),
        "the meta CSP does not allow the hook's hash"
    );
    // From </head> on, nothing changed.
    let in_head_end = memchr::memmem::find(&html, b"</head>").unwrap();
    assert_eq!(out[head_end..], html[in_head_end..]);
}
