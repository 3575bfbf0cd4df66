//! The data every layer of the proxy shares: bodies ([`Body`], [`full`],
//! [`empty`]), what is known of a request ([`RequestContext`], [`Scheme`]),
//! what a handler decides about it ([`RequestOutcome`]) and the summary of a
//! finished exchange ([`Exchange`]). This module uses no other module of the
//! crate.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
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

/// Everything known about one request, the same for every step of its
/// life. What a handler keeps between steps is its own typed context
/// ([`crate::Handler::Ctx`]).
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
}

impl RequestContext {
    /// The `origin` of the request: `scheme://host[:port]` (default port omitted).
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            self.scheme.as_str(),
            authority(self.scheme, &self.host, self.port)
        )
    }
}

/// What [`crate::Handler::on_request`] decided.
pub enum RequestOutcome {
    /// Send this (possibly modified) request on.
    Forward(Request<Body>),
    /// Answer locally with this response; the request is never forwarded.
    Respond(Response<Body>),
}

/// One summary per exchange, given to [`crate::Handler::on_complete`].
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

/// `host` with brackets for IPv6 and `:port` unless it is the default.
pub(crate) fn authority(scheme: Scheme, host: &str, port: u16) -> String {
    let h = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    if port == scheme.default_port() {
        h
    } else {
        format!("{h}:{port}")
    }
}
