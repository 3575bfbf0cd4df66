//! Hostile compressed bodies: a zstd frame that asks for a window larger than
//! RFC 9659's 8 MiB is refused before its window is allocated, and a
//! decompression bomb (gzip, multi-member; zstd, brotli and deflate too) ends
//! with an error once its decoded output passes the per-response bound,
//! instead of being decoded to the end.

use crate::common;

use std::time::Duration;

use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
use async_compression::zstd::CParameter;
use async_compression::Level;
use futures_util::stream::StreamExt;
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use tokio::io::AsyncReadExt;
use webinfer_injector::{Injector, Kind, Target};

use common::{cfg, chunked, injector};

/// The bound the proxy uses unless told otherwise (documented in
/// docs/proxy.md, `--max-decoded-bytes`).
const DEFAULT_BOUND: u64 = 256 * 1024 * 1024;

/// Runs `data` with `Content-Encoding: coding` through the document
/// transform; returns how many bytes came out and the error that ended the
/// body, if any. Reading stops (and counts as a failure of the bound) at
/// `stop` bytes.
async fn drain(inj: &Injector, coding: &str, data: Vec<u8>, stop: u64) -> (u64, Option<String>) {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CONTENT_ENCODING, HeaderValue::from_str(coding).unwrap());
    let mut body = inj
        .transform(
            &Kind::Document,
            &mut h,
            chunked(data, 16 * 1024),
            &cfg(),
            Target {
                url: "https://bomb.test/",
                origin: Some("https://bomb.test"),
            },
        )
        .body;
    let fut = async {
        let mut n = 0u64;
        while let Some(c) = body.next().await {
            match c {
                Ok(c) => n += c.len() as u64,
                Err(e) => return (n, Some(e.to_string())),
            }
            if n > stop {
                break;
            }
        }
        (n, None)
    };
    tokio::time::timeout(Duration::from_secs(300), fut)
        .await
        .expect("the body stream hung")
}

/// A page head followed by zeros, `members` gzip members of `member` bytes.
async fn gzip_bomb(members: usize, member: usize) -> Vec<u8> {
    let mut first = b"<!doctype html><html><head></head><body>".to_vec();
    first.resize(member, 0);
    let zeros = vec![0u8; member];
    let mut one = Vec::new();
    GzipEncoder::with_quality(&zeros[..], Level::Best)
        .read_to_end(&mut one)
        .await
        .unwrap();
    let mut out = Vec::new();
    GzipEncoder::with_quality(&first[..], Level::Best)
        .read_to_end(&mut out)
        .await
        .unwrap();
    for _ in 1..members {
        out.extend_from_slice(&one);
    }
    out
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_bound_with_a_clear_error() {
    // 1 GiB of decoded output from about 1 MiB on the wire.
    let bomb = gzip_bomb(1024, 1 << 20).await;
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let (n, err) = drain(&injector(), "gzip", bomb, 2 * DEFAULT_BOUND).await;
    let err = err.unwrap_or_else(|| panic!("no error after {n} decoded bytes"));
    assert!(n <= DEFAULT_BOUND + 64 * 1024, "{n} bytes went out");
    assert!(
        err.contains("gzip") && err.contains("268435456") && err.contains("--max-decoded-bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn every_coding_is_bounded_and_the_bound_is_configurable() {
    // 8 MiB of zeros (plus a page head) in each coding, against a 1 MiB bound.
    let mut doc = b"<!doctype html><html><head></head><body>".to_vec();
    doc.resize(8 << 20, 0);
    let inj = injector().max_decoded_bytes(1 << 20);
    for coding in ["gzip", "br", "deflate", "zstd"] {
        let mut data = Vec::new();
        match coding {
            "gzip" => GzipEncoder::new(&doc[..]).read_to_end(&mut data).await,
            "br" => BrotliEncoder::new(&doc[..]).read_to_end(&mut data).await,
            "deflate" => ZlibEncoder::new(&doc[..]).read_to_end(&mut data).await,
            _ => ZstdEncoder::new(&doc[..]).read_to_end(&mut data).await,
        }
        .unwrap();
        let (n, err) = drain(&inj, coding, data, 16 << 20).await;
        let err = err.unwrap_or_else(|| panic!("{coding}: no error after {n} bytes"));
        assert!(n <= (1 << 20) + 64 * 1024, "{coding}: {n} bytes went out");
        assert!(err.contains("1048576"), "{coding}: {err}");
    }
    // Under the bound nothing changes.
    let small = &doc[..512 * 1024];
    let mut data = Vec::new();
    GzipEncoder::new(small)
        .read_to_end(&mut data)
        .await
        .unwrap();
    let (n, err) = drain(&inj, "gzip", data, 16 << 20).await;
    assert_eq!(err, None);
    assert!(n > 512 * 1024, "{n}");
}

/// The window size a zstd frame header declares (RFC 8878 3.1.1.1), `None`
/// for a single-segment frame.
fn declared_window(frame: &[u8]) -> Option<u64> {
    assert_eq!(&frame[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    let descriptor = frame[4];
    if descriptor & 0x20 != 0 {
        return None;
    }
    let w = frame[5];
    let exponent = u64::from(w >> 3);
    let base = 1u64 << (10 + exponent);
    Some(base + (base / 8) * u64::from(w & 7))
}

async fn zstd_with_window_log(log: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ZstdEncoder::with_quality_and_params(data, Level::Default, &[CParameter::window_log(log)])
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn zstd_frames_asking_for_more_than_an_8_mib_window_are_refused() {
    let doc = b"<!doctype html><html><head></head><body>hello</body></html>".repeat(100);
    // A frame declaring a 128 MiB window (libzstd's default decoder limit).
    let hostile = zstd_with_window_log(27, &doc).await;
    assert_eq!(declared_window(&hostile), Some(128 << 20));
    let (n, err) = drain(&injector(), "zstd", hostile, 1 << 30).await;
    let err = err.unwrap_or_else(|| panic!("128 MiB window accepted ({n} bytes decoded)"));
    assert!(err.contains("zstd decoding failed"), "{err}");
    assert!(n == 0, "{n} bytes went out before the refusal");
    // 8 MiB, RFC 9659's limit, is accepted.
    let fine = zstd_with_window_log(23, &doc).await;
    assert_eq!(declared_window(&fine), Some(8 << 20));
    let (n, err) = drain(&injector(), "zstd", fine, 1 << 30).await;
    assert_eq!(err, None);
    assert!(n as usize > doc.len(), "{n}");
}
