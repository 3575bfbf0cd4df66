//! CONNECT handling: host policy, then a peek at the first bytes of the
//! tunnel. A TLS ClientHello is intercepted; anything else is tunneled to the
//! origin untouched (the magic host is served in place either way).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;

use crate::filter::{empty, Body, Scheme};
use crate::hosts::{normalize_host, Verdict};
use crate::prefixed::Prefixed;
use crate::service::{authority, ConnInfo, Core, Target, Tunnel};
use crate::{error_page, intercept, magic};

/// How long to wait for the client's first bytes before treating the tunnel
/// as a server-speaks-first protocol and passing it through.
const PEEK_TIMEOUT: Duration = Duration::from_secs(3);

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Answers a CONNECT request and spawns the tunnel's handling.
pub(crate) fn handle_connect(
    core: Arc<Core>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some(auth) = req.uri().authority().cloned() else {
        return error_page::bad_request("", "CONNECT needs a host:port authority");
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
            let ctx = core.context(&conn, target, &req);
            return core.refuse(ctx, &verdict);
        }
    }
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(up) => tunnel(core, conn, host, port, up).await,
            Err(e) => tracing::debug!(error = %e, "CONNECT upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .body(empty())
        .expect("static response parts")
}

async fn tunnel(core: Arc<Core>, conn: ConnInfo, host: String, port: u16, up: Upgraded) {
    let mut io = TokioIo::new(up);
    let mut buf = vec![0u8; 512];
    let prefix = match tokio::time::timeout(PEEK_TIMEOUT, io.read(&mut buf)).await {
        Ok(Ok(0)) => return,
        Ok(Ok(n)) => {
            buf.truncate(n);
            Bytes::from(buf)
        }
        Ok(Err(e)) => {
            tracing::debug!(%host, error = %e, "tunnel read failed");
            return;
        }
        Err(_) => Bytes::new(),
    };
    let is_tls = prefix.first() == Some(&TLS_HANDSHAKE);
    let stream = Prefixed::new(prefix, io);
    let scheme = if is_tls { Scheme::Https } else { Scheme::Http };
    let tunnel_conn = ConnInfo {
        client_addr: conn.client_addr,
        scheme,
        tunnel: Some(Tunnel::new(host.clone(), port, scheme)),
    };
    if is_tls {
        intercept::serve_tls(core, tunnel_conn, stream, host).await;
    } else if magic::is_magic_host(&host) {
        intercept::serve_http(core, tunnel_conn, stream, intercept::Protocol::Http1).await;
    } else {
        passthrough(core, host, port, stream).await;
    }
}

/// Copies bytes both ways between the client and the origin, untouched.
async fn passthrough(
    core: Arc<Core>,
    host: String,
    port: u16,
    mut client: Prefixed<TokioIo<Upgraded>>,
) {
    core.stats.tunnel();
    let mut origin = match core.upstream.resolver.connect(&host, port).await {
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
