//! TLS interception inside a CONNECT tunnel: read the ClientHello, answer
//! with a CA-signed leaf for its SNI (falling back to the CONNECT host),
//! negotiate `h2` or `http/1.1` by ALPN. [`crate::serve`] then serves HTTP
//! on the decrypted stream through the common request pipeline.
//!
//! The whole client handshake (ClientHello included) is bounded by the
//! client TLS timeout.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use crate::bufread::ReadBuffered;
use crate::handler::Handler;
use crate::state::Core;

/// The HTTP version spoken on a decrypted stream, as chosen by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/1.1 (ALPN `http/1.1`, no ALPN, or a plain tunnel).
    Http1,
    /// HTTP/2 (ALPN `h2`).
    Http2,
}

/// Terminates the client's TLS with a leaf for the requested host (its SNI,
/// else `tunnel_host`); returns the decrypted stream and the protocol ALPN
/// chose, or `None` (logged) when the handshake failed or timed out.
pub(crate) async fn accept_tls<H: Handler, S>(
    core: &Core<H>,
    stream: S,
    tunnel_host: &str,
) -> Option<(TlsStream<ReadBuffered<S>>, Protocol)>
where
    S: AsyncRead + AsyncWrite + Unpin,
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
            .unwrap_or_else(|| tunnel_host.to_string());
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
        Ok(None) => return None,
        Err(_) => {
            tracing::info!(host = %tunnel_host, ?limit,
                "client TLS handshake timed out (--client-tls-timeout)");
            return None;
        }
    };
    let protocol = if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    Some((tls, protocol))
}
