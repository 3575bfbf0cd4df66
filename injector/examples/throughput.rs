//! Throughput of the document transform next to a plain pass-through of the
//! same chunks, printed side by side with the ratio.
//!
//! `cargo run --release -p webinfer-injector --example throughput [MB]`
//!
//! Cases (each over the same generated document, 64 KiB chunks):
//! - `copy`: each chunk copied once into a fresh buffer (baseline: the
//!   least a body relay does);
//! - `document, <body> early`: the rewriter stops parsing after `<body>`;
//! - `document, no <body> tag`: the first `<p>` ends the head;
//! - `document, all head`: only head elements, the parser sees every byte;
//! - `gzip decode only` / `gzip decode + inject`: a gzip'd copy decoded,
//!   without and with the rewriter.

use std::io::Write as _;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use webinfer_injector::{decode, ByteStream, Hook, HookConfig, Injector, Kind, Scope, Target};

const CHUNK: usize = 64 * 1024;

fn document(total: usize, body_tag: bool) -> Vec<Bytes> {
    rows(
        total,
        body_tag,
        b"<p class=row>lorem ipsum <b>dolor</b> sit amet, <a href=/x>consectetur</a></p>\n",
    )
}

fn rows(total: usize, body_tag: bool, row: &[u8]) -> Vec<Bytes> {
    let head: &[u8] = if body_tag {
        b"<!doctype html><html><head><title>t</title></head><body>"
    } else {
        b"<!doctype html><html><head><title>t</title></head>"
    };
    let mut chunks = vec![Bytes::copy_from_slice(head)];
    let mut c = Vec::with_capacity(CHUNK);
    while c.len() + row.len() <= CHUNK {
        c.extend_from_slice(row);
    }
    let c = Bytes::from(c);
    let mut sent = head.len();
    while sent < total {
        chunks.push(c.clone());
        sent += c.len();
    }
    chunks
}

fn gzip(chunks: &[Bytes]) -> Vec<Bytes> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for c in chunks {
        e.write_all(c).expect("in memory");
    }
    let z = e.finish().expect("in memory");
    z.chunks(CHUNK).map(Bytes::copy_from_slice).collect()
}

fn body(chunks: &[Bytes]) -> ByteStream {
    let owned: Vec<Bytes> = chunks.to_vec();
    stream::iter(owned.into_iter().map(Ok)).boxed()
}

async fn drain(mut s: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Unpin) -> usize {
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.expect("no errors").len();
    }
    n
}

async fn time<F: std::future::Future<Output = usize>>(f: F) -> (f64, usize) {
    let t = Instant::now();
    let n = f.await;
    (t.elapsed().as_secs_f64(), n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let total = mb * 1024 * 1024;
    let inj = Injector::with_hook(Hook::embedded());
    let cfg = HookConfig::new("bench", Scope::Document, 0.0);
    let target = Target {
        url: "bench",
        origin: None,
    };
    let html = |enc: Option<&str>| {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Some(e) = enc {
            h.insert(CONTENT_ENCODING, HeaderValue::from_str(e).expect("token"));
        }
        h
    };
    let with_body = document(total, true);
    let no_body = document(total, false);
    let all_head = rows(
        total,
        false,
        b"<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\"><link rel=x href=/y>\n",
    );
    let gz = gzip(&with_body);

    let (base, n) = time(drain(
        body(&with_body).map(|c| c.map(|c| Bytes::copy_from_slice(&c))),
    ))
    .await;
    println!("{:<28} {:>9} {:>10} {:>8}", "case", "MB", "MB/s", "time/x");
    let row = |name: &str, secs: f64, n: usize, baseline: f64| {
        let mbs = n as f64 / 1048576.0;
        println!(
            "{name:<28} {mbs:>9.1} {:>10.1} {:>8.2}",
            mbs / secs,
            secs / baseline
        );
    };
    row("copy", base, n, base);
    for (name, doc) in [
        ("document, <body> early", &with_body),
        ("document, no <body> tag", &no_body),
        ("document, all head", &all_head),
    ] {
        let (t, n) = time(async {
            let t = inj.transform(&Kind::Document, &mut html(None), body(doc), &cfg, target);
            drain(t.body).await
        })
        .await;
        row(name, t, n, base);
    }
    let (gz_base, n) = time(drain(decode::decode(
        &[decode::Coding::Gzip],
        body(&gz),
        decode::DEFAULT_MAX_DECODED,
    )))
    .await;
    row("gzip decode only", gz_base, n, base);
    let (t, n) = time(async {
        let t = inj.transform(
            &Kind::Document,
            &mut html(Some("gzip")),
            body(&gz),
            &cfg,
            target,
        );
        drain(t.body).await
    })
    .await;
    row("gzip decode + inject", t, n, base);
    println!(
        "(time/x: time relative to copy; gzip decode + inject vs decode only: {:.2}x)",
        t / gz_base
    );
}
