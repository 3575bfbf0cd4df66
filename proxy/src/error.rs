//! The crate's error type.

use std::path::PathBuf;

/// Errors from setting up or running the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Reading or writing a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation or parsing failed.
    #[error("certificate error: {0}")]
    Cert(#[from] rcgen::Error),
    /// A TLS configuration could not be built.
    #[error("TLS configuration error: {0}")]
    Tls(#[from] rustls::Error),
    /// A PEM file held no usable certificate.
    #[error("{path}: {reason}")]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A host glob did not parse.
    #[error("bad host pattern {pattern:?}: {reason}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        reason: String,
    },
    /// A `--resolve` rule did not parse.
    #[error("bad --resolve rule {rule:?}: expected HOST:PORT:ADDR ({reason})")]
    BadResolve {
        /// The rule.
        rule: String,
        /// What is wrong.
        reason: String,
    },
    /// The CA directory or a key in it is not private to this user.
    #[error("refusing the CA in {path}: {reason}")]
    InsecureCa {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The CA key and the CA certificate do not belong together.
    #[error("{key} does not match the certificate {cert}: {reason}")]
    CaMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// What to do.
        reason: String,
    },
    /// The user's data directory could not be determined.
    #[error("cannot determine the user's data directory; pass --ca-dir")]
    NoDataDir,
    /// A timeout or size limit is out of range.
    #[error("bad limit: {0}")]
    BadLimit(String),
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ProxyError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProxyError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
