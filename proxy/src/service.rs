//! The request pipeline shared by every flavour of request: target
//! resolution, magic host, host policy, filters, forwarding, response
//! clean-up, metering and the per-exchange summary.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{header, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::body::{Completion, FinishBody, MeteredBody};
use crate::ca::CertificateAuthority;
use crate::config::Timeouts;
use crate::filter::{empty, Body, Filter, RequestContext, RequestOutcome, Scheme};
use crate::hosts::{normalize_host, HostPolicy, Verdict};
use crate::idle::{Activity, IdleBody, IdleTimeout, Stalled};
use crate::leaf::LeafCache;
use crate::stats::ProxyStats;
use crate::upstream::{describe_client_error, Upstream, UpstreamError};
use crate::{connect, error_page, headers, magic};

/// Shared state of a running proxy.
pub(crate) struct Core {
    pub ca: Arc<CertificateAuthority>,
    pub leaves: LeafCache,
    pub upstream: Upstream,
    pub hosts: HostPolicy,
    pub filters: Arc<[Arc<dyn Filter>]>,
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

fn target_of(conn: &ConnInfo, req: &Request<Incoming>) -> Result<Target, String> {
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

impl Core {
    /// Builds the shared state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ca: Arc<CertificateAuthority>,
        upstream: Upstream,
        hosts: HostPolicy,
        filters: Vec<Arc<dyn Filter>>,
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
            filters: filters.into(),
            stats,
            shutdown,
            timeouts,
            max_header_bytes,
            listen: magic::client_facing(listen),
            next_id: AtomicU64::new(1),
        }
    }

    /// A fresh context for a request `req` going to `target`.
    pub fn context<B>(&self, conn: &ConnInfo, target: Target, req: &Request<B>) -> RequestContext {
        RequestContext {
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
            state: http::Extensions::new(),
        }
    }

    /// Entry point for every request read from a client connection.
    pub async fn handle(
        self: Arc<Self>,
        conn: ConnInfo,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        self.stats.request();
        if req.method() == Method::CONNECT {
            if conn.tunnel.is_none() {
                return Ok(connect::handle_connect(self, conn, req));
            }
            return Ok(error_page::bad_request(
                "",
                "CONNECT inside an intercepted tunnel is not supported",
            ));
        }
        Ok(self.handle_request(conn, req).await)
    }

