//! A real origin server on loopback: TLS (rustls) or plain TCP, HTTP/1.1
//! and h2 (hyper's auto builder, upgrades allowed), with a pluggable
//! handler, counting what it saw.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The body type of the kit's origins and clients.
pub type TestBody = BoxBody<Bytes, Infallible>;

/// A whole in-memory body.
pub fn full(s: impl Into<Bytes>) -> TestBody {
    Full::new(s.into()).boxed()
}

/// The number a route's query gives for `key` (`?key=N&…`), if any parses.
pub fn query_u64(uri: &http::Uri, key: &str) -> Option<u64> {
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// An empty body.
pub fn empty() -> TestBody {
    full(Bytes::new())
}

/// Inside the `impl` of a test server's handle with the fields
/// `addr: SocketAddr` and `seen` (a struct of `AtomicUsize` counters):
/// `fn port(&self) -> u16`, and for each counter named (doc comments
/// allowed before each name) `fn name(&self) -> usize` reading it.
#[macro_export]
macro_rules! port_and_counts {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// The port.
        pub fn port(&self) -> u16 {
            self.addr.port()
        }

        $(
            $(#[$doc])*
            pub fn $name(&self) -> usize {
                self.seen.$name.load(::std::sync::atomic::Ordering::SeqCst)
            }
        )*
    };
}

/// Counts of what an [`Origin`] saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// TCP connections accepted.
    pub connections: AtomicUsize,
    /// HTTP requests handed to the handler.
    pub requests: AtomicUsize,
}

/// A running origin on `127.0.0.1` (a port the OS picked). It serves until
/// the runtime ends or [`Origin::stop`]; dropping the value does not stop it.
pub struct Origin {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Seen>,
    accept: tokio::task::JoinHandle<()>,
}

impl Origin {
    /// Starts an origin on `127.0.0.1:0`: TLS with `tls` (its ALPN decides
    /// h2 or HTTP/1.1), or plain HTTP when `tls` is `None`. Every request
    /// goes to `handler`. Connections get `TCP_NODELAY`.
    pub async fn start<F, Fut>(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: F,
    ) -> std::io::Result<Origin>
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Seen::default());
        let handler = Arc::new(handler);
        let counts = seen.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counts.connections.fetch_add(1, Ordering::SeqCst);
                let _ = tcp.set_nodelay(true);
                let (counts, handler, tls) = (counts.clone(), handler.clone(), tls.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        counts.requests.fetch_add(1, Ordering::SeqCst);
                        let resp = handler(req);
                        async move { Ok::<_, Infallible>(resp.await) }
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(cfg) => {
                            let Ok(stream) = TlsAcceptor::from(cfg).accept(tcp).await else {
                                return;
                            };
                            let _ = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                                .await;
                        }
                        None => {
                            let _ = builder
                                .serve_connection_with_upgrades(TokioIo::new(tcp), svc)
                                .await;
                        }
                    }
                });
            }
        });
        Ok(Origin { addr, seen, accept })
    }

    crate::port_and_counts!(
        /// TCP connections accepted so far.
        connections,
        /// Requests handled so far.
        requests,
    );

    /// Stops accepting connections (those open keep being served).
    pub fn stop(&self) {
        self.accept.abort();
    }
}

/// Reads a whole response body.
pub async fn body_bytes(resp: Response<Incoming>) -> Result<Bytes, crate::Error> {
    Ok(resp.into_body().collect().await?.to_bytes())
}
