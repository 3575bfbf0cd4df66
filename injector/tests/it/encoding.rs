//! Content codings: every supported coding round-trips through the
//! transform (sent as identity), broken streams end with an error.

use crate::common;

use std::time::Duration;

use async_compression::tokio::bufread::{
    BrotliEncoder, DeflateEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder,
};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use tokio::io::AsyncReadExt;
use webinfer_injector::{HookConfig, Injector, Kind, Scope, SyncByteStream, Target};

use common::{cfg, chunked, injector};

async fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => GzipEncoder::new(data).read_to_end(&mut out).await,
        "br" => {
            BrotliEncoder::with_quality(data, async_compression::Level::Precise(4))
                .read_to_end(&mut out)
                .await
        }
        "deflate" => ZlibEncoder::new(data).read_to_end(&mut out).await,
        "raw-deflate" => DeflateEncoder::new(data).read_to_end(&mut out).await,
        "zstd" => ZstdEncoder::new(data).read_to_end(&mut out).await,
        other => panic!("no encoder {other}"),
    }
    .unwrap();
    out
}

fn document() -> Vec<u8> {
    let mut doc = b"<!doctype html><html><head><title>compressed</title></head><body>".to_vec();
    for i in 0..5000 {
        doc.extend_from_slice(
            format!("<p class=row>row {i}: the quick brown fox</p>\n").as_bytes(),
        );
    }
    doc.extend_from_slice(b"</body></html>");
    doc
}

async fn collect(mut body: SyncByteStream) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    let fut = async {
        while let Some(c) = body.next().await {
            out.extend_from_slice(&c?);
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("the body stream hung")?;
    Ok(out)
}

fn expected(inj: &Injector, doc: &[u8]) -> Vec<u8> {
    let prefix = b"<!doctype html><html><head>";
    let mut want = prefix.to_vec();
    want.extend_from_slice(inj.script(&cfg()).html().as_bytes());
    want.extend_from_slice(&doc[prefix.len()..]);
    want
}

#[tokio::test]
async fn each_coding_round_trips_and_is_sent_as_identity() {
    let inj = injector();
    let doc = document();
    for (header, layers) in [
        ("gzip", vec!["gzip"]),
        ("br", vec!["br"]),
        ("deflate", vec!["deflate"]),
        ("deflate", vec!["raw-deflate"]),
        ("zstd", vec!["zstd"]),
        ("gzip, br", vec!["gzip", "br"]),
    ] {
        let mut data = doc.clone();
        for l in &layers {
            data = encode(l, &data).await;
        }
        assert!(data.len() < doc.len() / 2, "{layers:?} compressed");
        for chunk in [7, 1500, 1 << 20] {
            let mut h = HeaderMap::new();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(CONTENT_ENCODING, HeaderValue::from_str(header).unwrap());
            h.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
            let t = inj.transform(
                &Kind::Document,
                &mut h,
                chunked(data.clone(), chunk),
                &cfg(),
                Target {
                    url: "u",
                    origin: None,
                },
            );
            let out = collect(t.body).await.unwrap();
            assert_eq!(
                out,
                expected(&inj, &doc),
                "{layers:?} in {chunk}-byte chunks"
            );
            assert!(h.get(CONTENT_ENCODING).is_none(), "sent as identity");
            assert!(h.get(CONTENT_LENGTH).is_none());
        }
    }
}

#[tokio::test]
async fn gzip_with_two_members_decodes_fully() {
    let inj = injector();
    let doc = document();
    let (a, b) = doc.split_at(doc.len() / 2);
    let data = [encode("gzip", a).await, encode("gzip", b).await].concat();
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let t = inj.transform(
        &Kind::Document,
        &mut h,
        chunked(data, 999),
        &cfg(),
        Target {
            url: "u",
            origin: None,
        },
    );
    assert_eq!(collect(t.body).await.unwrap(), expected(&inj, &doc));
}

#[tokio::test]
async fn truncated_or_corrupt_streams_end_with_an_error() {
    let inj = injector();
    let doc = document();
    for coding in ["gzip", "br", "deflate", "zstd"] {
        let data = encode(coding, &doc).await;
        let truncated = data[..data.len() * 2 / 3].to_vec();
        let mut corrupt = data.clone();
        for b in corrupt.iter_mut().skip(20).step_by(7) {
            *b ^= 0x5a;
        }
        for (what, body) in [("truncated", truncated), ("corrupt", corrupt)] {
            let mut h = HeaderMap::new();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(CONTENT_ENCODING, HeaderValue::from_str(coding).unwrap());
            let t = inj.transform(
                &Kind::Document,
                &mut h,
                chunked(body, 512),
                &cfg(),
                Target {
                    url: "u",
                    origin: None,
                },
            );
            let err = collect(t.body)
                .await
                .expect_err(&format!("{what} {coding} must fail"));
            assert!(
                err.to_string().contains("decoding failed"),
                "{what} {coding}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn upstream_error_mid_body_is_passed_on_and_ends_the_stream() {
    let inj = injector();
    let items: Vec<std::io::Result<Bytes>> = vec![
        Ok(Bytes::from_static(b"<head></head><body>part")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "upstream reset",
        )),
        Ok(Bytes::from_static(b"never seen")),
    ];
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let t = inj.transform(
        &Kind::Document,
        &mut h,
        stream::iter(items).boxed(),
        &cfg(),
        Target {
            url: "u",
            origin: None,
        },
    );
    let mut body = t.body;
    let mut saw = Vec::new();
    while let Some(item) = body.next().await {
        saw.push(item.map(|b| b.to_vec()).map_err(|e| e.kind()));
    }
    assert_eq!(saw.len(), 2, "{saw:?}");
    assert!(saw[0].as_ref().unwrap().starts_with(b"<head><script>"));
    assert_eq!(saw[1], Err(std::io::ErrorKind::ConnectionReset));
}

#[tokio::test]
async fn worker_scripts_are_decoded_prefixed_and_csp_patched() {
    let inj = injector();
    let js = b"'use strict';\nself.onmessage = e => postMessage(e.data * 2);\n".to_vec();
    let data = encode("br", &js).await;
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    h.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'"),
    );
    let wcfg = HookConfig {
        parent: Some("page1".into()),
        ..HookConfig::new("w1", Scope::Worker, 5.0)
    };
    let t = inj.transform(
        &Kind::Worker,
        &mut h,
        chunked(data, 3),
        &wcfg,
        Target {
            url: "https://a/w.js",
            origin: Some("https://a"),
        },
    );
    let out = collect(t.body).await.unwrap();
    let script = inj.script(&wcfg);
    assert_eq!(
        out,
        [
            b"\"use strict\";\n".as_slice(),
            script.text().as_bytes(),
            &js
        ]
        .concat()
    );
    assert!(script
        .text()
        .contains("\"parent\":\"page1\",\"scope\":\"worker\""));
    assert_eq!(
        h.get("content-security-policy").unwrap(),
        // Widened by the exact trace endpoint only, never by 'self' (issue 18, item 7).
        "default-src 'none'; connect-src https://a/__webinfer__/trace"
    );
    assert!(h.get(CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn passthrough_is_byte_identical_and_headers_untouched() {
    let inj = injector();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    let before = h.clone();
    let kind = Kind::Passthrough(webinfer_injector::Skip::NotDocumentOrWorker);
    let t = inj.transform(
        &kind,
        &mut h,
        chunked(data.clone(), 4096),
        &cfg(),
        Target {
            url: "u",
            origin: None,
        },
    );
    assert!(t.script.is_none());
    assert_eq!(collect(t.body).await.unwrap(), data);
    assert_eq!(h, before);
}
