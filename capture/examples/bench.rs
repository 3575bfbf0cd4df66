//! Benchmark helper for `scripts/bench-proxy.sh` (not a test). Subcommands:
//!
//! - `upstream DIR [h1]`: the test kit's HTTPS origin on 127.0.0.1 (its CA
//!   written to `DIR/upstream-ca.pem`, port to `DIR/upstream.port`); routes
//!   `/small` (1 KiB) and `/big?n=BYTES` (streamed, generated on the fly).
//!   ALPN `h2` and `http/1.1`, or with `h1` only `http/1.1`.
//! - `proxy CA_DIR UPSTREAM_CA_PEM PORT_FILE`: the webinfer proxy on
//!   127.0.0.1:0 built exactly like `webinfer proxy` (via `ProxyOptions`),
//!   without the hook filters.
//! - `proxy-hooks CA_DIR UPSTREAM_CA_PEM PORT_FILE`: the same with the trace
//!   sink and the injection filter installed as `webinfer proxy` does
//!   (`webinfer_capture::install`, traces under `CA_DIR/traces`); the bench bodies are
//!   not HTML, so they pass through unrewritten.
//! - `load URL N C ROOT_PEM... [--proxy ADDR]`: N keep-alive GETs over C
//!   HTTP/1.1 connections; prints `rps=.. p50_ms=.. p99_ms=..`.
//! - `download URL ROOT_PEM... [--proxy ADDR]`: one GET, streamed and
//!   discarded; prints `bytes=.. secs=.. mb_per_s=..`.
//!
//! Direct and proxied runs share every line of client code except the
//! CONNECT request, so the comparison is fair.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use webinfer_testkit::ca::{http1_only, ALPN_H1};
use webinfer_testkit::client::tls_connect;
use webinfer_testkit::{client_tls, connect_tunnel, query_u64, Origin, TestCa};

type B = BoxBody<Bytes, Infallible>;

fn usage() -> ! {
    eprintln!("usage: bench upstream DIR [h1] | proxy[-hooks] CA_DIR UPSTREAM_CA PORT_FILE | load URL N C PEM... [--proxy ADDR] | download URL PEM... [--proxy ADDR]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("upstream") => {
            let h1_only = args.get(2).map(String::as_str) == Some("h1");
            upstream(args.get(1).unwrap_or_else(|| usage()), h1_only).await
        }
        Some("proxy") if args.len() == 4 => proxy(&args[1], &args[2], &args[3], false).await,
        Some("proxy-hooks") if args.len() == 4 => proxy(&args[1], &args[2], &args[3], true).await,
        Some("load") if args.len() >= 5 => {
            let (roots, proxy) = roots_and_proxy(&args[4..]);
            load(
                &args[1],
                args[2].parse().unwrap(),
                args[3].parse().unwrap(),
                roots,
                proxy,
            )
            .await
        }
        Some("download") if args.len() >= 3 => {
            let (roots, proxy) = roots_and_proxy(&args[2..]);
            download(&args[1], roots, proxy).await
        }
        _ => usage(),
    }
}

fn roots_and_proxy(rest: &[String]) -> (Vec<CertificateDer<'static>>, Option<SocketAddr>) {
    let mut roots = Vec::new();
    let mut proxy = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--proxy" {
            proxy = Some(it.next().unwrap_or_else(|| usage()).parse().unwrap());
        } else {
            roots.extend(webinfer_proxy::read_pem_roots(a.as_ref()).unwrap());
        }
    }
    (roots, proxy)
}

async fn upstream(dir: &str, h1_only: bool) {
    let ca = TestCa::new("bench upstream");
    let mut cfg = ca.server_config(&["127.0.0.1", "localhost"]);
    if h1_only {
        cfg = http1_only(cfg);
    }
    let small = Bytes::from(vec![b'x'; 1024]);
    let origin = Origin::start(Some(cfg), move |req: Request<hyper::body::Incoming>| {
        let body: B = if req.uri().path() == "/big" {
            big_body(query_u64(req.uri(), "n").unwrap_or(1 << 20))
        } else {
            Full::new(small.clone()).boxed()
        };
        async move { Response::new(body) }
    })
    .await
    .unwrap();
    let dir = std::path::Path::new(dir);
    ca.write_pem(dir);
    std::fs::write(dir.join("upstream.port"), origin.port().to_string()).unwrap();
    std::future::pending::<()>().await
}

