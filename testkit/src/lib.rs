//! Real parts for webinfer's tests, written once (dev-only, `publish = false`).
//!
//! - [`ca`]: a throw-away test CA ([`TestCa`]) that signs leaf certificates
//!   for loopback origins, plus misbehaving server configs (expired,
//!   self-signed).
//! - [`origin`]: a real TLS (or plain) HTTP/1.1 + h2 origin on
//!   `127.0.0.1:0` with a pluggable handler ([`Origin::start`]) that counts
//!   connections and requests, and body helpers.
//! - [`data`]: deterministic pseudo-random bytes, streamed bodies and their
//!   SHA-256, so a test can check a large body end to end without holding it.
//! - [`hosts`]: spellings of loopback addresses for host policy tests.
//! - [`client`]: a real CONNECT client: the raw tunnel ([`connect_tunnel`]),
//!   TLS inside it trusting the given roots ([`client_tls`],
//!   [`tls_through_proxy`]) and an HTTP/1.1 or h2 client over it
//!   ([`Sender`]).
//! - [`proxy`] (feature `proxy`): the webinfer proxy on port 0 with its CA
//!   in a temp dir ([`proxy::start`]).
//! - [`prop`] (feature `proptest`): the one proptest configuration
//!   ([`prop::config`]).
//!
//! Constructors that cannot fail in practice (key generation, building a
//! TLS config from fresh certificates) panic with a message; operations
//! that a test may expect to fail (a refused CONNECT, a TLS handshake, an
//! HTTP exchange) return [`Error`].

pub mod ca;
pub mod client;
pub mod data;
pub mod hosts;
pub mod origin;
#[cfg(feature = "proptest")]
pub mod prop;
#[cfg(feature = "proxy")]
pub mod proxy;

pub use ca::TestCa;
pub use client::{client_tls, connect_refused, connect_tunnel, tls_through_proxy, Sender};
pub use origin::{body_bytes, empty, full, query_u64, Origin, TestBody};

/// What a client operation of the kit can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The proxy answered CONNECT with something other than `200`: its
    /// status line (empty when it closed before a whole answer).
    #[error("CONNECT refused: {0:?}")]
    Refused(String),
    /// The proxy's answer to CONNECT was over 64 KiB without an end.
    #[error("CONNECT answer over 64 KiB")]
    Oversized,
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `host` is not a valid TLS server name.
    #[error("not a TLS server name: {0}")]
    ServerName(String),
    /// The HTTP client failed.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
}

impl Error {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { what, source }
    }
}
