//! A real CONNECT client: the raw tunnel through the proxy, TLS inside it
//! trusting only the roots given, and an HTTP/1.1 or h2 client over that.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::{Error, TestBody};

/// The most a CONNECT answer head may take before the client gives up.
const MAX_HEAD: usize = 64 * 1024;

/// Sends `CONNECT authority` with `Host: host_header` to the proxy and
/// returns the stream after a `200`; [`Error::Refused`] carries the status
/// line of any other answer.
pub async fn connect_tunnel_with_host(
    proxy: SocketAddr,
    authority: &str,
    host_header: &str,
) -> Result<TcpStream, Error> {
    let mut tcp = TcpStream::connect(proxy)
        .await
        .map_err(Error::io("connecting to the proxy"))?;
    let _ = tcp.set_nodelay(true);
    tcp.write_all(
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {host_header}\r\n\r\n").as_bytes(),
    )
    .await
    .map_err(Error::io("sending CONNECT"))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp
            .read(&mut byte)
            .await
            .map_err(Error::io("reading the CONNECT answer"))?;
        if n == 0 {
            break;
        }
        if head.len() >= MAX_HEAD {
            return Err(Error::Oversized);
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    if text.starts_with("HTTP/1.1 200") {
        Ok(tcp)
    } else {
        Err(Error::Refused(text.lines().next().unwrap_or("").to_owned()))
    }
}

/// Sends `CONNECT authority` (also as `Host`); see
/// [`connect_tunnel_with_host`].
pub async fn connect_tunnel(proxy: SocketAddr, authority: &str) -> Result<TcpStream, Error> {
    connect_tunnel_with_host(proxy, authority, authority).await
}

/// The status line with which the proxy refuses `CONNECT authority`.
///
/// # Panics
/// If the tunnel opens or the exchange fails otherwise (an I/O error is
/// not a refusal).
pub async fn connect_refused(proxy: SocketAddr, authority: &str) -> String {
    match connect_tunnel(proxy, authority).await {
        Err(Error::Refused(status)) => status,
        Ok(_) => panic!("CONNECT {authority} was let through"),
        Err(e) => panic!("CONNECT {authority}: {e}"),
    }
}

/// A rustls (ring) client config trusting only `roots` (DER), offering
/// `alpn`.
pub fn client_tls<R: AsRef<[u8]>>(
    roots: impl IntoIterator<Item = R>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store
            .add(CertificateDer::from(r.as_ref().to_vec()))
            .expect("a valid root certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(cfg)
}

/// TLS as a client to `host` (a DNS name or an IP address) over `tcp`.
pub async fn tls_connect(
    tcp: TcpStream,
    host: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<TlsStream<TcpStream>, Error> {
    let name =
        ServerName::try_from(host.to_owned()).map_err(|_| Error::ServerName(host.to_owned()))?;
    TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(Error::io("TLS handshake"))
}

/// CONNECT `host:port` through the proxy, then TLS to `host` trusting only
/// `root`, offering `alpn`.
pub async fn tls_through_proxy(
    proxy: SocketAddr,
    host: &str,
    port: u16,
    root: &[u8],
    alpn: &[&[u8]],
) -> Result<TlsStream<TcpStream>, Error> {
    let tcp = connect_tunnel(proxy, &format!("{host}:{port}")).await?;
    tls_connect(tcp, host, client_tls([root], alpn)).await
}

/// A hyper HTTP/1.1 or h2 client connection, over a TLS stream (usually in
/// a CONNECT tunnel). Its connection task runs on the current runtime.
pub enum Sender {
    /// HTTP/1.1 (keep-alive, upgrades allowed).
    H1(hyper::client::conn::http1::SendRequest<TestBody>),
    /// HTTP/2.
    H2(hyper::client::conn::http2::SendRequest<TestBody>),
}

impl Sender {
    /// CONNECT `host:port` through `proxy`, TLS with `tls`, then an h2
    /// handshake if `h2` was negotiated, else HTTP/1.1.
    pub async fn open(
        proxy: SocketAddr,
        host: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Sender, Error> {
        let tcp = connect_tunnel(proxy, &format!("{host}:{port}")).await?;
        Sender::handshake(tls_connect(tcp, host, tls).await?).await
    }

    /// [`Sender::open`] trusting only `root` and offering only `h2` (or only
    /// `http/1.1`).
    ///
    /// # Panics
    /// If anything fails, or the proxy negotiated another protocol than the
    /// one offered.
    pub async fn trusting(
        proxy: SocketAddr,
        host: &str,
        port: u16,
        root: &[u8],
        h2: bool,
    ) -> Sender {
        let alpn: &[&[u8]] = if h2 { &[b"h2"] } else { &[b"http/1.1"] };
        let s = Sender::open(proxy, host, port, client_tls([root], alpn))
            .await
            .unwrap_or_else(|e| panic!("opening {host}:{port} through the proxy: {e}"));
        assert_eq!(s.is_h2(), h2, "ALPN towards the client");
        s
    }

    /// An HTTP/1.1 or h2 handshake over `stream`, by its negotiated ALPN.
    pub async fn handshake(stream: TlsStream<TcpStream>) -> Result<Sender, Error> {
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        if h2 {
            let (send, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            Ok(Sender::H2(send))
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn.with_upgrades());
            Ok(Sender::H1(send))
        }
    }

    /// Sends `req` once the connection can take it: an HTTP/1.1 connection
    /// is ready again only after the previous response was read to its end,
    /// which hyper's connection task notices asynchronously.
    pub async fn send(&mut self, req: Request<TestBody>) -> Result<Response<Incoming>, Error> {
        Ok(match self {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        })
    }

    /// Whether this is an h2 connection.
    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }
}

/// Reads a whole (small) response body as UTF-8 text.
///
/// # Panics
/// If the body fails or is not UTF-8.
pub async fn text(resp: Response<Incoming>) -> String {
    let body = resp.into_body().collect().await.expect("a whole body");
    String::from_utf8(body.to_bytes().to_vec()).expect("a UTF-8 body")
}

/// Streams a response body, returning its length and SHA-256 hex without
/// holding it.
///
/// # Panics
/// If the body fails midway.
pub async fn hash_body(resp: Response<Incoming>) -> (u64, String) {
    let mut body = resp.into_body();
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("a body frame");
        if let Some(d) = frame.data_ref() {
            h.update(d);
            n += d.len() as u64;
        }
    }
    (n, hex::encode(h.finalize()))
}
