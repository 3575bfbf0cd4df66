//! HTML rewrite throughput per core.
//!
//! Every case streams the same 64 KiB chunks of a realistic page (see
//! [`super::page`]) through one body transform on a current-thread Tokio
//! runtime, so all the work happens on the calling thread and its CPU clock
//! ([`super::cpu::thread_cpu`]) measures it. The injected cases call
//! [`Injector::transform`] with the headers the origin sends, exactly as the
//! proxy's inject filter does (charset sniffing, CSP patching, content
//! decoding, the `lol_html` rewriter; one fresh hook config per page).
//!
//! Cases:
//! - `copy`: each chunk copied into a fresh buffer, the least a body relay
//!   does (baseline);
//! - `lol_html, no handlers`: a `lol_html` rewriter with no handlers over
//!   the whole page (what a rewriter that parses every byte would pay);
//! - `inject` on each [`Variant`];
//! - `gzip decode only` and `gzip decode + inject` on the plain page
//!   compressed with gzip (level 6), counted in decoded bytes.
//!
//! Throughput is HTML bytes in (decoded size) over thread CPU time (MB/s
//! per core, MB = 10^6 bytes) and over wall time.

use std::io::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use webinfer_injector::{decode, ByteStream, HookConfig, Injector, Kind, Scope, Target};

use super::cpu::thread_cpu;
use super::page::{chunks, page, Variant};
use super::{ctx, OverheadError};

/// The per-core throughput goal of the HTML rewriter, MB/s.
pub const TARGET_MB_S_PER_CORE: f64 = 300.0;

/// Body chunk size (what hyper typically hands over from TLS).
pub const CHUNK: usize = 64 * 1024;

/// One measured case.
#[derive(Debug, Clone)]
pub struct Row {
    /// Case name.
    pub case: String,
    /// HTML bytes processed per run (decoded size).
    pub bytes_per_run: usize,
    /// Runs measured.
    pub runs: usize,
    /// Thread CPU time over all runs.
    pub cpu: Duration,
    /// Wall time over all runs.
    pub wall: Duration,
}

impl Row {
    /// MB (10^6 bytes) per second of thread CPU time: per core.
    pub fn mb_s_per_core(&self) -> f64 {
        (self.bytes_per_run * self.runs) as f64 / 1e6 / self.cpu.as_secs_f64().max(1e-9)
    }

    /// MB per second of wall time.
    pub fn mb_s_wall(&self) -> f64 {
        (self.bytes_per_run * self.runs) as f64 / 1e6 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Page size in bytes.
    pub page_bytes: usize,
    /// Each case runs until it has processed at least this many bytes.
    pub min_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_bytes: 5_000_000,
            min_bytes: 500_000_000,
        }
    }
}

/// The headers an origin sends with a page of `variant`, `coding` as its
/// `Content-Encoding`.
pub fn origin_headers(variant: Variant, coding: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(variant.content_type()),
    );
    if let Some(c) = coding {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.insert(CONTENT_ENCODING, v);
        }
    }
    h
}

/// The document target used for every rewrite.
pub const TARGET: Target<'static> = Target {
    url: "https://bench.test/article",
    origin: Some("https://bench.test"),
};

fn body(chunks: &[Bytes]) -> ByteStream {
    let owned: Vec<Bytes> = chunks.to_vec();
    stream::iter(owned.into_iter().map(Ok)).boxed()
}

async fn drain(
    mut s: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Unpin,
) -> Result<Vec<Bytes>, OverheadError> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.push(c.map_err(ctx("body stream"))?);
    }
    Ok(out)
}

/// Rewrites one page as the proxy does and returns the output chunks.
pub async fn inject(
    injector: &Injector,
    headers: &HeaderMap,
    input: &[Bytes],
) -> Result<Vec<Bytes>, OverheadError> {
    let mut h = headers.clone();
    let cfg = HookConfig::new("0123456789abcdef", Scope::Document, 0.0);
    let t = injector.transform(&Kind::Document, &mut h, body(input), &cfg, TARGET);
    drain(t.body).await
}

/// Passes the whole page through a `lol_html` rewriter with no handlers and
/// returns its output.
pub fn lol_html_no_handlers(input: &[Bytes]) -> Result<Vec<u8>, OverheadError> {
    let mut out = Vec::with_capacity(input.iter().map(Bytes::len).sum());
    let mut rw = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |c: &[u8]| {
        out.extend_from_slice(c)
    });
    for c in input {
        rw.write(c).map_err(ctx("lol_html write"))?;
    }
    rw.end().map_err(ctx("lol_html end"))?;
    Ok(out)
}

/// gzip (level 6) of `data`, cut into [`CHUNK`]s.
pub fn gzip(data: &[u8]) -> Result<Vec<Bytes>, OverheadError> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).map_err(ctx("gzip"))?;
    let z = e.finish().map_err(ctx("gzip"))?;
    Ok(chunks(&z, CHUNK))
}

