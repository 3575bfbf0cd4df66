//! Time to first byte through the rewriter versus passing through.
//!
//! A loopback HTTPS origin ([`SlowOrigin`]: the test kit's origin and its
//! throw-away CA) serves a large HTML page slowly: `chunk` bytes every
//! `interval`, optionally holding after a number of bytes until released,
//! and counting the bytes it has handed to its HTTP stack. The real proxy
//! ([`start_proxy`]) runs as `webinfer proxy` does (trace sink and inject
//! filter). A hyper HTTP/1.1 client ([`Client`]) over TLS, through the test
//! kit's CONNECT tunnel when proxied, fetches the page three ways with
//! identical client code:
//!
//! - `direct`: straight to the origin;
//! - `proxy, inject`: a navigation (`Sec-Fetch-Dest: document`), so the
//!   proxy rewrites the page and injects the hook;
//! - `proxy, pass-through`: a `fetch()` of the same page
//!   (`Sec-Fetch-Dest: empty`), which the proxy passes through untouched.
//!
//! Each fetch runs on a fresh connection warmed up by one small request (so
//! TLS handshakes and the proxy's upstream connection are not in the
//! numbers) and records the time to the response head, to the first body
//! byte, to the end of the injected script, and to the last byte, plus how
//! many bytes the origin had sent when the first byte arrived.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio::sync::watch;
use webinfer_capture::{CaptureHandle, CaptureOptions};
use webinfer_proxy::{ProxyHandle, ProxyOptions};
use webinfer_testkit::ca::ALPN_H1;
use webinfer_testkit::client::tls_connect;
use webinfer_testkit::{client_tls, connect_tunnel, Origin, TestCa};

use super::page::{page, Variant};
use super::rewrite::{check_injected, HOOK_END};
use super::{ctx, median, ratio, OverheadError, Table};

type OriginBody = BoxBody<Bytes, Infallible>;

/// How the origin paces the page.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Bytes per write.
    pub chunk: usize,
    /// Pause before every write but the first.
    pub interval: Duration,
    /// After handing over at least this many bytes, wait for
    /// [`SlowOrigin::release`] before writing more.
    pub hold_after: Option<u64>,
}

/// What the origin reports about the page response in progress (one at a
/// time: counters restart with each request for the page).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the page handed to the origin's HTTP stack so far (at least
    /// what reached the wire).
    pub written: AtomicU64,
    /// Nanoseconds from the first to the last write of the last page sent.
    pub send_nanos: AtomicU64,
    /// Page responses started.
    pub pages: AtomicU64,
}

/// A loopback HTTPS origin serving one page slowly at `/page` (and 1 KiB
/// at any other path).
pub struct SlowOrigin {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    progress: Arc<Progress>,
    release: watch::Sender<bool>,
    page_len: usize,
    origin: Origin,
}

impl Drop for SlowOrigin {
    fn drop(&mut self) {
        self.origin.stop();
    }
}

impl SlowOrigin {
    /// Starts the origin on 127.0.0.1 (a port the OS picks) serving `page`
    /// as `content_type` with a `Content-Length`, paced by `pace`.
    pub async fn start(
        page: Vec<u8>,
        content_type: &'static str,
        pace: Pace,
    ) -> Result<Self, OverheadError> {
        let ca = TestCa::new("overhead bench origin");
        let tls = ca.server_config(&["127.0.0.1", "localhost"]);
        let progress = Arc::new(Progress::default());
        let (release, released) = watch::channel(false);
        let page_len = page.len();
        let shared = Arc::new(Shared {
            page: Bytes::from(page),
            content_type,
            pace,
            progress: progress.clone(),
            released,
        });
        let origin = Origin::start(Some(tls), move |req| {
            let resp = shared.respond(&req);
            async move { resp }
        })
        .await
        .map_err(ctx("binding the origin"))?;
        Ok(SlowOrigin {
            ca_pem: ca.pem(),
            ca_der: ca.der(),
            progress,
            release,
            page_len,
            origin,
        })
    }

    /// The origin's address.
    pub fn addr(&self) -> SocketAddr {
        self.origin.addr
    }

    /// Its CA certificate (PEM), for the proxy's `--upstream-ca`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Its CA certificate (DER), for a direct client.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// The page response in progress.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Lets a page held by [`Pace::hold_after`] continue (now and later).
    pub fn release(&self) {
        self.release.send_replace(true);
    }

    /// The page length in bytes.
    pub fn page_len(&self) -> usize {
        self.page_len
    }
}

