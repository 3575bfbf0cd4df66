//! The shared state of a running proxy ([`Core`]) and what every layer above
//! it needs from it: where a request goes ([`Target`], from the connection's
//! [`ConnInfo`]), a fresh [`RequestContext`] and handler context per request
//! ([`Started`]), the host policy's verdict, refusing a host, and wrapping a
//! response so the handler's `on_complete` runs at its end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{header, Request, Response, Uri};
use http_body_util::BodyExt;
use tokio::sync::watch;

use crate::body::{Completion, FinishBody, MeterState};
use crate::ca::CertificateAuthority;
use crate::config::Timeouts;
use crate::handler::Handler;
use crate::hosts::{normalize_host, HostPolicy, Verdict};
use crate::leaf::LeafCache;
use crate::stats::ProxyStats;
use crate::types::{authority, Body, RequestContext, Scheme};
use crate::upstream::Upstream;
use crate::{error_page, magic};

/// Shared state of a running proxy.
pub(crate) struct Core<H: Handler> {
    pub ca: Arc<CertificateAuthority>,
    pub leaves: LeafCache,
    pub upstream: Upstream,
    pub hosts: HostPolicy,
    pub handler: Arc<H>,
    pub stats: Arc<ProxyStats>,
    pub shutdown: watch::Receiver<()>,
    pub timeouts: Timeouts,
    /// Largest accepted client request head, in bytes.
    pub max_header_bytes: usize,
    /// The proxy's client-facing address (named on the CA page).
    pub listen: SocketAddr,
    next_id: AtomicU64,
}

/// How a client connection reached the request handler.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub client_addr: SocketAddr,
    /// `Https` inside an intercepted tunnel, `Http` otherwise.
    pub scheme: Scheme,
    /// The CONNECT authority when inside a tunnel.
    pub tunnel: Option<Arc<Tunnel>>,
}

/// The CONNECT target of a tunnel, shared by every request inside it.
#[derive(Debug)]
pub(crate) struct Tunnel {
    /// Normalised host (see [`crate::hosts::normalize_host`]).
    pub host: String,
    pub port: u16,
    /// `host[:port]` as the authority of the requests' URIs (parsed once
    /// per tunnel, not per request).
    authority: Option<http::uri::Authority>,
}

impl Tunnel {
    /// The tunnel to `host:port`, whose requests use `scheme`.
    pub fn new(host: String, port: u16, scheme: Scheme) -> Arc<Self> {
        let authority = authority(scheme, &host, port).parse().ok();
        Arc::new(Tunnel {
            host,
            port,
            authority,
        })
    }
}

/// One request's facts and its handler context, made together.
pub(crate) struct Started<H: Handler> {
    pub info: RequestContext,
    pub ctx: H::Ctx,
}

/// Where a request goes.
pub(crate) struct Target {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    pub uri: Uri,
}

