//! Document injection through `Injector::transform`: position of the script,
//! chunk splits, streaming, charsets, `<meta>` CSP.

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
};
use http::{Method, StatusCode};
use webinfer_injector::{ByteStream, Hook, HookConfig, Injector, Kind, Scope, Target};

fn injector() -> Injector {
    Injector::with_hook(Hook::from_source(
        "(function(){globalThis.__hooked = 1;})();",
    ))
}

fn cfg() -> HookConfig {
    HookConfig::new("0123456789abcdef", Scope::Document, 1_700_000_000_000.0)
}

fn html_headers(ct: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
    h
}

fn body_of(chunks: Vec<Vec<u8>>) -> ByteStream {
    stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
}

async fn run(inj: &Injector, headers: &mut HeaderMap, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    let t = inj.transform(
        &Kind::Document,
        headers,
        body_of(chunks),
        &cfg(),
        Target {
            url: "https://app.test/",
            origin: Some("https://app.test"),
        },
    );
    let mut out = Vec::new();
    let mut body = t.body;
    while let Some(c) = body.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

/// Runs a `ct` document given as `chunks` and asserts the output is `want`
/// (`what` says which case failed).
async fn assert_output(inj: &Injector, ct: &str, chunks: Vec<Vec<u8>>, want: &str, what: &str) {
    let mut h = html_headers(ct);
    let out = run(inj, &mut h, chunks).await;
    assert_eq!(String::from_utf8(out).unwrap(), want, "{what} ({ct})");
}

/// `body` (which starts with `<head>`) with the hook script right after `<head>`.
fn script_after_head(inj: &Injector, body: &[u8]) -> Vec<u8> {
    let head = b"<head>";
    assert!(body.starts_with(head));
    [
        head.as_slice(),
        script_html(inj).as_bytes(),
        &body[head.len()..],
    ]
    .concat()
}

fn script_html(inj: &Injector) -> String {
    inj.script(&cfg()).html()
}

const DOC: &str = "<!DOCTYPE html>\n<html lang=en>\n<head data-x=\"1\">\n<meta http-equiv=\"Content-Security-Policy\" \
                   content=\"script-src 'self'; connect-src https://api.other\">\n<title>T</title>\n<script src=app.js></script>\n\
                   </head>\n<body class=b>\n<p>Hello &amp; <b>world</b></p><script>run()</script>\n</body>\n</html>\n";

fn expected_doc(inj: &Injector) -> String {
    let s = inj.script(&cfg());
    let meta = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self' {}; connect-src https://api.other https://app.test/__webinfer__/trace\">",
        s.csp_hash()
    );
    let original_meta =
        "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'; connect-src https://api.other\">";
    DOC.replace(
        "<head data-x=\"1\">",
        &format!("<head data-x=\"1\">{}", s.html()),
    )
    .replace(original_meta, &meta)
}

#[tokio::test]
async fn script_is_first_child_of_head_and_meta_csp_patched() {
    let inj = injector();
    let mut h = html_headers("text/html; charset=utf-8");
    let out = run(&inj, &mut h, vec![DOC.as_bytes().to_vec()]).await;
    assert_eq!(String::from_utf8(out).unwrap(), expected_doc(&inj));
}

#[tokio::test]
async fn every_split_point_and_one_byte_chunks_give_the_same_output() {
    let inj = injector();
    let expected = expected_doc(&inj);
    for ct in ["text/html; charset=utf-8", "text/html"] {
        let bytes = DOC.as_bytes();
        for split in 0..=bytes.len() {
            let chunks = vec![bytes[..split].to_vec(), bytes[split..].to_vec()];
            assert_output(&inj, ct, chunks, &expected, &format!("split at {split}")).await;
        }
        for size in [1, 2, 3, 7, 64, 500] {
            let chunks = bytes.chunks(size).map(<[u8]>::to_vec).collect();
            assert_output(&inj, ct, chunks, &expected, &format!("{size}-byte chunks")).await;
        }
    }
}