struct Shared {
    page: Bytes,
    content_type: &'static str,
    pace: Pace,
    progress: Arc<Progress>,
    released: watch::Receiver<bool>,
}

impl Shared {
    fn respond(&self, req: &Request<Incoming>) -> Response<OriginBody> {
        if req.uri().path() != "/page" {
            let mut r = Response::new(Full::new(Bytes::from(vec![b'x'; 1024])).boxed());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
            return r;
        }
        let p = self.progress.clone();
        p.written.store(0, Ordering::SeqCst);
        p.pages.fetch_add(1, Ordering::SeqCst);
        let (page, pace, released) = (self.page.clone(), self.pace.clone(), self.released.clone());
        let len = page.len();
        let chunks =
            futures_util::stream::unfold((0usize, None::<Instant>), move |(off, started)| {
                let (page, pace, p, mut released) =
                    (page.clone(), pace.clone(), p.clone(), released.clone());
                async move {
                    if off >= len {
                        return None;
                    }
                    if off > 0 && !pace.interval.is_zero() {
                        tokio::time::sleep(pace.interval).await;
                    }
                    if pace.hold_after.is_some_and(|h| off as u64 >= h) {
                        // A dropped sender means the origin is gone: go on.
                        let _ = released.wait_for(|r| *r).await;
                    }
                    let started = started.unwrap_or_else(Instant::now);
                    let end = (off + pace.chunk.max(1)).min(len);
                    p.written.store(end as u64, Ordering::SeqCst);
                    if end == len {
                        p.send_nanos
                            .store(started.elapsed().as_nanos() as u64, Ordering::SeqCst);
                    }
                    Some((
                        Ok::<_, Infallible>(Frame::data(page.slice(off..end))),
                        (end, Some(started)),
                    ))
                }
            });
        let mut r = Response::new(BodyExt::boxed(StreamBody::new(chunks)));
        let h = r.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type),
        );
        h.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        r
    }
}

/// The real proxy with its trace sink and inject filter, as `webinfer
/// proxy` runs it, on 127.0.0.1 (port picked by the OS), trusting the
/// origin CA in `upstream_ca_pem`. CA and traces go under `dir`.
pub async fn start_proxy(
    dir: &Path,
    upstream_ca_pem: &Path,
) -> Result<(ProxyHandle, CaptureHandle), OverheadError> {
    let opts = ProxyOptions {
        listen: "127.0.0.1:0".parse().map_err(ctx("listen address"))?,
        ca_dir: Some(dir.join("ca")),
        upstream_ca: vec![upstream_ca_pem.to_path_buf()],
        ..Default::default()
    };
    let builder = opts.builder().map_err(ctx("proxy options"))?;
    let (builder, capture) =
        webinfer_capture::install(builder, &CaptureOptions::new(dir.join("traces")))
            .map_err(ctx("trace sink"))?;
    let handle = builder.start().await.map_err(ctx("starting the proxy"))?;
    Ok((handle, capture))
}

/// How the client asks for the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A navigation: `Sec-Fetch-Dest: document`, `Accept: text/html…`.
    Navigate,
    /// A `fetch()`: `Sec-Fetch-Dest: empty`, `Accept: */*`.
    Fetch,
}

/// An HTTP/1.1 client connection over TLS, direct or through a CONNECT
/// tunnel.
pub struct Client {
    send: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    authority: String,
}

impl Client {
    /// Connects to `origin` (trusting `root`), through `proxy` if given.
    pub async fn connect(
        origin: SocketAddr,
        root: CertificateDer<'static>,
        proxy: Option<SocketAddr>,
    ) -> Result<Self, OverheadError> {
        let authority = origin.to_string();
        let tcp = match proxy {
            Some(proxy) => connect_tunnel(proxy, &authority)
                .await
                .map_err(ctx("CONNECT"))?,
            None => {
                let tcp = TcpStream::connect(origin)
                    .await
                    .map_err(ctx("connecting"))?;
                tcp.set_nodelay(true).map_err(ctx("TCP_NODELAY"))?;
                tcp
            }
        };
        let tls = tls_connect(tcp, &origin.ip().to_string(), client_tls([&root], ALPN_H1))
            .await
            .map_err(ctx("TLS handshake"))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(ctx("HTTP handshake"))?;
        tokio::spawn(conn);
        Ok(Client { send, authority })
    }

