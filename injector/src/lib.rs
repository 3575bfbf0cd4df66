//! Streams the webinfer hook into the pages and workers a browser loads.
//!
//! [`Injector::classify`] decides from the request and response heads whether
//! a response is an HTML document to inject into (navigations and frames), a
//! worker script to prepend the hook to, or something to pass through byte
//! for byte. [`Injector::transform`] then rewrites the headers (CSP patched,
//! `Content-Encoding`/`Content-Length` dropped because the body is decoded and
//! changes length, `Cache-Control: no-store` because every copy carries its
//! own session id) and returns the rewritten body as a stream.
//!
//! This crate knows nothing about the proxy: bodies are streams of
//! `io::Result<Bytes>`. The proxy's inject filter adapts them.
//!
//! Modules: [`rewrite`] (HTML), [`worker`] (worker scripts), [`decode`]
//! (content codings), [`charset`], [`csp`], [`hook`] (embedded JS and config
//! prefix), [`stream`] (driving a chunk transform as a stream).

pub mod charset;
pub mod csp;
pub mod decode;
pub mod hook;
pub mod rewrite;
pub mod stream;
pub mod worker;

use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION,
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE,
};
use http::{Method, StatusCode};

pub use decode::{ByteStream, Coding};
pub use hook::{Hook, HookConfig, Scope, Script, DEFAULT_ENDPOINT};
pub use stream::SyncByteStream;

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An HTML document: inject the hook `<script>` at the top of `<head>`.
    Document,
    /// A dedicated or shared worker script: prepend the hook.
    Worker,
    /// Leave it alone, for this reason.
    Passthrough(Skip),
}

/// Why a response is passed through untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// `HEAD`, 1xx, 204, 205 or 304: no body.
    NoBody,
    /// 206: a byte range of a resource cannot be rewritten.
    PartialContent,
    /// The request is not for a document, frame or worker.
    NotDocumentOrWorker,
    /// A service worker script: the browser compares its bytes on every
    /// update check, and a per-load session id would make it reinstall.
    ServiceWorker,
    /// A document request answered with something other than `text/html`.
    NotHtml,
    /// A worker request answered with something other than JavaScript.
    NotJavaScript,
    /// A module imported by a module worker: fetched with the worker's
    /// destination but in `cors` mode (the top-level worker script is
    /// fetched in `same-origin` mode); the hook is already in its worker.
    WorkerImport,
    /// `Content-Disposition: attachment`: a download, not a page.
    Download,
    /// A `Content-Encoding` this crate cannot decode.
    UnsupportedCoding(String),
    /// The header charset is not ASCII-compatible (UTF-16, ISO-2022-JP).
    NotAsciiCompatible(&'static str),
}

/// The `Sec-Fetch-Dest` values treated as documents.
const DOCUMENT_DESTS: &[&str] = &["document", "iframe", "frame"];
/// The `Sec-Fetch-Dest` values treated as workers that get the hook.
const WORKER_DESTS: &[&str] = &["worker", "sharedworker"];

/// Where a response came from (for CSP matching and log lines).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Absolute URL of the request.
    pub url: &'a str,
    /// Its origin, `scheme://host[:port]`.
    pub origin: Option<&'a str>,
}

/// The result of [`Injector::transform`].
pub struct Transformed {
    /// The new body.
    pub body: SyncByteStream,
    /// The injected script (its text and CSP hash), `None` for a passthrough.
    pub script: Option<Script>,
}

/// Classifies and rewrites responses with one hook source.
#[derive(Debug, Clone)]
pub struct Injector {
    hook: Hook,
    max_decoded: u64,
}