#[tokio::test]
async fn documents_without_head_or_html() {
    let inj = injector();
    let s = script_html(&inj);
    let cases: Vec<(&str, String)> = vec![
        (
            "<html><body><p>x</p></body></html>",
            format!("<html>{s}<body><p>x</p></body></html>"),
        ),
        (
            "<!doctype html><html>\n<head>\n</head></html>",
            format!("<!doctype html><html>\n<head>{s}\n</head></html>"),
        ),
        (
            "<!doctype html><title>t</title><p>x",
            format!("<!doctype html>{s}<title>t</title><p>x"),
        ),
        (
            "<!DOCTYPE html>\n<p>x</p>",
            format!("<!DOCTYPE html>\n{s}<p>x</p>"),
        ),
        ("<p>only</p>", format!("{s}<p>only</p>")),
        ("  plain text", format!("  plain text{s}")),
        (
            "<!doctype html><!-- c -->hello<p>",
            format!("<!doctype html><!-- c -->hello{s}<p>"),
        ),
        ("<!doctype html>", format!("<!doctype html>{s}")),
        ("", s.clone()),
        (
            "<html lang=en>\n<HEAD><Script>x()</Script>",
            format!("<html lang=en>\n<HEAD>{s}<Script>x()</Script>"),
        ),
        (
            "<html><frameset></frameset></html>",
            format!("<html>{s}<frameset></frameset></html>"),
        ),
    ];
    for (input, want) in cases {
        for ct in ["text/html", "text/html;charset=utf-8"] {
            let whole = vec![input.as_bytes().to_vec()];
            assert_output(&inj, ct, whole, &want, &format!("input {input:?}")).await;
            let bytes = input.bytes().map(|b| vec![b]).collect();
            let what = format!("input {input:?} in 1-byte chunks");
            assert_output(&inj, ct, bytes, &want, &what).await;
        }
    }
}

#[tokio::test]
async fn output_starts_before_the_input_ends() {
    let inj = injector();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let body = tokio_stream_from(rx);
    let mut h = html_headers("text/html; charset=utf-8");
    let t = inj.transform(
        &Kind::Document,
        &mut h,
        body,
        &cfg(),
        Target {
            url: "https://app.test/",
            origin: None,
        },
    );
    let mut out = t.body;
    tx.send(Ok(Bytes::from_static(
        b"<!doctype html><html><head><title>t</title></head><body><p>first part",
    )))
    .await
    .unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), out.next())
        .await
        .expect("output before the body ended")
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("<head><script>"),
        "{first:?}"
    );
    tx.send(Ok(Bytes::from_static(b" second</p></body></html>")))
        .await
        .unwrap();
    drop(tx);
    let mut rest = Vec::new();
    while let Some(c) = out.next().await {
        rest.extend_from_slice(&c.unwrap());
    }
    let all = [first.to_vec(), rest].concat();
    assert!(String::from_utf8(all)
        .unwrap()
        .ends_with("<p>first part second</p></body></html>"));
}

/// Without a charset in the header the first 1024 bytes are looked at before
/// anything is sent; after that, output flows before the end.
#[tokio::test]
async fn without_header_charset_output_starts_after_the_prescan_window() {
    let inj = injector();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let mut h = html_headers("text/html");
    let t = inj.transform(
        &Kind::Document,
        &mut h,
        tokio_stream_from(rx),
        &cfg(),
        Target {
            url: "u",
            origin: None,
        },
    );
    let mut out = t.body;
    let mut head = b"<!doctype html><html><head><title>t</title></head><body>".to_vec();
    head.resize(1100, b'a');
    tx.send(Ok(Bytes::from(head))).await.unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), out.next())
        .await
        .expect("output")
        .unwrap()
        .unwrap();
    assert!(first.starts_with(b"<!doctype html><html><head><script>"));
    drop(tx);
    while let Some(c) = out.next().await {
        c.unwrap();
    }
}