fn unix_ms_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Splits `host[:port]` (IPv6 in brackets) into a normalised host (see
/// [`crate::hosts::normalize_host`]) and port.
fn split_authority(auth: &str, default_port: u16) -> Option<(String, u16)> {
    let a: http::uri::Authority = auth.parse().ok()?;
    let host = normalize_host(a.host());
    if host.is_empty() {
        return None;
    }
    Some((host, a.port_u16().unwrap_or(default_port)))
}

/// Whether the authority `auth` is exactly `host` (an already normalised
/// name or IPv4 address), optionally followed by `:port`.
fn names_tunnel_host(auth: &str, host: &str) -> bool {
    match auth.strip_prefix(host) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// Where a (non-CONNECT) request read on `conn` goes.
pub(crate) fn target_of<B>(conn: &ConnInfo, req: &Request<B>) -> Result<Target, String> {
    let uri = req.uri();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let (scheme, host, port) = match &conn.tunnel {
        None => match (uri.scheme_str(), uri.authority()) {
            (Some(s), Some(a)) => {
                let scheme = match s {
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    other => return Err(format!("unsupported scheme {other}")),
                };
                let (h, p) = split_authority(a.as_str(), scheme.default_port())
                    .ok_or_else(|| format!("bad authority {a}"))?;
                (scheme, h, p)
            }
            // An origin-form request sent to the proxy itself: the magic page.
            _ => (Scheme::Http, magic::MAGIC_HOST.to_string(), 80),
        },
        Some(tunnel) => {
            let scheme = conn.scheme;
            let th = &tunnel.host;
            let auth = uri.authority().map(|a| a.as_str()).or_else(|| {
                req.headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
            });
            // (load-sec, issue 8) A request inside a tunnel goes to the
            // tunnel's host and port only: a Host or :authority naming
            // another host is refused, never followed (no relay to host B
            // through a tunnel to host A or to the CA host).
            // Fast path: the Host the browser sends is almost always the
            // CONNECT host as written, already normalised (with or without
            // a port); only other spellings need parsing and normalising.
            let other = auth
                .filter(|a| !names_tunnel_host(a, th))
                .and_then(|a| split_authority(a, scheme.default_port()));
            if let Some((h, _)) = other.filter(|(h, _)| h != th) {
                return Err(format!(
                    "a request for {h} inside a tunnel to {th} is not forwarded"
                ));
            }
            // The URI from parts already parsed: the tunnel's authority and
            // the request's path.
            if let Some(a) = &tunnel.authority {
                let mut parts = http::uri::Parts::default();
                parts.scheme = Some(match scheme {
                    Scheme::Https => http::uri::Scheme::HTTPS,
                    Scheme::Http => http::uri::Scheme::HTTP,
                });
                parts.authority = Some(a.clone());
                parts.path_and_query = Some(
                    uri.path_and_query()
                        .filter(|p| p.as_str().starts_with('/'))
                        .cloned()
                        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
                );
                if let Ok(uri) = Uri::from_parts(parts) {
                    return Ok(Target {
                        scheme,
                        host: th.clone(),
                        port: tunnel.port,
                        uri,
                    });
                }
            }
            (scheme, th.clone(), tunnel.port)
        }
    };
    let abs = format!(
        "{}://{}{}",
        scheme.as_str(),
        authority(scheme, &host, port),
        path
    );
    let uri = abs
        .parse::<Uri>()
        .map_err(|e| format!("bad URL {abs}: {e}"))?;
    Ok(Target {
        scheme,
        host,
        port,
        uri,
    })
}

impl<H: Handler> Core<H> {
    /// Builds the shared state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ca: Arc<CertificateAuthority>,
        upstream: Upstream,
        hosts: HostPolicy,
        handler: Arc<H>,
        stats: Arc<ProxyStats>,
        shutdown: watch::Receiver<()>,
        timeouts: Timeouts,
        max_header_bytes: usize,
        listen: SocketAddr,
    ) -> Self {
        Core {
            leaves: LeafCache::new(ca.clone()),
            ca,
            upstream,
            hosts,
            handler,
            stats,
            shutdown,
            timeouts,
            max_header_bytes,
            listen: magic::client_facing(listen),
            next_id: AtomicU64::new(1),
        }
    }

    /// The facts of a request `req` going to `target`, and a fresh handler
    /// context for it.
    pub fn start<B>(&self, conn: &ConnInfo, target: Target, req: &Request<B>) -> Started<H> {
        let info = RequestContext {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            scheme: target.scheme,
            host: target.host,
            port: target.port,
            uri: target.uri,
            method: req.method().clone(),
            request_headers: req.headers().clone(),
            client_version: req.version(),
            started: Instant::now(),
            started_unix_ms: unix_ms_now(),
            client_addr: conn.client_addr,
        };
        Started {
            info,
            ctx: self.handler.new_ctx(),
        }
    }

    /// The host policy's verdict on `host:port` before anything is
    /// contacted: the rules on the host as written, then the deny rules on
    /// the addresses it stands for without DNS (an address literal or a
    /// `--resolve` rule). Addresses from DNS are checked when connecting.
    pub fn verdict(&self, host: &str, port: u16) -> Verdict {
        match self.hosts.check(host) {
            Verdict::Allowed => self.upstream.resolver.precheck(host, port),
            refused => refused,
        }
    }

    /// Answers a refused host with a 403 page; nothing is contacted.
    pub fn refuse(&self, s: Started<H>, verdict: &Verdict) -> Response<Body> {
        let reason = verdict.reason();
        let host = &s.info.host;
        tracing::info!(%host, %reason, "refused host");
        self.stats.refused(host);
        let resp = error_page::refused(host, &reason);
        self.complete(s, resp, false, None, Some(format!("refused: {reason}")))
    }

    /// Sends a locally made answer (the magic host, a handler's answer).
    pub fn finish_local(
        &self,
        s: Started<H>,
        resp: Response<Body>,
        error: Option<String>,
    ) -> Response<Body> {
        self.stats.local();
        self.complete(s, resp, false, None, error)
    }

    /// Wraps the response body so the handler's `on_complete` runs at its end.
    pub fn complete(
        &self,
        s: Started<H>,
        resp: Response<Body>,
        forwarded: bool,
        meter: Option<Arc<MeterState>>,
        error: Option<String>,
    ) -> Response<Body> {
        let (parts, body) = resp.into_parts();
        let completion = Completion {
            info: s.info,
            ctx: s.ctx,
            handler: self.handler.clone(),
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            forwarded,
            meter,
            error,
        };
        Response::from_parts(parts, FinishBody::new(body, completion).boxed())
    }
}