    fn request(&self, path: &str, mode: Mode) -> Result<Request<Empty<Bytes>>, OverheadError> {
        let b = Request::get(path).header("host", &self.authority);
        let b = match mode {
            Mode::Navigate => b
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .header("sec-fetch-dest", "document")
                .header("sec-fetch-mode", "navigate"),
            Mode::Fetch => b
                .header("accept", "*/*")
                .header("sec-fetch-dest", "empty")
                .header("sec-fetch-mode", "cors"),
        };
        b.body(Empty::new()).map_err(ctx("building a request"))
    }

    /// GETs `path` and reads the whole body.
    pub async fn get(&mut self, path: &str, mode: Mode) -> Result<Vec<u8>, OverheadError> {
        let resp = self.start(path, mode).await?;
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(ctx("reading a body"))?;
        Ok(body.to_bytes().to_vec())
    }

    /// Sends a GET for `path` and returns the response head.
    pub async fn start(
        &mut self,
        path: &str,
        mode: Mode,
    ) -> Result<Response<Incoming>, OverheadError> {
        let req = self.request(path, mode)?;
        self.send.ready().await.map_err(ctx("connection"))?;
        let resp = self
            .send
            .send_request(req)
            .await
            .map_err(ctx("sending a request"))?;
        if !resp.status().is_success() {
            return Err(OverheadError::new(
                format!("GET {path}"),
                format!("status {}", resp.status()),
            ));
        }
        Ok(resp)
    }
}

/// One timed fetch of the page.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// Request sent to response head.
    pub head: Duration,
    /// Request sent to first body byte.
    pub first_byte: Duration,
    /// Request sent to the end of the injected script (`None`: no hook).
    pub hook_end: Option<Duration>,
    /// Request sent to last byte.
    pub last_byte: Duration,
    /// Bytes the origin had handed over when the first body byte arrived.
    pub origin_at_first_byte: u64,
    /// The body.
    pub body: Vec<u8>,
}

/// Fetches `/page` on a fresh, warmed-up connection and times it.
pub async fn fetch(
    origin: &SlowOrigin,
    root: CertificateDer<'static>,
    proxy: Option<SocketAddr>,
    mode: Mode,
) -> Result<Fetch, OverheadError> {
    let mut c = Client::connect(origin.addr(), root, proxy).await?;
    c.get("/small", mode).await?;
    let t0 = Instant::now();
    let resp = c.start("/page", mode).await?;
    let head = t0.elapsed();
    let mut body = resp.into_body();
    let mut out = Vec::with_capacity(origin.page_len() + 256 * 1024);
    let (mut first_byte, mut hook_end, mut origin_at_first_byte) = (None, None, 0);
    while let Some(f) = body.frame().await {
        let f = f.map_err(ctx("reading the page"))?;
        let Some(d) = f.data_ref() else { continue };
        if d.is_empty() {
            continue;
        }
        if first_byte.is_none() {
            first_byte = Some(t0.elapsed());
            origin_at_first_byte = origin.progress().written.load(Ordering::SeqCst);
        }
        let before = out.len();
        out.extend_from_slice(d);
        if hook_end.is_none() && find(&out[before.saturating_sub(HOOK_END.len())..], HOOK_END) {
            hook_end = Some(t0.elapsed());
        }
    }
    let last_byte = t0.elapsed();
    Ok(Fetch {
        head,
        first_byte: first_byte.unwrap_or(last_byte),
        hook_end,
        last_byte,
        origin_at_first_byte,
        body: out,
    })
}

/// Whether `needle` occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Settings of the TTFB benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// Page size in bytes.
    pub page_bytes: usize,
    /// Origin pacing.
    pub pace: Pace,
    /// Fetches per path (the median is reported).
    pub repeats: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_bytes: 5_000_000,
            pace: Pace {
                chunk: 64 * 1024,
                interval: Duration::from_millis(20),
                hold_after: None,
            },
            repeats: 3,
        }
    }
}

/// Medians over the fetches of one path.
#[derive(Debug, Clone)]
pub struct Row {
    /// Path name.
    pub path: &'static str,
    /// Median ms to the response head.
    pub head_ms: f64,
    /// Median ms to the first body byte.
    pub first_byte_ms: f64,
    /// Median ms to the end of the hook script (`None`: not injected).
    pub hook_end_ms: Option<f64>,
    /// Median ms to the last byte.
    pub last_byte_ms: f64,
    /// Median bytes the origin had sent at the first byte.
    pub origin_at_first_byte: f64,
    /// Median ms the origin took to send the whole page.
    pub origin_send_ms: f64,
}

/// The benchmark's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// Page length in bytes.
    pub page_len: usize,
    /// One row per path: direct, inject, pass-through.
    pub rows: Vec<Row>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark: every path `repeats` times, interleaved, checking
