//! Serving connections: the listener's accept loop, HTTP/1.1 on each client
//! connection (absolute-form requests and CONNECT), and HTTP/1.1 or HTTP/2
//! on the streams of opened tunnels. Every request read goes to
//! [`dispatch`]: a CONNECT opens a tunnel ([`crate::tunnel`], intercepted by
//! [`crate::intercept`] when it carries TLS, whose decrypted stream is served
//! here again); anything else goes through [`crate::pipeline`].
//!
//! Limits: HTTP/1.1 request heads are bounded by the client header timeout
//! and the header size limit, which HTTP/2 clients learn from
//! `SETTINGS_MAX_HEADER_LIST_SIZE`; everything written towards a listener
//! client is bounded by the idle timeout; idle HTTP/2 connections are closed.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::handler::Handler;
use crate::idle::WriteIdle;
use crate::intercept::{self, Protocol};
use crate::limits::{refuse_connection, Counted, GuardedBody, InFlight};
use crate::state::{ConnInfo, Core, Tunnel};
use crate::tunnel::{self, Accepted, Decision, Opened};
use crate::types::{empty, Body, Scheme};
use crate::{error_page, magic, pipeline};

/// Accepts client connections until the proxy stops, at most `max` open at
/// once (beyond that: a 503 naming `--max-connections`).
pub(crate) async fn accept_loop<H: Handler>(
    listener: TcpListener,
    core: Arc<Core<H>>,
    permits: Arc<Semaphore>,
    max: usize,
) {
    let mut stop = core.shutdown.clone();
    loop {
        tokio::select! {
            Ok(()) = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, client_addr)) => {
                    let _ = tcp.set_nodelay(true);
                    match permits.clone().try_acquire_owned() {
                        Ok(permit) => {
                            core.stats.connection();
                            let tcp = Counted::new(tcp, permit);
                            tokio::spawn(serve_client(core.clone(), tcp, client_addr));
                        }
                        Err(_) => {
                            tracing::warn!(%client_addr, max,
                                "refused a connection: too many open (--max-connections)");
                            tokio::spawn(refuse_connection(tcp, max));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Serves one listener client: HTTP/1.1 (absolute-form requests and CONNECT).
async fn serve_client<H: Handler>(
    core: Arc<Core<H>>,
    tcp: Counted<tokio::net::TcpStream>,
    client_addr: SocketAddr,
) {
    let conn = ConnInfo {
        client_addr,
        scheme: Scheme::Http,
        tunnel: None,
    };
    let shutdown = core.shutdown.clone();
    let (header_timeout, max_head) = (core.timeouts.client_header, core.max_header_bytes);
    // Everything towards this client (plain answers, and tunnels: intercepted
    // TLS, raw, WebSocket) goes through this stream: a client that stops
    // reading for the idle timeout is cut, releasing the upstream too.
    let tcp = WriteIdle::new(tcp, core.timeouts.idle);
    let svc = service_fn(move |req| dispatch(core.clone(), conn.clone(), req));
    // The listener only speaks HTTP/1.1 (absolute-form requests and CONNECT):
    // a bounded head size, and a deadline for the whole head (from the
    // connection's first byte on) against slowloris.
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(max_head);
    let connection = http1
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades();
    drive(connection, shutdown, |c| c.graceful_shutdown()).await;
}

/// Serves HTTP/1.1 (with upgrades) or HTTP/2 on an already decrypted stream.
async fn serve_http<H, S>(core: Arc<Core<H>>, conn: ConnInfo, stream: S, protocol: Protocol)
where
    H: Handler,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = core.shutdown.clone();
    let header_timeout = core.timeouts.client_header;
    let max_head = core.max_header_bytes;
    let (client_idle, keepalive) = (core.timeouts.client_idle, core.timeouts.client_keepalive);
    let svc_core = core.clone();
    let (h2_core, h2_conn) = (core.clone(), conn.clone());
    drop(core);
    let svc = service_fn(move |req| dispatch(svc_core.clone(), conn.clone(), req));
    // One protocol per connection, fixed by ALPN: no version sniffing (whose
    // read has no deadline, so a silent client would be held forever).
    let io = TokioIo::new(stream);
    match protocol {
        Protocol::Http1 => {
            let mut http1 = hyper::server::conn::http1::Builder::new();
            http1
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_header_size(max_head);
            let connection = http1.serve_connection(io, svc).with_upgrades();
            drive(connection, shutdown, |c| c.graceful_shutdown()).await;
        }
        Protocol::Http2 => {
            // Idle connections (no open request for the client idle
            // timeout) are closed with GOAWAY; keep-alive PINGs find clients
            // that vanished while requests were open.
            let inflight = InFlight::new();
            let tracker = inflight.clone();
            let svc = service_fn(move |req| {
                let guard = tracker.enter();
                let core = h2_core.clone();
                let conn = h2_conn.clone();
                async move {
                    let resp = dispatch(core, conn, req).await?;
                    Ok::<_, std::convert::Infallible>(
                        resp.map(|b| GuardedBody::new(b, guard).boxed()),
                    )
                }
            });
            let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            http2
                .timer(TokioTimer::new())
                .adaptive_window(true)
                .max_frame_size(256 * 1024)
                .max_header_list_size(u32::try_from(max_head).unwrap_or(u32::MAX))
                .keep_alive_interval(Some(keepalive))
                .keep_alive_timeout(keepalive);
            let connection = http2.serve_connection(io, svc);
            let idle = async move { inflight.idle_for(client_idle).await };
            drive_until_idle(connection, shutdown, |c| c.graceful_shutdown(), idle).await;
        }
    }
}

/// Entry point for every request read from a client connection.
async fn dispatch<H: Handler>(
    core: Arc<Core<H>>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    core.stats.request();
    if req.method() == Method::CONNECT {
        if conn.tunnel.is_none() {
            return Ok(connect(core, conn, req));
        }
        return Ok(error_page::bad_request(
            "",
            "CONNECT inside an intercepted tunnel is not supported",
        ));
    }
    Ok(pipeline::handle_request(&core, conn, req).await)
}

/// Answers a CONNECT and spawns the tunnel's handling. (A plain function:
/// the spawned task serves HTTP again, so its future must not be part of
/// [`dispatch`]'s.)
fn connect<H: Handler>(
    core: Arc<Core<H>>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Response<Body> {
    let accepted = match tunnel::accept(&core, &conn, req) {
        Decision::Open(a) => a,
        Decision::Refuse(answer) => return answer,
    };
    tokio::spawn(serve_tunnel(core, conn, accepted));
    Response::builder()
        .status(StatusCode::OK)
        .body(empty())
        .expect("static response parts")
}

/// Serves an opened tunnel: TLS is intercepted and its HTTP served, the
/// magic host is served in place, anything else passes through untouched.
async fn serve_tunnel<H: Handler>(core: Arc<Core<H>>, conn: ConnInfo, accepted: Accepted) {
    let Accepted {
        host,
        port,
        upgrade,
    } = accepted;
    let up = match upgrade.await {
        Ok(up) => up,
        Err(e) => {
            tracing::debug!(error = %e, "CONNECT upgrade failed");
            return;
        }
    };
    let Some(opened) = tunnel::open(up, &host).await else {
        return;
    };
    let inside = |scheme| ConnInfo {
        client_addr: conn.client_addr,
        scheme,
        tunnel: Some(Tunnel::new(host.clone(), port, scheme)),
    };
    match opened {
        Opened::Tls(stream) => {
            let conn = inside(Scheme::Https);
            if let Some((tls, protocol)) = intercept::accept_tls(&core, stream, &host).await {
                serve_http(core, conn, tls, protocol).await;
            }
        }
        Opened::Other(stream) if magic::is_magic_host(&host) => {
            let conn = inside(Scheme::Http);
            serve_http(core, conn, stream, Protocol::Http1).await;
        }
        Opened::Other(stream) => tunnel::passthrough(core, &host, port, stream).await,
    }
}

/// Drives a server connection until it ends, calling `graceful` on it (to
/// finish the current exchanges and stop) when the proxy stops.
async fn drive<C, E>(conn: C, shutdown: watch::Receiver<()>, graceful: fn(Pin<&mut C>))
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    drive_until_idle(conn, shutdown, graceful, std::future::pending()).await
}

/// Like [`drive`], and also calls `graceful` once `idle` resolves (the
/// connection has been idle too long).
async fn drive_until_idle<C, E>(
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
