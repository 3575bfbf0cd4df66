//! The `no-threads` variant's proxy handler: [`StripIsolation`] removes the
//! cross-origin isolation headers from every response, so pages are not
//! `crossOriginIsolated`, `SharedArrayBuffer` is absent, and wasm frameworks
//! fall back to one thread — the situation of most sites in the wild.
//!
//! Neither Chromium 156 nor its V8 has a switch that hides
//! `SharedArrayBuffer` from an isolated page (`--disable-features=SharedArrayBuffer`,
//! `--js-flags=--no-enable-sharedarraybuffer-per-context` and others were
//! tried and change nothing), so the variant works at the HTTP level, the same
//! way for every browser.

use http::Response;
use webinfer_proxy::{Body, Handler, RequestContext};

/// Response headers removed by [`StripIsolation`].
pub const ISOLATION_HEADERS: &[&str] = &[
    "cross-origin-opener-policy",
    "cross-origin-opener-policy-report-only",
    "cross-origin-embedder-policy",
    "cross-origin-embedder-policy-report-only",
];

/// Removes [`ISOLATION_HEADERS`] from every response.
#[derive(Debug, Default, Clone, Copy)]
pub struct StripIsolation;

impl Handler for StripIsolation {
    type Ctx = ();

    fn new_ctx(&self) {}

    fn on_response(
        &self,
        _info: &RequestContext,
        _ctx: &mut (),
        mut resp: Response<Body>,
    ) -> Response<Body> {
        for h in ISOLATION_HEADERS {
            resp.headers_mut().remove(*h);
        }
        resp
    }
}
