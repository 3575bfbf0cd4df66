//! The webinfer proxy on port 0, with its CA in a (temp) directory.

use std::path::Path;
use std::sync::Arc;

use webinfer_proxy::{CertificateAuthority, ProxyBuilder, ProxyHandle};

/// The proxy CA in `dir/ca` (created on first use, as `webinfer proxy`
/// does with `--ca-dir`).
pub fn ca(dir: &Path) -> Arc<CertificateAuthority> {
    Arc::new(CertificateAuthority::load_or_create(&dir.join("ca")).expect("the proxy CA"))
}

/// A [`ProxyBuilder`] with the CA in `dir/ca`, listening on `127.0.0.1:0`.
pub fn builder(dir: &Path) -> ProxyBuilder {
    ProxyBuilder::new()
        .ca(ca(dir))
        .listen("127.0.0.1:0".parse().expect("a socket address"))
}

/// Starts [`builder`]`(dir)` after `configure`; the handle's `addr()` is
/// where it listens.
///
/// # Panics
/// If the proxy does not start.
pub async fn start(
    dir: &Path,
    configure: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
) -> ProxyHandle {
    configure(builder(dir))
        .start()
        .await
        .expect("the proxy starts")
}