fn tokio_stream_from(mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>) -> ByteStream {
    stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

#[tokio::test]
async fn headers_are_fixed() {
    let inj = injector();
    let mut h = html_headers("text/html; charset=utf-8");
    h.insert(CONTENT_LENGTH, HeaderValue::from_static("356"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    h.insert("etag", HeaderValue::from_static("\"abc\""));
    for csp in [
        "default-src 'self'",
        "script-src 'none', connect-src 'none'",
    ] {
        h.append(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    h.insert(
        "content-security-policy-report-only",
        HeaderValue::from_static("script-src 'none'"),
    );
    run(&inj, &mut h, vec![b"<p>x".to_vec()]).await;
    let hash = inj.script(&cfg()).csp_hash().to_owned();
    assert!(h.get(CONTENT_LENGTH).is_none());
    assert_eq!(h.get(CACHE_CONTROL).unwrap(), "no-store");
    let csp: Vec<&str> = h
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        csp,
        vec![
            format!("default-src 'self' {hash}").as_str(),
            &format!("script-src {hash}, connect-src https://app.test/__webinfer__/trace")
        ]
    );
    assert_eq!(
        h.get("content-security-policy-report-only").unwrap(),
        "script-src 'none'"
    );
}

/// The hash in the CSP is the hash of exactly the script text in the body.
#[tokio::test]
async fn csp_hash_matches_script_text_in_body() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let inj = Injector::new();
    let mut h = html_headers("text/html; charset=utf-8");
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("script-src 'self'"),
    );
    let out = run(&inj, &mut h, vec![b"<head></head>".to_vec()]).await;
    let out = String::from_utf8(out).unwrap();
    let text = out
        .strip_prefix("<head><script>")
        .unwrap()
        .strip_suffix("</script></head>")
        .unwrap();
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()));
    assert_eq!(
        h.get(CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap(),
        format!("script-src 'self' 'sha256-{hash}'")
    );
    assert!(
        text.starts_with("globalThis.__WEBINFER_CONFIG__ = {\"v\":1,\"sid\":\"0123456789abcdef\"")
    );
}

#[tokio::test]
async fn shift_jis_document_round_trips_byte_exact() {
    let inj = injector();
    let (body, _, _) = encoding_rs::SHIFT_JIS.encode(
        "<html><head><meta charset=\"Shift_JIS\"><title>日本語のページ</title></head><body><p>こんにちは、世界。表示・ソ</p></body></html>",
    );
    let body = body.into_owned();
    let s = script_html(&inj);
    for chunk in [1, 5, 4096] {
        let mut h = html_headers("text/html");
        let out = run(
            &inj,
            &mut h,
            body.chunks(chunk).map(<[u8]>::to_vec).collect(),
        )
        .await;
        let mut want = b"<html><head>".to_vec();
        want.extend_from_slice(format!("<meta charset=\"Shift_JIS\">{s}").as_bytes());
        want.extend_from_slice(&body[b"<html><head>".len()..]);
        assert_eq!(out, want, "chunk {chunk}");
    }
}

#[tokio::test]
async fn windows_1252_from_header_round_trips_byte_exact() {
    let inj = injector();
    let (body, _, _) = encoding_rs::WINDOWS_1252
        .encode("<head><title>Café — “quotes” €</title></head><body>naïve ÿ</body>");
    let body = body.into_owned();
    assert!(body.iter().any(|&b| b >= 0x80));
    let mut h = html_headers("text/html; charset=windows-1252");
    let out = run(&inj, &mut h, vec![body.clone()]).await;
    assert_eq!(out, script_after_head(&inj, &body));
}

#[tokio::test]
async fn invalid_utf8_in_undeclared_document_passes_byte_exact() {
    let inj = injector();
    let body =
        b"<head><title>\xff\xfe\x80 broken \xc3</title></head><body>\xe9t\xe9</body>".to_vec();
    let mut h = html_headers("text/html");
    let out = run(&inj, &mut h, body.chunks(3).map(<[u8]>::to_vec).collect()).await;
    assert_eq!(out, script_after_head(&inj, &body));
}

#[tokio::test]
async fn utf16_document_passes_through_untouched() {
    let inj = injector();
    let mut body = vec![0xFF, 0xFE];
    for u in "<html><head></head><body>hi</body></html>".encode_utf16() {
        body.extend_from_slice(&u.to_le_bytes());
    }
    let mut h = html_headers("text/html");
    let out = run(&inj, &mut h, body.chunks(5).map(<[u8]>::to_vec).collect()).await;
    assert_eq!(out, body);
}

#[test]
fn classify_documents_workers_and_the_rest() {
    use webinfer_injector::Skip;
    let inj = injector();
    let html = html_headers("text/html; charset=utf-8");
    let js = html_headers("text/javascript");
    let mut dl = html.clone();
    dl.insert(
        "content-disposition",
        HeaderValue::from_static("attachment; filename=a.html"),
    );
    let mut comp = html.clone();
    comp.insert("content-encoding", HeaderValue::from_static("compress"));
    let (get, ok) = (Method::GET, StatusCode::OK);
    let doc: &[(&str, &str)] = &[("sec-fetch-dest", "document")];
    let pass = Kind::Passthrough;
    // (method, request headers, status, response headers, kind, why)
    type Case<'a> = (
        &'a Method,
        &'a [(&'a str, &'a str)],
        StatusCode,
        &'a HeaderMap,
        Kind,
        &'a str,
    );
    let cases: [Case; 19] = [
        (&get, doc, ok, &html, Kind::Document, ""),
        (
            &get,
            &[("sec-fetch-dest", "iframe")],
            StatusCode::NOT_FOUND,
            &html,
            Kind::Document,
            "",
        ),
        (
            &get,
            &[("accept", "text/html,*/*")],
            ok,
            &html,
            Kind::Document,
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "worker")],
            ok,
            &js,
            Kind::Worker,
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "sharedworker")],
            ok,
            &html_headers("application/javascript; charset=utf-8"),
            Kind::Worker,
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "serviceworker")],
            ok,
            &js,
            pass(Skip::ServiceWorker),
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "worker")],
            ok,
            &html,
            pass(Skip::NotJavaScript),
            "",
        ),
        (
            &get,
            &[
                ("sec-fetch-dest", "worker"),
                ("sec-fetch-mode", "same-origin"),
            ],
            ok,
            &js,
            Kind::Worker,
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "worker"), ("sec-fetch-mode", "cors")],
            ok,
            &js,
            pass(Skip::WorkerImport),
            "a module imported by a module worker",
        ),
        (
            &get,
            &[("sec-fetch-dest", "script")],
            ok,
            &js,
            pass(Skip::NotDocumentOrWorker),
            "",
        ),
        (
            &get,
            &[("sec-fetch-dest", "empty")],
            ok,
            &html,
            pass(Skip::NotDocumentOrWorker),
            "",
        ),
        (
            &get,
            &[("accept", "*/*")],
            ok,
            &html,
            pass(Skip::NotDocumentOrWorker),
            "",
        ),
        (&get, doc, ok, &js, pass(Skip::NotHtml), ""),
        (&Method::HEAD, doc, ok, &html, pass(Skip::NoBody), ""),
        (
            &get,
            doc,
            StatusCode::NOT_MODIFIED,
            &html,
            pass(Skip::NoBody),
            "",
        ),
        (
            &get,
            doc,
            StatusCode::PARTIAL_CONTENT,
            &html,
            pass(Skip::PartialContent),
            "",
        ),
        (&get, doc, ok, &dl, pass(Skip::Download), ""),
        (
            &get,
            doc,
            ok,
            &comp,
            pass(Skip::UnsupportedCoding("compress".into())),
            "",
        ),
        (
            &get,
            doc,
            ok,
            &html_headers("text/html; charset=utf-16le"),
            pass(Skip::NotAsciiCompatible("UTF-16LE")),
            "",
        ),
    ];
    for (method, pairs, status, headers, want, why) in cases {
        let mut req = HeaderMap::new();
        for (k, v) in pairs {
            req.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        assert_eq!(
            inj.classify(method, &req, status, headers),
            want,
            "{method} {pairs:?} → {status}, {:?}: {why}",
            headers.get(http::header::CONTENT_TYPE)
        );
    }
}

