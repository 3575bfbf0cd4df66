//! Injection: puts the webinfer hook into every HTML document and
//! dedicated/shared worker script the browser loads through the proxy, using
//! the `webinfer-injector` crate, and opens a trace session for each copy.
//! [`Injection`] is driven by the capture handler ([`crate::Capture`]).
//!
//! - on the request: for navigations, frames and worker scripts
//!   ([`webinfer_injector::wants_injection`]) the conditional headers are
//!   removed, so the origin sends a full body rather than a `304` that would
//!   make the browser reuse a copy carrying an old session id.
//! - on the response: [`Injector::classify`] decides; for a document or worker
//!   a fresh session id (16 hex digits, random) is issued, the sink writes
//!   the proxy's `session` record for it ([`TraceSink::open_session`]), the
//!   hook is configured with it (`injector/CONFIG.md`), and the body is
//!   rewritten as it streams ([`Injector::transform`]). A worker's `parent`
//!   is the page its `Referer` names. The session the exchange belongs to is
//!   returned to the capture handler, so its `net` record lands in that session.
//! - Everything else passes through untouched (no body wrapping at all).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::stream::{StreamExt, TryStreamExt};
use http::{header, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use webinfer_injector::{ByteStream, HookConfig, Injector, Kind, Scope, SyncByteStream, Target};

use webinfer_proxy::{Body, BodyError, RequestContext};

use crate::sink::{unix_ms, SessionSource, SessionStart, TraceSink};

/// Hook settings that are not the sink's (endpoint, label and variant come
/// from the sink's [`crate::sink::SinkConfig`], so both sides agree).
#[derive(Debug, Clone, PartialEq)]
pub struct InjectConfig {
    /// Kernel profiling on (`kernel` records).
    pub kernels: bool,
    /// Period of the hook's periodic samplers in ms (0: off).
    pub sample_ms: u64,
    /// How often the hook sends batches, in ms.
    pub flush_ms: u64,
    /// The hooks mirror inferences and model loads as DevTools `performance.measure` entries
    /// (`--devtools-track`).
    pub devtools_track: bool,
}

impl Default for InjectConfig {
    fn default() -> Self {
        InjectConfig {
            kernels: false,
            sample_ms: 1000,
            flush_ms: 1000,
            devtools_track: false,
        }
    }
}

/// The injection step of the capture handler (see the module docs), with its
/// counters.
pub struct Injection {
    injector: Injector,
    sink: Arc<TraceSink>,
    cfg: InjectConfig,
    documents: AtomicU64,
    workers: AtomicU64,
}

impl Injection {
    /// Injects `injector`'s hook and opens sessions in `sink`.
    pub fn new(injector: Injector, sink: Arc<TraceSink>, cfg: InjectConfig) -> Self {
        Injection {
            injector,
            sink,
            cfg,
            documents: AtomicU64::new(0),
            workers: AtomicU64::new(0),
        }
    }

    /// Documents injected so far.
    pub fn documents(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }

    /// Worker scripts injected so far.
    pub fn workers(&self) -> u64 {
        self.workers.load(Ordering::Relaxed)
    }
}

/// A fresh session id: 16 lower-case hex digits from the process's random
/// SipHash keys over a counter and the clock.
pub fn new_sid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(unix_ms().to_bits());
    format!("{:016x}", h.finish())
}

fn to_stream(body: Body) -> ByteStream {
    StreamExt::boxed(body.into_data_stream().map_err(io::Error::other))
}

fn to_body(stream: SyncByteStream) -> Body {
    BodyExt::boxed(StreamBody::new(
        stream
            .map_ok(Frame::data)
            .map_err(|e| -> BodyError { Box::new(e) }),
    ))
}

impl Injection {
    /// The request step: a request that may be injected loses its
    /// conditional headers (no `304` for a copy with an old session id).
    pub(crate) fn prepare_request(&self, ctx: &RequestContext, req: &mut Request<Body>) {
        if webinfer_injector::wants_injection(&ctx.request_headers) {
            webinfer_injector::strip_conditional_headers(req.headers_mut());
        }
    }

    /// The response step: injects into a document or worker (opening its
    /// session) and returns the response with the session the exchange
    /// belongs to (the document's own sid; for a worker script its page's sid
    /// when known, else its own); `None` for responses passed through.
    pub(crate) fn rewrite(
        &self,
        ctx: &RequestContext,
        resp: Response<Body>,
    ) -> (Response<Body>, Option<String>) {
        let kind = self.injector.classify(
            &ctx.method,
            &ctx.request_headers,
            resp.status(),
            resp.headers(),
        );
        let (scope, source) = match &kind {
            Kind::Document => (Scope::Document, SessionSource::Page),
            Kind::Worker => (Scope::Worker, SessionSource::Worker),
            Kind::Passthrough(skip) => {
                tracing::trace!(url = %ctx.uri, ?skip, "not injected");
                return (resp, None);
            }
        };
        let sid = new_sid();
        let now = unix_ms();
        let url = ctx.uri.to_string();
        let origin = ctx.origin();
        let parent = match scope {
            Scope::Worker => ctx
                .request_headers
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| self.sink.session_for_referrer(r)),
            Scope::Document => None,
        };
        let start = SessionStart {
            sid: sid.clone(),
            source,
            url: url.clone(),
            status: resp.status().as_u16(),
            parent: parent.clone(),
            time_origin: now,
        };
        if let Err(e) = self.sink.open_session(&start) {
            tracing::error!(%url, "cannot write the session record: {e}");
        }
        let sink_cfg = self.sink.config();
        let cfg = HookConfig {
            sid: sid.clone(),
            parent: parent.clone(),
            scope,
            endpoint: sink_cfg.endpoint.clone(),
            kernels: self.cfg.kernels,
            sample_ms: self.cfg.sample_ms,
            flush_ms: self.cfg.flush_ms,
            proxy_time_ms: now,
            label: sink_cfg.label.clone(),
            variant: sink_cfg.variant.clone(),
            devtools_track: self.cfg.devtools_track,
            save_models: sink_cfg.save_models.is_some(),
            capture_inputs: sink_cfg.capture_inputs && sink_cfg.save_models.is_some(),
        };
        let (mut parts, body) = resp.into_parts();
        let t = self.injector.transform(
            &kind,
            &mut parts.headers,
            to_stream(body),
            &cfg,
            Target {
                url: &url,
                origin: Some(&origin),
            },
        );
        let session = match scope {
            Scope::Document => {
                self.documents.fetch_add(1, Ordering::Relaxed);
                sid.clone()
            }
            Scope::Worker => {
                self.workers.fetch_add(1, Ordering::Relaxed);
                parent.unwrap_or_else(|| sid.clone())
            }
        };
        tracing::debug!(%url, %sid, ?scope, "hook injected");
        (Response::from_parts(parts, to_body(t.body)), Some(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_distinct_safe_and_sixteen_hex_digits() {
        let a: Vec<String> = (0..1000).map(|_| new_sid()).collect();
        let set: std::collections::HashSet<&String> = a.iter().collect();
        assert_eq!(set.len(), a.len());
        assert!(a
            .iter()
            .all(|s| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())));
        assert!(a.iter().all(|s| crate::sink::batch::is_safe_sid(s)));
    }
}