    async fn handle_request(
        self: &Arc<Self>,
        conn: ConnInfo,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let target = match target_of(&conn, &req) {
            Ok(t) => t,
            Err(reason) => return error_page::bad_request("", &reason),
        };
        let mut ctx = self.context(&conn, target, &req);
        if magic::is_magic_host(&ctx.host) {
            let resp = magic::serve(&self.ca, self.listen, &ctx.method, ctx.uri.path());
            return self.finish_local(ctx, resp, None);
        }
        // Inside a tunnel the target is the tunnel's host and port (see
        // `target_of`), whose verdict was Allowed when the CONNECT was
        // answered, and the policy never changes: no second check per
        // request. Addresses from DNS are still checked on every connect.
        if conn.tunnel.is_none() {
            let verdict = self.verdict(&ctx.host, ctx.port);
            if verdict != Verdict::Allowed {
                return self.refuse(ctx, &verdict);
            }
        }
        let websocket =
            req.version() == Version::HTTP_11 && headers::is_websocket_upgrade(req.headers());
        let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
        // The request body may not stall longer than the idle timeout; its
        // progress also moves the response-head deadline (see `forward`).
        let activity = Activity::new();
        let idle = self.timeouts.idle;
        let body_activity = activity.clone();
        let mut req = req.map(|b| {
            IdleBody::new(
                b.map_err(Into::into).boxed(),
                idle,
                Stalled::Client,
                Some(body_activity),
            )
            .boxed()
        });
        for f in self.filters.iter() {
            match f.on_request(&mut ctx, req).await {
                RequestOutcome::Forward(r) => req = r,
                RequestOutcome::Respond(resp) => return self.finish_local(ctx, resp, None),
            }
        }
        self.forward(ctx, req, client_upgrade, activity).await
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
    pub fn refuse(&self, ctx: RequestContext, verdict: &Verdict) -> Response<Body> {
        let reason = verdict.reason();
        tracing::info!(host = %ctx.host, %reason, "refused host");
        self.stats.refused(&ctx.host);
        let resp = error_page::refused(&ctx.host, &reason);
        self.complete(ctx, resp, false, None, Some(format!("refused: {reason}")))
    }

    fn finish_local(
        &self,
        ctx: RequestContext,
        resp: Response<Body>,
        error: Option<String>,
    ) -> Response<Body> {
        self.stats.local();
        self.complete(ctx, resp, false, None, error)
    }

    /// Wraps the response body so the filters' `on_complete` runs at its end.
    fn complete(
        &self,
        ctx: RequestContext,
        resp: Response<Body>,
        forwarded: bool,
        meter: Option<Arc<crate::body::MeterState>>,
        error: Option<String>,
    ) -> Response<Body> {
        let (parts, body) = resp.into_parts();
        let completion = Completion {
            ctx,
            filters: self.filters.clone(),
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

    async fn forward(
        &self,
        mut ctx: RequestContext,
        mut req: Request<Body>,
        client_upgrade: Option<OnUpgrade>,
        activity: Arc<Activity>,
    ) -> Response<Body> {
        let websocket = client_upgrade.is_some();
        headers::strip_hop_by_hop(req.headers_mut(), websocket);
        req.headers_mut().remove(header::HOST);
        *req.uri_mut() = ctx.uri.clone();
        *req.version_mut() = Version::HTTP_11;
        let client = if websocket {
            &self.upstream.client_h1
        } else {
            &self.upstream.client
        };
        self.stats.forwarded();
        let limit = self.timeouts.response;
        let response = client.request(req);
        tokio::pin!(response);
        // The response head must come within `limit` of the request being
        // sent, or of the last progress of its body (an upload may be long).
        let result = loop {
            let deadline = activity.last() + limit;
            match tokio::time::timeout_at(deadline.into(), response.as_mut()).await {
                Ok(r) => break Ok(r),
                Err(_) if activity.last() + limit <= Instant::now() => break Err(limit),
                Err(_) => continue,
            }
        };
        let mut resp = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let reason = describe_client_error(&e);
                tracing::warn!(host = %ctx.host, url = %ctx.uri, %reason, "upstream failure");
                self.stats.upstream_error();
                let page = match failure_kind(&e) {
                    Failure::Refused => {
                        self.stats.refused(&ctx.host);
                        error_page::refused(&ctx.host, &reason)
                    }
                    Failure::ClientStalled => error_page::request_timeout(&ctx.host, &reason),
                    Failure::Timeout => error_page::gateway_timeout(&ctx.host, &reason),
                    Failure::Other => error_page::bad_gateway(&ctx.host, &reason),
                };
                return self.complete(ctx, page, true, None, Some(reason));
            }
            Err(limit) => {
                let reason = response_timeout_reason(&ctx.host, ctx.port, limit);
                tracing::warn!(host = %ctx.host, url = %ctx.uri, %reason, "upstream timeout");
                self.stats.upstream_error();
                let page = error_page::gateway_timeout(&ctx.host, &reason);
                return self.complete(ctx, page, true, None, Some(reason));
            }
        };
        if let (Some(client_up), StatusCode::SWITCHING_PROTOCOLS) = (client_upgrade, resp.status())
        {
            let upstream_up = hyper::upgrade::on(&mut resp);
            let host = ctx.host.clone();
            let idle = self.timeouts.tunnel_idle;
            tokio::spawn(async move {
                match tokio::try_join!(client_up, upstream_up) {
                    Ok((c, u)) => {
                        let mut c = TokioIo::new(c);
                        let mut u = TokioIo::new(u);
                        if let Err(e) = crate::limits::relay(&mut c, &mut u, idle).await {
                            tracing::info!(%host, error = %e, "websocket relay ended");
                        }
                    }
                    Err(e) => tracing::warn!(%host, error = %e, "websocket upgrade failed"),
                }
            });
            let (mut parts, _) = resp.into_parts();
            headers::strip_response(&mut parts.headers, true);
            return self.complete(ctx, Response::from_parts(parts, empty()), true, None, None);
        }
        let (mut parts, incoming) = resp.into_parts();
        headers::strip_response(&mut parts.headers, false);
        let incoming = IdleBody::new(
            incoming.map_err(Into::into).boxed(),
            self.timeouts.idle,
            Stalled::Upstream,
            None,
        );
        let (metered, state) = MeteredBody::new(incoming.boxed());
        let mut resp = Response::from_parts(parts, metered.boxed());
        for f in self.filters.iter() {
            resp = f.on_response(&mut ctx, resp);
        }
        self.complete(ctx, resp, true, Some(state), None)
    }
}

/// How a forwarded request failed before its response head.
enum Failure {
    /// The client's request body stalled (408).
    ClientStalled,
    /// Connecting to the upstream timed out (504).
    Timeout,
    /// The host resolved to a denied address (403).
    Refused,
    /// Anything else (502).
    Other,
}

fn failure_kind(err: &hyper_util::client::legacy::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(idle) = e.downcast_ref::<IdleTimeout>() {
            return match idle.stalled {
                Stalled::Client => Failure::ClientStalled,
                Stalled::Upstream => Failure::Timeout,
            };
        }
        match e.downcast_ref::<UpstreamError>() {
            Some(UpstreamError::Timeout { .. }) => return Failure::Timeout,
            Some(UpstreamError::Refused { .. }) => return Failure::Refused,
            _ => {}
        }
        source = e.source();
    }
    Failure::Other
}

/// The explanation of a response-head timeout.
fn response_timeout_reason(host: &str, port: u16, limit: Duration) -> String {
    format!(
        "{host}:{port} sent no response within {limit:?} of the request; raise the limit \
         with --response-timeout"
    )
}

/// Drives a server connection until it ends, calling `graceful` on it (to
/// finish the current exchanges and stop) when the proxy stops.
pub(crate) async fn drive<C, E>(conn: C, shutdown: watch::Receiver<()>, graceful: fn(Pin<&mut C>))
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    drive_until_idle(conn, shutdown, graceful, std::future::pending()).await
}

/// Like [`drive`], and also calls `graceful` once `idle` resolves (the
/// connection has been idle too long).
pub(crate) async fn drive_until_idle<C, E>(
    conn: C,
    mut shutdown: watch::Receiver<()>,
    graceful: fn(Pin<&mut C>),
    idle: impl Future<Output = ()>,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    tokio::pin!(idle);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        Ok(()) = shutdown.changed() => {
            graceful(conn.as_mut());
            conn.await
        }
        () = idle.as_mut() => {
            tracing::debug!("closing an idle client connection (--client-idle-timeout)");
            graceful(conn.as_mut());
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}
