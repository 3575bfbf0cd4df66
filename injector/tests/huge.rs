//! A 50 MB document, generated on the fly, streams through the transform with
//! bounded memory (measured by a counting global allocator), for four paths:
//! a page with `<body>` (the rewriter stops parsing after it), a page without
//! a `<body>` tag (stops at the first body element), a page whose 50 MB are
//! all head elements (`<meta http-equiv>`: the parser and the CSP handler see
//! every byte), and a gzip'd page (decoded as it streams).
//!
//! This file holds a single test so that no other test allocates at the same
//! time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_compression::tokio::bufread::GzipEncoder;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use tokio_util::io::{ReaderStream, StreamReader};
use webinfer_injector::{ByteStream, Hook, HookConfig, Injector, Kind, Scope, Target};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const TOTAL: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

const ROW: &[u8] =
    b"<p class=row>lorem ipsum dolor sit amet, <b>consectetur</b> adipiscing elit</p>\n";
const HEAD_ROW: &[u8] =
    b"<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\"><link rel=x href=/y>\n";

/// `head`, then rows until `TOTAL` bytes, then `tail`, in `CHUNK`-sized pieces.
fn generated(head: &'static [u8], tail: &'static [u8]) -> ByteStream {
    generated_rows(head, ROW, tail)
}

/// Like [`generated`] with a given row.
fn generated_rows(head: &'static [u8], row: &'static [u8], tail: &'static [u8]) -> ByteStream {
    let mut sent = 0usize;
    let mut stage = 0u8;
    stream::poll_fn(move |_| {
        let item = match stage {
            0 => {
                stage = 1;
                sent += head.len();
                Some(Bytes::from_static(head))
            }
            1 if sent < TOTAL => {
                let mut c = Vec::with_capacity(CHUNK);
                while c.len() + row.len() <= CHUNK {
                    c.extend_from_slice(row);
                }
                sent += c.len();
                Some(Bytes::from(c))
            }
            1 => {
                stage = 2;
                Some(Bytes::from_static(tail))
            }
            _ => None,
        };
        std::task::Poll::Ready(item.map(Ok))
    })
    .boxed()
}

async fn run(name: &str, inj: &Injector, coding: Option<&str>, body: ByteStream, head: &[u8]) {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(c) = coding {
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(c).unwrap());
    }
    let cfg = HookConfig::new("big", Scope::Document, 0.0);
    let script_len = inj.script(&cfg).html().len();
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = inj.transform(
        &Kind::Document,
        &mut h,
        body,
        &cfg,
        Target {
            url: name,
            origin: None,
        },
    );
    let mut out = t.body;
    let mut total = 0usize;
    let mut first = Vec::new();
    while let Some(c) = out.next().await {
        let c = c.unwrap();
        if first.len() < head.len() + 16 {
            first.extend_from_slice(&c[..c.len().min(head.len() + 16)]);
        }
        total += c.len();
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert!(total > TOTAL, "{name}: {total} bytes out");
    assert!(first.starts_with(head), "{name}");
    assert!(
        first[head.len()..].starts_with(b"<script>"),
        "{name}: script right after the head start"
    );
    eprintln!(
        "{name}: {total} bytes out (script {script_len} bytes), peak extra memory {peak} bytes"
    );
    assert!(
        peak < 8 * 1024 * 1024,
        "{name}: peak memory {peak} bytes while streaming 50 MB"
    );
}

#[tokio::test]
async fn fifty_megabytes_stream_with_bounded_memory() {
    let inj = Injector::with_hook(Hook::from_source("(function(){})();"));
    let head: &'static [u8] = b"<!doctype html><html><head>";
    run(
        "with-body",
        &inj,
        None,
        generated(
            b"<!doctype html><html><head><title>big</title></head><body>",
            b"</body></html>",
        ),
        head,
    )
    .await;
    // No `<body>` tag: the first `<p>` starts the body.
    run(
        "no-body-tag",
        &inj,
        None,
        generated(b"<!doctype html><html><head>", b"</html>"),
        head,
    )
    .await;
    // Head elements only: the parser sees all 50 MB.
    run(
        "all-head",
        &inj,
        None,
        generated_rows(b"<!doctype html><html><head>", HEAD_ROW, b"</head></html>"),
        head,
    )
    .await;
    // Compressed on the fly, decoded on the fly.
    let plain = StreamReader::new(generated(
        b"<!doctype html><html><head><title>gz</title></head><body>",
        b"</body></html>",
    ));
    let gz: ByteStream = ReaderStream::with_capacity(
        GzipEncoder::with_quality(plain, async_compression::Level::Fastest),
        CHUNK,
    )
    .boxed();
    run("gzip", &inj, Some("gzip"), gz, head).await;
}
