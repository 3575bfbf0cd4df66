//! TLS interception inside a CONNECT tunnel: read the ClientHello, answer
//! with a CA-signed leaf for its SNI (falling back to the CONNECT host),
//! negotiate `h2` or `http/1.1` by ALPN, then serve HTTP on the decrypted
//! stream through the common request pipeline.

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;

use crate::service::{drive, ConnInfo, Core};

/// Terminates the client's TLS with a leaf for the requested host and serves it.
pub(crate) async fn serve_tls<S>(core: Arc<Core>, conn: ConnInfo, stream: S, tunnel_host: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
    let start = match acceptor.await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(host = %tunnel_host, error = %e, "bad ClientHello");
            return;
        }
    };
    let host = start
        .client_hello()
        .server_name()
        .map(str::to_string)
        .unwrap_or(tunnel_host);
    let config = match core.leaves.server_config(&host) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%host, error = %e, "cannot issue a leaf certificate");
            return;
        }
    };
    let tls = match start.into_stream(config).await {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(%host, error = %e,
                "client TLS handshake failed (does the client trust the webinfer CA?)");
            return;
        }
    };
    serve_http(core, conn, tls).await;
}

/// Serves HTTP/1.1 (with upgrades) or HTTP/2 on an already decrypted stream.
pub(crate) async fn serve_http<S>(core: Arc<Core>, conn: ConnInfo, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = core.shutdown.clone();
    let svc_core = core.clone();
    drop(core);
    let svc = service_fn(move |req| svc_core.clone().handle(conn.clone(), req));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .adaptive_window(true)
        .max_frame_size(256 * 1024);
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
        .into_owned();
    drive(connection, shutdown).await;
}
