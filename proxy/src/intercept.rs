//! TLS interception inside a CONNECT tunnel: read the ClientHello, answer
//! with a CA-signed leaf for its SNI (falling back to the CONNECT host),
//! negotiate `h2` or `http/1.1` by ALPN, then serve HTTP on the decrypted
//! stream through the common request pipeline.
//!
//! The whole client handshake (ClientHello included) is bounded by the
//! client TLS timeout; HTTP/1.1 request heads by the client header timeout
//! and the header size limit, which HTTP/2 clients learn from
//! `SETTINGS_MAX_HEADER_LIST_SIZE`.

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;

use http_body_util::BodyExt;

use crate::bufread::ReadBuffered;
use crate::limits::{GuardedBody, InFlight};
use crate::service::{drive, drive_until_idle, ConnInfo, Core};

/// The HTTP version spoken on a decrypted stream, as chosen by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/1.1 (ALPN `http/1.1`, no ALPN, or a plain tunnel).
    Http1,
    /// HTTP/2 (ALPN `h2`).
    Http2,
}

/// Terminates the client's TLS with a leaf for the requested host and serves it.
pub(crate) async fn serve_tls<S>(core: Arc<Core>, conn: ConnInfo, stream: S, tunnel_host: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limit = core.timeouts.client_tls;
    let handshake = async {
        // Large socket reads under TLS (uploads; see `bufread`).
        let stream = ReadBuffered::new(stream);
        let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = match acceptor.await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(host = %tunnel_host, error = %e, "bad ClientHello");
                return None;
            }
        };
        let host = start
            .client_hello()
            .server_name()
            .map(str::to_string)
            .unwrap_or_else(|| tunnel_host.clone());
        let config = match core.leaves.server_config(&host) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%host, error = %e, "cannot issue a leaf certificate");
                return None;
            }
        };
        match start.into_stream(config).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::info!(%host, error = %e,
                    "client TLS handshake failed (does the client trust the webinfer CA?)");
                None
            }
        }
    };
    let tls = match tokio::time::timeout(limit, handshake).await {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(_) => {
            tracing::info!(host = %tunnel_host, ?limit,
                "client TLS handshake timed out (--client-tls-timeout)");
            return;
        }
    };
    let protocol = if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    serve_http(core, conn, tls, protocol).await;
}

/// Serves HTTP/1.1 (with upgrades) or HTTP/2 on an already decrypted stream.
pub(crate) async fn serve_http<S>(core: Arc<Core>, conn: ConnInfo, stream: S, protocol: Protocol)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = core.shutdown.clone();
    let header_timeout = core.timeouts.client_header;
    let max_head = core.max_header_bytes;
    let (client_idle, keepalive) = (core.timeouts.client_idle, core.timeouts.client_keepalive);
    let svc_core = core.clone();
    let (h2_core, h2_conn) = (core.clone(), conn.clone());
    drop(core);
    let svc = service_fn(move |req| svc_core.clone().handle(conn.clone(), req));
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
                    let resp = core.handle(conn, req).await?;
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
