//! CONNECT tunnels: the host policy on the CONNECT itself, a peek at the
//! first bytes of the tunnel to tell TLS (to be intercepted, see
//! [`crate::intercept`]) from anything else, and the untouched pass-through
//! of non-TLS tunnels. What happens to an opened tunnel is decided by
//! [`crate::serve`] (the magic host is served in place either way).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;

use crate::handler::Handler;
use crate::hosts::{normalize_host, Verdict};
use crate::prefixed::Prefixed;
use crate::state::{ConnInfo, Core, Target};
use crate::types::{authority, Body, Scheme};
use crate::{error_page, magic};

/// How long to wait for the client's first bytes before treating the tunnel
/// as a server-speaks-first protocol and passing it through.
const PEEK_TIMEOUT: Duration = Duration::from_secs(3);

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The client side of an opened tunnel, with the peeked bytes put back.
pub(crate) type TunnelStream = Prefixed<TokioIo<Upgraded>>;

/// A CONNECT the proxy agreed to.
pub(crate) struct Accepted {
    /// Normalised host (see [`crate::hosts::normalize_host`]).
    pub host: String,
    pub port: u16,
    pub upgrade: OnUpgrade,
}

/// What the proxy says to a CONNECT.
pub(crate) enum Decision {
    /// Open the tunnel.
    Open(Accepted),
    /// Refuse it with this answer.
    Refuse(Response<Body>),
}

/// Checks a CONNECT request: its authority and the host policy (the magic
/// host is always allowed).
pub(crate) fn accept<H: Handler, B>(core: &Core<H>, conn: &ConnInfo, req: Request<B>) -> Decision {
    let Some(auth) = req.uri().authority().cloned() else {
        return Decision::Refuse(error_page::bad_request(
            "",
            "CONNECT needs a host:port authority",
        ));
    };
    let host = normalize_host(auth.host());
    let port = auth.port_u16().unwrap_or(443);
    if !magic::is_magic_host(&host) {
        let verdict = core.verdict(&host, port);
        if verdict != Verdict::Allowed {
            let uri: Uri = format!("https://{}/", authority(Scheme::Https, &host, port))
                .parse()
                .unwrap_or_else(|_| Uri::from_static("https://invalid/"));
            let target = Target {
                scheme: Scheme::Https,
                host,
                port,
                uri,
            };
            let s = core.start(conn, target, &req);
            return Decision::Refuse(core.refuse(s, &verdict));
        }
    }
    Decision::Open(Accepted {
        host,
        port,
        upgrade: hyper::upgrade::on(req),
    })
}

/// What the first bytes of a tunnel say it carries.
pub(crate) enum Opened {
    /// A TLS ClientHello: to be intercepted.
    Tls(TunnelStream),
    /// Anything else (or silence for [`PEEK_TIMEOUT`]).
    Other(TunnelStream),
}

/// Peeks at the first bytes of an upgraded tunnel; `None` when the client
/// closed it or the read failed.
pub(crate) async fn open(up: Upgraded, host: &str) -> Option<Opened> {
    let mut io = TokioIo::new(up);
    let mut buf = vec![0u8; 512];
    let prefix = match tokio::time::timeout(PEEK_TIMEOUT, io.read(&mut buf)).await {
        Ok(Ok(0)) => return None,
        Ok(Ok(n)) => {
            buf.truncate(n);
            Bytes::from(buf)
        }
        Ok(Err(e)) => {
            tracing::debug!(%host, error = %e, "tunnel read failed");
            return None;
        }
        Err(_) => Bytes::new(),
    };
    let is_tls = prefix.first() == Some(&TLS_HANDSHAKE);
    let stream = Prefixed::new(prefix, io);
    Some(if is_tls {
        Opened::Tls(stream)
    } else {
        Opened::Other(stream)
    })
}

/// Copies bytes both ways between the client and the origin, untouched.
/// The core is let go once connected, so a long tunnel does not hold up
/// the proxy's shutdown.
pub(crate) async fn passthrough<H: Handler>(
    core: Arc<Core<H>>,
    host: &str,
    port: u16,
    mut client: TunnelStream,
) {
    core.stats.tunnel();
    let mut origin = match core.upstream.resolver.connect(host, port).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%host, port, error = %e, "tunnel connect failed");
            return;
        }
    };
    let idle = core.timeouts.tunnel_idle;
    drop(core);
    match crate::limits::relay(&mut client, &mut origin, idle).await {
        Ok((up, down)) => tracing::debug!(%host, port, up, down, "tunnel closed"),
        Err(e) => tracing::info!(%host, port, error = %e, "tunnel ended"),
    }
}
