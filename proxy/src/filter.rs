//! The per-request seam: [`RequestContext`], the [`Filter`] trait and the
//! [`Exchange`] summary, in the spirit of pingora's phases.
//!
//! Every request the proxy sees — plain HTTP in absolute form, and HTTP/1.1 or
//! HTTP/2 requests inside an intercepted TLS tunnel — goes through the same
//! steps:
//!
//! 1. the host policy (`--allow-host`/`--deny-host`) is checked; a refused host
//!    gets a 403 page and no filter's `on_request` runs;
//! 2. every filter's [`Filter::on_request`] runs in order; the first that
//!    returns [`RequestOutcome::Respond`] answers locally and the request is
//!    never forwarded;
//! 3. the request goes upstream; every filter's [`Filter::on_response`] runs in
//!    order on the response head (and may wrap the body);
//! 4. once the response body has been sent to the client (or failed), every
//!    filter's [`Filter::on_complete`] runs with one [`Exchange`] summary.
//!
//! ```
//! use std::sync::Arc;
//! use webinfer_proxy::filter::{self, Exchange, Filter, RequestContext, RequestOutcome, Body};
//! use futures_util::future::BoxFuture;
//! use http::{Request, Response, StatusCode};
//!
//! /// Answers `/ping` on every host and logs every finished exchange.
//! struct Ping;
//!
//! impl Filter for Ping {
//!     fn on_request<'a>(
//!         &'a self,
//!         ctx: &'a mut RequestContext,
//!         req: Request<Body>,
//!     ) -> BoxFuture<'a, RequestOutcome> {
//!         Box::pin(async move {
//!             if ctx.uri.path() == "/ping" {
//!                 let resp = Response::builder()
//!                     .status(StatusCode::OK)
//!                     .body(filter::full("pong"))
//!                     .unwrap();
//!                 RequestOutcome::Respond(resp)
//!             } else {
//!                 RequestOutcome::Forward(req)
//!             }
//!         })
//!     }
//!
//!     fn on_complete(&self, _ctx: &RequestContext, ex: &Exchange) {
//!         println!("{} {} -> {} ({} bytes)", ex.method, ex.url, ex.status, ex.bytes);
//!     }
//! }
//!
//! let filters: Vec<Arc<dyn Filter>> = vec![Arc::new(Ping)];
//! # let _ = filters;
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};

/// The error type carried by every [`Body`]: any boxed error.
pub type BodyError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A streaming body (request or response), `Send + Sync`. Nothing in the proxy
/// ever collects a whole body; wrap it to transform it chunk by chunk.
pub type Body = BoxBody<Bytes, BodyError>;

/// A body holding `data` in full (for small locally generated answers).
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// How the client reached the proxy for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (absolute-form request to the proxy).
    Http,
    /// HTTPS intercepted inside a CONNECT tunnel.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The default port of the scheme (80 or 443).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Everything known about one request, shared by all filters for its whole life.
#[derive(Debug)]
pub struct RequestContext {
    /// Proxy-wide unique id of the exchange (increasing from 1).
    pub id: u64,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host name (or IP literal, without brackets), lower case.
    pub host: String,
    /// Port of the origin server.
    pub port: u16,
    /// Absolute URI of the request (`https://host[:port]/path?query`).
    pub uri: http::Uri,
    /// Request method.
    pub method: http::Method,
    /// Request headers as received from the client (before hop-by-hop removal).
    pub request_headers: http::HeaderMap,
    /// HTTP version the client spoke.
    pub client_version: http::Version,
    /// When the proxy received the request head.
    pub started: Instant,
    /// The same instant as Unix milliseconds.
    pub started_unix_ms: f64,
    /// The client's socket address.
    pub client_addr: SocketAddr,
    /// Free per-request state for filters (keyed by type).
    pub state: http::Extensions,
}

impl RequestContext {
    /// The `origin` of the request: `scheme://host[:port]` (default port omitted).
    pub fn origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            format!("{}://{}", self.scheme.as_str(), host)
        } else {
            format!("{}://{}:{}", self.scheme.as_str(), host, self.port)
        }
    }
}

/// What [`Filter::on_request`] decided.
pub enum RequestOutcome {
    /// Send this (possibly modified) request on.
    Forward(Request<Body>),
    /// Answer locally with this response; the request is never forwarded.
    Respond(Response<Body>),
}

/// One summary per exchange, given to [`Filter::on_complete`].
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Absolute URL of the request.
    pub url: String,
    /// Request method.
    pub method: String,
    /// Status sent to the client.
    pub status: u16,
    /// `Content-Type` of the response, if any.
    pub content_type: Option<String>,
    /// Response body bytes as received from upstream (for local answers: as sent).
    pub bytes: u64,
    /// When the request arrived, Unix milliseconds.
    pub start_unix_ms: f64,
    /// From request arrival to the end of the response body, milliseconds.
    pub dur_ms: f64,
    /// What went wrong, if the exchange failed or was cut short.
    pub error: Option<String>,
    /// Whether the request was sent upstream (false: refused or answered locally).
    pub forwarded: bool,
}

/// A per-request hook. Filters run in the order they were added to the
/// [`crate::ProxyBuilder`]. All methods have pass-through defaults.
pub trait Filter: Send + Sync + 'static {
    /// Runs after the host policy check, before anything is sent upstream.
    /// Returning [`RequestOutcome::Respond`] answers locally: later filters'
    /// `on_request` are skipped and the request is never forwarded.
    fn on_request<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: Request<Body>,
    ) -> BoxFuture<'a, RequestOutcome> {
        let _ = ctx;
        Box::pin(async move { RequestOutcome::Forward(req) })
    }

    /// Runs when the upstream response head arrived (hop-by-hop headers and
    /// `Alt-Svc` already removed). May replace headers and wrap the body for a
    /// streaming transform. Not called for local answers.
    fn on_response(&self, ctx: &mut RequestContext, resp: Response<Body>) -> Response<Body> {
        let _ = ctx;
        resp
    }

    /// Runs once per exchange after the response body was sent to the client
    /// (or the exchange failed), also for refused hosts and local answers.
    fn on_complete(&self, ctx: &RequestContext, ex: &Exchange) {
        let _ = (ctx, ex);
    }
}