/// each body (the hook exactly once when injected; otherwise the page
/// byte for byte).
pub async fn run(opts: &Options) -> Result<Report, OverheadError> {
    let html = page(Variant::Plain, opts.page_bytes);
    let origin = SlowOrigin::start(
        html.clone(),
        Variant::Plain.content_type(),
        opts.pace.clone(),
    )
    .await?;
    let dir = tempfile::tempdir().map_err(ctx("temp dir"))?;
    let pem = dir.path().join("origin-ca.pem");
    std::fs::write(&pem, origin.ca_pem()).map_err(ctx("writing the origin CA"))?;
    let (proxy, _capture) = start_proxy(dir.path(), &pem).await?;
    let proxy_root = CertificateDer::from(proxy.ca().cert_der().to_vec());
    let paths: [(&'static str, Option<SocketAddr>, Mode); 3] = [
        ("direct", None, Mode::Navigate),
        (
            "proxy, inject (navigation)",
            Some(proxy.addr()),
            Mode::Navigate,
        ),
        (
            "proxy, pass-through (fetch)",
            Some(proxy.addr()),
            Mode::Fetch,
        ),
    ];
    let mut runs: Vec<Vec<(Fetch, f64)>> = vec![Vec::new(); paths.len()];
    for _ in 0..opts.repeats.max(1) {
        for (i, (name, via, mode)) in paths.iter().enumerate() {
            let root = if via.is_some() {
                proxy_root.clone()
            } else {
                origin.ca_der()
            };
            let f = fetch(&origin, root, *via, *mode).await?;
            if i == 1 {
                check_injected(&html, &f.body).map_err(|e| OverheadError::new(*name, e))?;
            } else if f.body != html {
                return Err(OverheadError::new(
                    *name,
                    "the page did not arrive byte for byte",
                ));
            }
            let send = origin.progress().send_nanos.load(Ordering::SeqCst) as f64 / 1e6;
            runs[i].push((f, send));
        }
    }
    let rows = paths
        .iter()
        .zip(runs)
        .map(|((name, _, _), fs)| {
            let pick = |g: &dyn Fn(&(Fetch, f64)) -> f64| {
                median(&mut fs.iter().map(g).collect::<Vec<_>>())
            };
            Row {
                path: name,
                head_ms: pick(&|f| ms(f.0.head)),
                first_byte_ms: pick(&|f| ms(f.0.first_byte)),
                hook_end_ms: fs[0]
                    .0
                    .hook_end
                    .map(|_| pick(&|f| f.0.hook_end.map_or(f64::NAN, ms))),
                last_byte_ms: pick(&|f| ms(f.0.last_byte)),
                origin_at_first_byte: pick(&|f| f.0.origin_at_first_byte as f64),
                origin_send_ms: pick(&|f| f.1),
            }
        })
        .collect();
    proxy.shutdown().await;
    Ok(Report {
        page_len: html.len(),
        rows,
    })
}

impl Report {
    /// The table: one row per path, ratios against the direct path.
    pub fn table(&self) -> Table {
        let mut t = Table::new(&[
            "path",
            "response head ms",
            "first body byte ms",
            "hook complete ms",
            "last byte ms",
            "origin had sent at first byte",
            "first byte / direct",
            "last byte / direct",
        ]);
        let Some(direct) = self.rows.first() else {
            return t;
        };
        for r in &self.rows {
            t.row(vec![
                r.path.to_owned(),
                format!("{:.1}", r.head_ms),
                format!("{:.1}", r.first_byte_ms),
                r.hook_end_ms.map_or("-".into(), |v| format!("{v:.1}")),
                format!("{:.1}", r.last_byte_ms),
                format!(
                    "{:.0} KiB ({:.1}%)",
                    r.origin_at_first_byte / 1024.0,
                    100.0 * r.origin_at_first_byte / self.page_len as f64
                ),
                ratio(r.first_byte_ms, direct.first_byte_ms),
                ratio(r.last_byte_ms, direct.last_byte_ms),
            ]);
        }
        t
    }

    /// Rewriter first byte minus pass-through first byte, and the origin's
    /// send time: a held-back first byte would make the first close to the
    /// second.
    pub fn held_back(&self) -> Option<(f64, f64)> {
        let inject = self.rows.get(1)?;
        let pass = self.rows.get(2)?;
        Some((
            inject.first_byte_ms - pass.first_byte_ms,
            inject.origin_send_ms,
        ))
    }
}
