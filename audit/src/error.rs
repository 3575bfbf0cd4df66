//! [`AuditError`]: everything that can stop an audit, with what to do about it.

use std::path::PathBuf;

/// Why an audit (or one of its runs) failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `--variant` named no known variant.
    #[error("unknown variant {name:?} (known: {known})")]
    UnknownVariant {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// The browser executable was not found.
    #[error("browser {spec:?} not found: {reason}")]
    BrowserNotFound {
        /// What was asked for (`chromium`, `firefox` or a path).
        spec: String,
        /// What was tried.
        reason: String,
    },
    /// The browser could not be started or driven.
    #[error("{browser}: {reason}")]
    Browser {
        /// Which browser.
        browser: String,
        /// What went wrong.
        reason: String,
    },
    /// The DevTools protocol connection failed.
    #[error("DevTools protocol: {0}")]
    Cdp(String),
    /// A feature is not available for this browser.
    #[error("{0}")]
    Unsupported(String),
    /// An audited URL is not usable.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The demo site failed.
    #[error("demo site: {0}")]
    Site(#[from] crate::site::SiteError),
    /// The proxy failed.
    #[error("proxy: {0}")]
    Proxy(#[from] webinfer_proxy::ProxyError),
    /// Writing a trace failed.
    #[error(transparent)]
    Trace(#[from] webinfer_format::WriterError),
}

impl AuditError {
    /// An [`AuditError::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