/// Runs `run` (one page) until `min_bytes` are processed; one unmeasured
/// warm-up run first.
async fn measure<F, Fut>(
    case: &str,
    bytes_per_run: usize,
    min_bytes: usize,
    mut run: F,
) -> Result<Row, OverheadError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), OverheadError>>,
{
    run().await?;
    let runs = min_bytes.div_ceil(bytes_per_run.max(1)).max(3);
    let (c0, w0) = (thread_cpu(), Instant::now());
    for _ in 0..runs {
        run().await?;
    }
    Ok(Row {
        case: case.to_owned(),
        bytes_per_run,
        runs,
        cpu: thread_cpu() - c0,
        wall: w0.elapsed(),
    })
}

/// Runs every case; must be called on a current-thread runtime (or from
/// `block_on`) so the work stays on this thread.
pub async fn run(opts: &Options) -> Result<Vec<Row>, OverheadError> {
    let injector = Injector::new();
    let plain = page(Variant::Plain, opts.page_bytes);
    let plain_chunks = chunks(&plain, CHUNK);
    let n = plain.len();
    let mut rows = Vec::new();

    rows.push(
        measure("copy (baseline)", n, opts.min_bytes, || async {
            let out: Vec<Bytes> = plain_chunks
                .iter()
                .map(|c| Bytes::copy_from_slice(c))
                .collect();
            std::hint::black_box(out);
            Ok(())
        })
        .await?,
    );
    rows.push(
        measure(
            "lol_html, no handlers, whole page",
            n,
            opts.min_bytes,
            || async {
                std::hint::black_box(lol_html_no_handlers(&plain_chunks)?);
                Ok(())
            },
        )
        .await?,
    );
    for variant in [Variant::Plain, Variant::MetaCsp, Variant::HeavyHead] {
        let p = page(variant, opts.page_bytes);
        let pc = chunks(&p, CHUNK);
        let headers = origin_headers(variant, None);
        let name = format!("inject: {}", variant.name());
        rows.push(
            measure(&name, p.len(), opts.min_bytes, || async {
                std::hint::black_box(inject(&injector, &headers, &pc).await?);
                Ok(())
            })
            .await?,
        );
    }
    let gz = gzip(&plain)?;
    rows.push(
        measure(
            "gzip decode only (plain page)",
            n,
            opts.min_bytes,
            || async {
                let s = decode::decode(
                    &[decode::Coding::Gzip],
                    body(&gz),
                    decode::DEFAULT_MAX_DECODED,
                );
                std::hint::black_box(drain(s).await?);
                Ok(())
            },
        )
        .await?,
    );
    let gz_headers = origin_headers(Variant::Plain, Some("gzip"));
    rows.push(
        measure(
            "gzip decode + inject (plain page)",
            n,
            opts.min_bytes,
            || async {
                std::hint::black_box(inject(&injector, &gz_headers, &gz).await?);
                Ok(())
            },
        )
        .await?,
    );
    Ok(rows)
}

/// The bytes in front of an injected hook's text: the start of its
/// `<script>` and of its config prefix.
pub fn hook_start() -> Vec<u8> {
    format!("<script>{} = ", webinfer_injector::hook::CONFIG_GLOBAL).into_bytes()
}

/// The end of an injected hook script.
pub const HOOK_END: &[u8] = b"\n;\n</script>";

/// Checks that `output` is `input` with exactly one hook script inserted
/// right after the first `<head>` and every other byte unchanged (for pages
/// whose charset comes from the header and whose head has no CSP `<meta>`).
/// The script must hold the embedded hook source.
pub fn check_injected(input: &[u8], output: &[u8]) -> Result<(), String> {
    let start = hook_start();
    let n = memchr::memmem::find_iter(output, &start).count();
    if n != 1 {
        return Err(format!("the hook is in the output {n} times, not once"));
    }
    let head = memchr::memmem::find(input, b"<head>").ok_or("the page has no <head>")? + 6;
    if output.get(..head) != Some(&input[..head]) {
        return Err("the bytes up to <head> changed".into());
    }
    if !output[head..].starts_with(&start) {
        return Err("the hook is not the first thing in <head>".into());
    }
    let end = memchr::memmem::find(&output[head..], HOOK_END)
        .ok_or("the hook script does not end")?
        + head
        + HOOK_END.len();
    let script = &output[head..end];
    let source = webinfer_injector::Hook::embedded();
    if memchr::memmem::find(script, source.source().as_bytes()).is_none() {
        return Err("the injected script does not hold the hook source".into());
    }
    if output[end..] != input[head..] {
        return Err("the bytes after the hook differ from the page".into());
    }
    Ok(())
}