impl Default for Injector {
    fn default() -> Self {
        Injector::with_hook(Hook::default())
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The MIME type essence of a `Content-Type` value, lower-cased.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_javascript_mime(essence: &str) -> bool {
    matches!(
        essence,
        "text/javascript"
            | "application/javascript"
            | "application/x-javascript"
            | "application/ecmascript"
            | "text/ecmascript"
            | "text/x-javascript"
            | "application/x-ecmascript"
            | "text/jscript"
            | "text/livescript"
    )
}

/// The request's `Sec-Fetch-Dest`, lower-cased (empty when absent).
fn fetch_dest(req: &HeaderMap) -> String {
    header_str(req, &HeaderName::from_static("sec-fetch-dest"))
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a request is one whose response may get the hook: a navigation or
/// frame (`Sec-Fetch-Dest: document|iframe|frame`, or no `Sec-Fetch-Dest` and
/// an `Accept` naming `text/html`), or a dedicated/shared worker script.
pub fn wants_injection(req: &HeaderMap) -> bool {
    let dest = fetch_dest(req);
    if dest.is_empty() {
        return header_str(req, &ACCEPT)
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
    }
    DOCUMENT_DESTS.contains(&dest.as_str()) || WORKER_DESTS.contains(&dest.as_str())
}

/// Removes the conditional headers of a request that [`wants_injection`], so
/// the origin answers with a full body rather than `304 Not Modified` (a
/// cached copy would carry an old session id).
pub fn strip_conditional_headers(req: &mut HeaderMap) {
    for h in [IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_RANGE] {
        req.remove(h);
    }
}

impl Injector {
    /// An injector with the hook embedded from `injector/js/`.
    pub fn new() -> Self {
        Injector::with_hook(Hook::embedded())
    }

    /// An injector with a given hook source.
    pub fn with_hook(hook: Hook) -> Self {
        Injector {
            hook,
            max_decoded: decode::DEFAULT_MAX_DECODED,
        }
    }

    /// Bounds the decoded size of each rewritten response, per decoding
    /// stage (default [`decode::DEFAULT_MAX_DECODED`]); a body that decodes
    /// to more ends with an error at that point.
    pub fn max_decoded_bytes(mut self, max: u64) -> Self {
        self.max_decoded = max;
        self
    }

    /// The bound set by [`Injector::max_decoded_bytes`].
    pub fn max_decoded(&self) -> u64 {
        self.max_decoded
    }

    /// The hook source in use.
    pub fn hook(&self) -> &Hook {
        &self.hook
    }

    /// Decides what to do with a response from the request method and
    /// headers and the response status and headers.
    pub fn classify(
        &self,
        method: &Method,
        req: &HeaderMap,
        status: StatusCode,
        resp: &HeaderMap,
    ) -> Kind {
        if *method == Method::HEAD
            || status.is_informational()
            || matches!(status.as_u16(), 204 | 205 | 304)
        {
            return Kind::Passthrough(Skip::NoBody);
        }
        if status == StatusCode::PARTIAL_CONTENT {
            return Kind::Passthrough(Skip::PartialContent);
        }
        let dest = fetch_dest(req);
        let content_type = header_str(resp, &CONTENT_TYPE).unwrap_or_default();
        let kind = if dest == "serviceworker" {
            return Kind::Passthrough(Skip::ServiceWorker);
        } else if WORKER_DESTS.contains(&dest.as_str()) {
            let mode =
                header_str(req, &HeaderName::from_static("sec-fetch-mode")).unwrap_or_default();
            if mode.trim().eq_ignore_ascii_case("cors") {
                return Kind::Passthrough(Skip::WorkerImport);
            }
            if !is_javascript_mime(&essence(content_type)) {
                return Kind::Passthrough(Skip::NotJavaScript);
            }
            Kind::Worker
        } else if wants_injection(req) {
            if essence(content_type) != "text/html" {
                return Kind::Passthrough(Skip::NotHtml);
            }
            if header_str(resp, &CONTENT_DISPOSITION).is_some_and(|d| {
                d.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("attachment")
            }) {
                return Kind::Passthrough(Skip::Download);
            }
            if let Some(enc) = charset::from_content_type(content_type) {
                if !enc.is_ascii_compatible() {
                    return Kind::Passthrough(Skip::NotAsciiCompatible(enc.name()));
                }
            }
            Kind::Document
        } else {
            return Kind::Passthrough(Skip::NotDocumentOrWorker);
        };
        if let Err(e) = decode::codings(resp) {
            return Kind::Passthrough(Skip::UnsupportedCoding(e.0));
        }
        kind
    }

    /// The script one copy of the hook gets with `cfg` (what
    /// [`Injector::transform`] inserts).
    pub fn script(&self, cfg: &HookConfig) -> Script {
        self.hook.script(cfg)
    }

    /// Rewrites the response `headers` in place and returns the new body.
    ///
    /// For [`Kind::Document`] and [`Kind::Worker`]: the body is decoded and
    /// sent as identity (`Content-Encoding`, `Content-Length`,
    /// `Accept-Ranges` and digest headers removed), `Cache-Control` becomes
    /// `no-store`, and every `Content-Security-Policy` is patched (see
    /// [`csp`]). For [`Kind::Passthrough`] nothing changes.
    pub fn transform(
        &self,
        kind: &Kind,
        headers: &mut HeaderMap,
        body: ByteStream,
        cfg: &HookConfig,
        target: Target<'_>,
    ) -> Transformed {
        if matches!(kind, Kind::Passthrough(_)) {
            return Transformed {
                body: stream::sync(body),
                script: None,
            };
        }
        let codings = match decode::codings(headers) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(url = target.url, "{e}: passed through without the hook");
                return Transformed {
                    body: stream::sync(body),
                    script: None,
                };
            }
        };
        let script = self.hook.script(cfg);
        let body = decode::decode(&codings, body, self.max_decoded);
        for h in [CONTENT_ENCODING, CONTENT_LENGTH, ACCEPT_RANGES] {
            headers.remove(h);
        }
        for h in ["content-digest", "repr-digest", "content-md5", "digest"] {
            headers.remove(h);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let endpoint = csp::Endpoint {
            origin: target.origin,
            path: &cfg.endpoint,
        };
        let body = match kind {
            Kind::Document => {
                csp::patch_headers(
                    headers,
                    &csp::Patch {
                        script_hash: Some(script.csp_hash()),
                        endpoint: Some(endpoint),
                    },
                );
                let opts = rewrite::DocumentOptions {
                    script: script.clone(),
                    header_charset: header_str(headers, &CONTENT_TYPE)
                        .and_then(charset::from_content_type),
                    origin: target.origin.map(str::to_owned),
                    endpoint: cfg.endpoint.clone(),
                    url: target.url.to_owned(),
                };
                stream::drive(body, rewrite::DocumentRewriter::new(opts), target.url)
            }
            _ => {
                csp::patch_headers(
                    headers,
                    &csp::Patch {
                        script_hash: None,
                        endpoint: Some(endpoint),
                    },
                );
                stream::drive(
                    body,
                    worker::WorkerPrepender::new(script.text()),
                    target.url,
                )
            }
        };
        Transformed {
            body,
            script: Some(script),
        }
    }
}
