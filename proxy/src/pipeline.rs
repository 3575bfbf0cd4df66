//! The request pipeline shared by every flavour of (non-CONNECT) request:
//! target resolution, magic host, host policy, the handler, forwarding,
//! response clean-up, metering and the per-exchange summary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{header, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::body::Meter;
use crate::handler::Handler;
use crate::hosts::Verdict;
use crate::idle::{Activity, IdleBody, IdleTimeout, Stalled};
use crate::state::{target_of, ConnInfo, Core, Started};
use crate::types::{empty, Body, RequestOutcome};
use crate::upstream::{describe_client_error, UpstreamError};
use crate::{error_page, headers, magic};

/// Takes one (non-CONNECT) request through the steps of the module docs.
pub(crate) async fn handle_request<H: Handler>(
    core: &Core<H>,
    conn: ConnInfo,
    mut req: Request<Incoming>,
) -> Response<Body> {
    let target = match target_of(&conn, &req) {
        Ok(t) => t,
        Err(reason) => return error_page::bad_request("", &reason),
    };
    let mut s = core.start(&conn, target, &req);
    if magic::is_magic_host(&s.info.host) {
        let resp = magic::serve(&core.ca, core.listen, &s.info.method, s.info.uri.path());
        return core.finish_local(s, resp, None);
    }
    // Inside a tunnel the target is the tunnel's host and port (see
    // `target_of`), whose verdict was Allowed when the CONNECT was
    // answered, and the policy never changes: no second check per
    // request. Addresses from DNS are still checked on every connect.
    if conn.tunnel.is_none() {
        let verdict = core.verdict(&s.info.host, s.info.port);
        if verdict != Verdict::Allowed {
            return core.refuse(s, &verdict);
        }
    }
    let websocket =
        req.version() == Version::HTTP_11 && headers::is_websocket_upgrade(req.headers());
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    // The request body may not stall longer than the idle timeout; its
    // progress also moves the response-head deadline (see `forward`).
    let activity = Activity::new();
    let idle = core.timeouts.idle;
    let body_activity = activity.clone();
    let req = req.map(|b| {
        IdleBody::new(
            b.map_err(Into::into).boxed(),
            idle,
            Stalled::Client,
            Some(body_activity),
        )
        .boxed()
    });
    let req = match core.handler.on_request(&s.info, &mut s.ctx, req).await {
        RequestOutcome::Forward(r) => r,
        RequestOutcome::Respond(resp) => return core.finish_local(s, resp, None),
    };
    forward(core, s, req, client_upgrade, activity).await
}

/// Sends the request upstream and prepares the response for the client.
async fn forward<H: Handler>(
    core: &Core<H>,
    mut s: Started<H>,
    mut req: Request<Body>,
    client_upgrade: Option<OnUpgrade>,
    activity: Arc<Activity>,
) -> Response<Body> {
    let websocket = client_upgrade.is_some();
    headers::strip_hop_by_hop(req.headers_mut(), websocket);
    req.headers_mut().remove(header::HOST);
    *req.uri_mut() = s.info.uri.clone();
    *req.version_mut() = Version::HTTP_11;
    let client = if websocket {
        &core.upstream.client_h1
    } else {
        &core.upstream.client
    };
    core.stats.forwarded();
    let limit = core.timeouts.response;
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
            tracing::warn!(host = %s.info.host, url = %s.info.uri, %reason, "upstream failure");
            core.stats.upstream_error();
            let page = match failure_kind(&e) {
                Failure::Refused => {
                    core.stats.refused(&s.info.host);
                    error_page::refused(&s.info.host, &reason)
                }
                Failure::ClientStalled => error_page::request_timeout(&s.info.host, &reason),
                Failure::Timeout => error_page::gateway_timeout(&s.info.host, &reason),
                Failure::Other => error_page::bad_gateway(&s.info.host, &reason),
            };
            return core.complete(s, page, true, None, Some(reason));
        }
        Err(limit) => {
            let reason = response_timeout_reason(&s.info.host, s.info.port, limit);
            tracing::warn!(host = %s.info.host, url = %s.info.uri, %reason, "upstream timeout");
            core.stats.upstream_error();
            let page = error_page::gateway_timeout(&s.info.host, &reason);
            return core.complete(s, page, true, None, Some(reason));
        }
    };
    if let (Some(client_up), StatusCode::SWITCHING_PROTOCOLS) = (client_upgrade, resp.status()) {
        let upstream_up = hyper::upgrade::on(&mut resp);
        let host = s.info.host.clone();
        let idle = core.timeouts.tunnel_idle;
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
        return core.complete(s, Response::from_parts(parts, empty()), true, None, None);
    }
    let (mut parts, incoming) = resp.into_parts();
    headers::strip_response(&mut parts.headers, false);
    let incoming = IdleBody::new(
        incoming.map_err(Into::into).boxed(),
        core.timeouts.idle,
        Stalled::Upstream,
        None,
    );
    let (metered, state) = Meter::wrap(incoming.boxed());
    let resp = Response::from_parts(parts, metered.boxed());
    let resp = core.handler.on_response(&s.info, &mut s.ctx, resp);
    core.complete(s, resp, true, Some(state), None)
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