#[test]
fn conditional_headers_are_stripped_for_injected_requests() {
    let mut h = HeaderMap::new();
    h.insert("if-none-match", HeaderValue::from_static("\"x\""));
    h.insert(
        "if-modified-since",
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    h.insert("sec-fetch-dest", HeaderValue::from_static("document"));
    assert!(webinfer_injector::wants_injection(&h));
    webinfer_injector::strip_conditional_headers(&mut h);
    assert!(h.get("if-none-match").is_none() && h.get("if-modified-since").is_none());
}

#[tokio::test]
async fn a_utf8_byte_order_mark_stays_first() {
    let inj = injector();
    let s = script_html(&inj);
    let input = b"\xEF\xBB\xBF<!doctype html><html><head><title>t</title></head></html>";
    for ct in ["text/html", "text/html; charset=windows-1252"] {
        for chunk in [1, 2, 3, 100] {
            let mut h = html_headers(ct);
            let out = run(
                &inj,
                &mut h,
                input.chunks(chunk).map(<[u8]>::to_vec).collect(),
            )
            .await;
            let mut want = b"\xEF\xBB\xBF<!doctype html><html><head>".to_vec();
            want.extend_from_slice(s.as_bytes());
            want.extend_from_slice(b"<title>t</title></head></html>");
            assert_eq!(out, want, "{ct}, {chunk}-byte chunks");
        }
    }
}
