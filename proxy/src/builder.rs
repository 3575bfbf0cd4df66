//! [`ProxyBuilder`] (hudsucker-style) and the running [`ProxyHandle`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), webinfer_proxy::ProxyError> {
//! use std::sync::Arc;
//! use webinfer_proxy::{CertificateAuthority, ProxyBuilder};
//!
//! let ca = Arc::new(CertificateAuthority::load_or_create("/tmp/ca".as_ref())?);
//! let handle = ProxyBuilder::new()
//!     .ca(ca)
//!     .listen("127.0.0.1:0".parse().unwrap())
//!     .deny_hosts(vec!["*.google.com".into()])
//!     .start()
//!     .await?;
//! println!("proxy on {}", handle.addr());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::ca::CertificateAuthority;
use crate::config::{
    ResolveRule, Timeouts, DEFAULT_LISTEN, DEFAULT_MAX_HEADER_BYTES, MIN_MAX_HEADER_BYTES,
};
use crate::error::ProxyError;
use crate::filter::{Filter, Scheme};
use crate::hosts::HostPolicy;
use crate::idle::WriteIdle;
use crate::limits::{refuse_connection, Counted};
use crate::service::{drive, ConnInfo, Core};
use crate::stats::{ProxyStats, StatsSnapshot};
use crate::upstream::Upstream;

/// How long [`ProxyHandle::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Configures a proxy. Only the CA is required.
pub struct ProxyBuilder {
    ca: Option<Arc<CertificateAuthority>>,
    listen: SocketAddr,
    upstream_roots: Vec<CertificateDer<'static>>,
    resolve: Vec<ResolveRule>,
    allow_hosts: Vec<String>,
    deny_hosts: Vec<String>,
    filters: Vec<Arc<dyn Filter>>,
    timeouts: Timeouts,
    max_header_bytes: usize,
    max_connections: usize,
}

impl Default for ProxyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyBuilder {
    /// A builder listening on `127.0.0.1:8080` with no filters.
    pub fn new() -> Self {
        ProxyBuilder {
            ca: None,
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            upstream_roots: Vec::new(),
            resolve: Vec::new(),
            allow_hosts: Vec::new(),
            deny_hosts: Vec::new(),
            filters: Vec::new(),
            timeouts: Timeouts::default(),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: crate::config::default_max_connections(),
        }
    }

    /// The CA that signs leaf certificates.
    pub fn ca(mut self, ca: Arc<CertificateAuthority>) -> Self {
        self.ca = Some(ca);
        self
    }

    /// Address to listen on; port 0 picks a free port (see [`ProxyHandle::addr`]).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Extra trust roots for upstream servers, on top of the webpki roots.
    pub fn upstream_roots(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.upstream_roots.extend(roots);
        self
    }

    /// `--resolve` rules: route `host:port` to a fixed address.
    pub fn resolve(mut self, rules: Vec<ResolveRule>) -> Self {
        self.resolve.extend(rules);
        self
    }

    /// Only hosts matching these globs are reached (when non-empty).
    pub fn allow_hosts(mut self, globs: Vec<String>) -> Self {
        self.allow_hosts.extend(globs);
        self
    }

    /// Hosts matching these globs are refused with a 403 and never contacted.
    pub fn deny_hosts(mut self, globs: Vec<String>) -> Self {
        self.deny_hosts.extend(globs);
        self
    }

    /// Adds a filter; filters run in the order they were added.
    pub fn filter(mut self, filter: Arc<dyn Filter>) -> Self {
        self.filters.push(filter);
        self
    }

    /// Time limits (see [`Timeouts`] for each and its default).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Largest accepted request head (request line plus headers) in bytes,
    /// at least 8192; larger heads get `431 Request Header Fields Too Large`.
    /// HTTP/2 clients are told the limit in `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Most client connections open at once, CONNECT tunnels and WebSocket
    /// relays included (default [`crate::config::default_max_connections`]).
    /// A connection beyond the limit gets `503 Service Unavailable` naming
    /// `--max-connections` and is closed.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Binds the listening socket and starts serving (inside a Tokio runtime).
    pub async fn start(self) -> Result<ProxyHandle, ProxyError> {
        let ca = match self.ca {
            Some(ca) => ca,
            None => Arc::new(CertificateAuthority::load_or_create(
                &crate::ca::default_dir()?,
            )?),
        };
        check_limits(&self.timeouts, self.max_header_bytes)?;
        let hosts = HostPolicy::new(&self.allow_hosts, &self.deny_hosts)?;
        let upstream = Upstream::new(
            &self.upstream_roots,
            &self.resolve,
            self.timeouts.connect,
            hosts.clone(),
        )?;
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: self.listen,
            source,
        })?;
        let (tx, rx) = watch::channel(());
        let stats = Arc::new(ProxyStats::default());
        let core = Arc::new(Core::new(
            ca.clone(),
            upstream,
            hosts,
            self.filters,
            stats.clone(),
            rx,
            self.timeouts,
            self.max_header_bytes,
            addr,
        ));
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let task = tokio::spawn(accept_loop(listener, core, permits, self.max_connections));
        tracing::info!(%addr, "webinfer proxy listening");
        Ok(ProxyHandle {
            addr,
            ca,
            stats,
            shutdown: tx,
            task,
        })
    }
}

/// Rejects zero timeouts and a header limit below hyper's minimum buffer.
fn check_limits(t: &Timeouts, max_header_bytes: usize) -> Result<(), ProxyError> {
    for (name, d) in [
        ("connect", t.connect),
        ("response", t.response),
        ("idle", t.idle),
        ("client header", t.client_header),
        ("client TLS", t.client_tls),
        ("tunnel idle", t.tunnel_idle),
        ("client idle", t.client_idle),
        ("client keep-alive", t.client_keepalive),
    ] {
        if d.is_zero() {
            return Err(ProxyError::BadLimit(format!(
                "the {name} timeout must be longer than zero"
            )));
        }
    }
    if max_header_bytes < MIN_MAX_HEADER_BYTES {
        return Err(ProxyError::BadLimit(format!(
            "the header size limit must be at least {MIN_MAX_HEADER_BYTES} bytes, not \
             {max_header_bytes}"
        )));
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, core: Arc<Core>, permits: Arc<Semaphore>, max: usize) {
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

async fn serve_client(
    core: Arc<Core>,
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
    let svc = service_fn(move |req| core.clone().handle(conn.clone(), req));
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

/// A running proxy.
pub struct ProxyHandle {
    addr: SocketAddr,
    ca: Arc<CertificateAuthority>,
    stats: Arc<ProxyStats>,
    shutdown: watch::Sender<()>,
    task: JoinHandle<()>,
}

impl ProxyHandle {
    /// The bound address (the real port when listening on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA in use.
    pub fn ca(&self) -> &Arc<CertificateAuthority> {
        &self.ca
    }

    /// The live counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Stops accepting, asks open connections to finish their current
    /// exchanges, and waits up to 5 s for them.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.shutdown.closed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timeouts_and_tiny_header_limits_are_refused() {
        assert!(check_limits(&Timeouts::default(), DEFAULT_MAX_HEADER_BYTES).is_ok());
        let zero = Timeouts {
            idle: Duration::ZERO,
            ..Timeouts::default()
        };
        let e = check_limits(&zero, DEFAULT_MAX_HEADER_BYTES).unwrap_err();
        assert!(e.to_string().contains("idle timeout"), "{e}");
        let e = check_limits(&Timeouts::default(), 100).unwrap_err();
        assert!(e.to_string().contains("at least 8192"), "{e}");
    }
}