fn big_body(total: u64) -> B {
    const CHUNK: usize = 64 * 1024;
    let block = Bytes::from(
        (0..CHUNK)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let s = futures_util::stream::unfold(0u64, move |sent| {
        let block = block.clone();
        async move {
            if sent >= total {
                return None;
            }
            let n = (total - sent).min(CHUNK as u64) as usize;
            Some((
                Ok::<_, Infallible>(Frame::data(block.slice(..n))),
                sent + n as u64,
            ))
        }
    });
    BodyExt::boxed(StreamBody::new(s))
}

async fn proxy(ca_dir: &str, upstream_ca: &str, port_file: &str, hooks: bool) {
    let opts = webinfer_proxy::ProxyOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ca_dir: Some(ca_dir.into()),
        upstream_ca: vec![upstream_ca.into()],
        ..Default::default()
    };
    let builder = opts.builder().unwrap();
    let capture = hooks.then(|| {
        let traces = std::path::Path::new(ca_dir).join("traces");
        let capture = webinfer_capture::CaptureOptions::new(traces);
        webinfer_capture::start(&capture).unwrap().0
    });
    let handle = builder.handler(capture).start().await.unwrap();
    std::fs::write(port_file, handle.addr().port().to_string()).unwrap();
    tokio::signal::ctrl_c().await.unwrap();
    handle.shutdown().await;
}

async fn open(
    url: &http::Uri,
    roots: &[CertificateDer<'static>],
    proxy: Option<SocketAddr>,
) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let host = url.host().unwrap().to_string();
    let port = url.port_u16().unwrap_or(443);
    let tcp = match proxy {
        None => TcpStream::connect((host.as_str(), port)).await.unwrap(),
        Some(p) => connect_tunnel(p, &format!("{host}:{port}")).await.unwrap(),
    };
    tcp.set_nodelay(true).unwrap();
    let tls = tls_connect(tcp, &host, client_tls(roots, ALPN_H1))
        .await
        .unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

async fn load(
    url: &str,
    n: u64,
    c: usize,
    roots: Vec<CertificateDer<'static>>,
    proxy: Option<SocketAddr>,
) {
    let url: http::Uri = url.parse().unwrap();
    let mut senders = Vec::new();
    for _ in 0..c {
        let mut s = open(&url, &roots, proxy).await;
        // Warm up each connection (TLS done, upstream pool filled).
        let r = s.send_request(get(&url)).await.unwrap();
        r.into_body().collect().await.unwrap();
        senders.push(s);
    }
    let next = Arc::new(AtomicU64::new(0));
    let reconnects = Arc::new(AtomicU64::new(0));
    let roots = Arc::new(roots);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut s in senders {
        let next = next.clone();
        let url = url.clone();
        let roots = roots.clone();
        let reconnects = reconnects.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                // A server may close a keep-alive connection: reopen it (the
                // time counts against this request) and count it.
                if s.ready().await.is_err() {
                    reconnects.fetch_add(1, Ordering::Relaxed);
                    s = open(&url, &roots, proxy).await;
                }
                let r = match s.send_request(get(&url)).await {
                    Ok(r) => r,
                    Err(_) => {
                        reconnects.fetch_add(1, Ordering::Relaxed);
                        s = open(&url, &roots, proxy).await;
                        s.send_request(get(&url)).await.unwrap()
                    }
                };
                assert!(r.status().is_success(), "status {}", r.status());
                r.into_body().collect().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "rps={:.0} p50_ms={:.2} p99_ms={:.2} requests={} reconnects={}",
        all.len() as f64 / wall,
        pct(0.50),
        pct(0.99),
        all.len(),
        reconnects.load(Ordering::Relaxed)
    );
}

fn get(url: &http::Uri) -> Request<Empty<Bytes>> {
    Request::get(url.path_and_query().unwrap().as_str())
        .header("host", url.authority().unwrap().as_str())
        .body(Empty::new())
        .unwrap()
}

async fn download(url: &str, roots: Vec<CertificateDer<'static>>, proxy: Option<SocketAddr>) {
    let url: http::Uri = url.parse().unwrap();
    let mut s = open(&url, &roots, proxy).await;
    let start = Instant::now();
    let resp = s.send_request(get(&url)).await.unwrap();
    assert!(resp.status().is_success(), "status {}", resp.status());
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(f) = body.frame().await {
        if let Some(d) = f.unwrap().data_ref() {
            n += d.len() as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "bytes={n} secs={secs:.2} mb_per_s={:.1}",
        n as f64 / secs / 1e6
    );
}
