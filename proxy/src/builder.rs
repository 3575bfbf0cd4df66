//! [`ProxyBuilder`] (hudsucker-style), [`ProxyOptions::builder`], and the
//! running [`ProxyHandle`].
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

use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::ca::CertificateAuthority;
use crate::config::{
    read_pem_roots, ProxyOptions, ResolveRule, Timeouts, DEFAULT_LISTEN, DEFAULT_MAX_HEADER_BYTES,
    MIN_MAX_HEADER_BYTES,
};
use crate::error::ProxyError;
use crate::handler::{Handler, NoopHandler};
use crate::hosts::HostPolicy;
use crate::serve::accept_loop;
use crate::state::Core;
use crate::stats::{ProxyStats, StatsSnapshot};
use crate::upstream::Upstream;

impl ProxyOptions {
    /// Loads (or creates) the CA, reads the upstream roots, and returns a
    /// configured builder (with the [`NoopHandler`]; set one with
    /// [`ProxyBuilder::handler`]).
    pub fn builder(&self) -> Result<ProxyBuilder, ProxyError> {
        let ca = Arc::new(CertificateAuthority::load_or_create(&self.ca_dir()?)?);
        let mut roots = Vec::new();
        for path in &self.upstream_ca {
            roots.extend(read_pem_roots(path)?);
        }
        let mut b = ProxyBuilder::new()
            .ca(ca)
            .listen(self.listen)
            .upstream_roots(roots)
            .resolve(self.resolve.clone())
            .allow_hosts(self.allow_hosts.clone())
            .deny_hosts(self.deny_hosts.clone())
            .timeouts(self.timeouts)
            .max_header_bytes(self.max_header_bytes);
        if let Some(n) = self.max_connections {
            b = b.max_connections(n);
        }
        Ok(b)
    }
}

/// How long [`ProxyHandle::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Configures a proxy whose requests go through the handler `H`
/// ([`NoopHandler`] until [`ProxyBuilder::handler`] or
/// [`ProxyBuilder::layer`] sets one). Only the CA is required.
pub struct ProxyBuilder<H: Handler = NoopHandler> {
    settings: Settings,
    handler: H,
}

/// Everything a [`ProxyBuilder`] holds but its handler.
struct Settings {
    ca: Option<Arc<CertificateAuthority>>,
    listen: SocketAddr,
    upstream_roots: Vec<CertificateDer<'static>>,
    resolve: Vec<ResolveRule>,
    allow_hosts: Vec<String>,
    deny_hosts: Vec<String>,
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
    /// A builder listening on `127.0.0.1:8080` that passes everything through.
    pub fn new() -> Self {
        ProxyBuilder {
            settings: Settings {
                ca: None,
                listen: DEFAULT_LISTEN.parse().expect("valid default address"),
                upstream_roots: Vec::new(),
                resolve: Vec::new(),
                allow_hosts: Vec::new(),
                deny_hosts: Vec::new(),
                timeouts: Timeouts::default(),
                max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                max_connections: crate::config::default_max_connections(),
            },
            handler: NoopHandler,
        }
    }
}

impl<H: Handler> ProxyBuilder<H> {
    /// Replaces the handler (to run several, pass a pair or use
    /// [`ProxyBuilder::layer`]).
    pub fn handler<H2: Handler>(self, handler: H2) -> ProxyBuilder<H2> {
        self.map_handler(|_| handler)
    }

    /// Adds `next` after the current handler: the pair `(H, H2)`, where the
    /// current handler runs first in every step (see [`Handler`] on pairs).
    pub fn layer<H2: Handler>(self, next: H2) -> ProxyBuilder<(H, H2)> {
        self.map_handler(|current| (current, next))
    }

    fn map_handler<H2: Handler>(self, f: impl FnOnce(H) -> H2) -> ProxyBuilder<H2> {
        ProxyBuilder {
            settings: self.settings,
            handler: f(self.handler),
        }
    }

    /// The CA that signs leaf certificates.
    pub fn ca(mut self, ca: Arc<CertificateAuthority>) -> Self {
        self.settings.ca = Some(ca);
        self
    }

    /// Address to listen on; port 0 picks a free port (see [`ProxyHandle::addr`]).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.settings.listen = addr;
        self
    }

    /// Extra trust roots for upstream servers, on top of the webpki roots.
    pub fn upstream_roots(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.settings.upstream_roots.extend(roots);
        self
    }

    /// `--resolve` rules: route `host:port` to a fixed address.
    pub fn resolve(mut self, rules: Vec<ResolveRule>) -> Self {
        self.settings.resolve.extend(rules);
        self
    }

    /// Only hosts matching these globs are reached (when non-empty).
    pub fn allow_hosts(mut self, globs: Vec<String>) -> Self {
        self.settings.allow_hosts.extend(globs);
        self
    }

    /// Hosts matching these globs are refused with a 403 and never contacted.
    pub fn deny_hosts(mut self, globs: Vec<String>) -> Self {
        self.settings.deny_hosts.extend(globs);
        self
    }

    /// Time limits (see [`Timeouts`] for each and its default).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.settings.timeouts = timeouts;
        self
    }

    /// Largest accepted request head (request line plus headers) in bytes,
    /// at least 8192; larger heads get `431 Request Header Fields Too Large`.
    /// HTTP/2 clients are told the limit in `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_header_bytes = bytes;
        self
    }

    /// Most client connections open at once, CONNECT tunnels and WebSocket
    /// relays included (default [`crate::config::default_max_connections`]).
    /// A connection beyond the limit gets `503 Service Unavailable` naming
    /// `--max-connections` and is closed.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.settings.max_connections = n;
        self
    }

    /// Binds the listening socket and starts serving (inside a Tokio runtime).
    pub async fn start(self) -> Result<ProxyHandle, ProxyError> {
        let ca = match self.settings.ca {
            Some(ca) => ca,
            None => Arc::new(CertificateAuthority::load_or_create(
                &crate::ca::default_dir()?,
            )?),
        };
        check_limits(&self.settings.timeouts, self.settings.max_header_bytes)?;
        let hosts = HostPolicy::new(&self.settings.allow_hosts, &self.settings.deny_hosts)?;
        let upstream = Upstream::new(
            &self.settings.upstream_roots,
            &self.settings.resolve,
            self.settings.timeouts.connect,
            hosts.clone(),
        )?;
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: self.settings.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: self.settings.listen,
            source,
        })?;
        let (tx, rx) = watch::channel(());
        let stats = Arc::new(ProxyStats::default());
        let core = Arc::new(Core::new(
            ca.clone(),
            upstream,
            hosts,
            Arc::new(self.handler),
            stats.clone(),
            rx,
            self.settings.timeouts,
            self.settings.max_header_bytes,
            addr,
        ));
        let permits = Arc::new(Semaphore::new(self.settings.max_connections));
        let task = tokio::spawn(accept_loop(
            listener,
            core,
            permits,
            self.settings.max_connections,
        ));
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
