//! [`ProxyOptions`]: the clap-free option set of `webinfer proxy` (and of
//! `webinfer audit`, which runs the same proxy), turned into a
//! [`ProxyBuilder`] by [`ProxyOptions::builder`].

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::builder::ProxyBuilder;
use crate::ca::{self, certs_from_pem, CertificateAuthority};
use crate::error::ProxyError;

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A `--resolve HOST:PORT:ADDR` rule: connections to `HOST:PORT` go to `ADDR`
/// (same port), like curl's `--resolve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// Host name as it appears in URLs.
    pub host: String,
    /// Port as it appears in URLs.
    pub port: u16,
    /// Where to connect instead.
    pub addr: SocketAddr,
}

impl std::str::FromStr for ResolveRule {
    type Err = ProxyError;

    /// Parses `HOST:PORT:ADDR`; `ADDR` may be an IPv6 literal in brackets.
    fn from_str(rule: &str) -> Result<Self, ProxyError> {
        let bad = |reason: &str| ProxyError::BadResolve {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let mut parts = rule.splitn(3, ':');
        let host = parts
            .next()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("empty host"))?;
        let port: u16 = parts
            .next()
            .ok_or_else(|| bad("missing port"))?
            .parse()
            .map_err(|_| bad("bad port"))?;
        let addr = parts.next().ok_or_else(|| bad("missing address"))?;
        let ip: IpAddr = addr
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| bad("address is not an IP"))?;
        Ok(ResolveRule {
            host: host.to_ascii_lowercase(),
            port,
            addr: SocketAddr::new(ip, port),
        })
    }
}

/// Every option of the proxy, independent of any command-line parser.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory for trace files (used by the trace sink filter).
    pub traces: PathBuf,
    /// PEM files with extra trust roots for upstream servers.
    pub upstream_ca: Vec<PathBuf>,
    /// `--resolve` rules.
    pub resolve: Vec<ResolveRule>,
    /// Only hosts matching one of these globs are reached (when non-empty).
    pub allow_hosts: Vec<String>,
    /// Hosts matching one of these globs are refused.
    pub deny_hosts: Vec<String>,
    /// CA directory; `None` means the user's data dir.
    pub ca_dir: Option<PathBuf>,
    /// Save model artifacts here as `<sha256><ext>`.
    pub save_models: Option<PathBuf>,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            traces: PathBuf::from("traces"),
            upstream_ca: Vec::new(),
            resolve: Vec::new(),
            allow_hosts: Vec::new(),
            deny_hosts: Vec::new(),
            ca_dir: None,
            save_models: None,
        }
    }
}

impl ProxyOptions {
    /// The CA directory in effect.
    pub fn ca_dir(&self) -> Result<PathBuf, ProxyError> {
        match &self.ca_dir {
            Some(d) => Ok(d.clone()),
            None => ca::default_dir(),
        }
    }

    /// A warning to print when the proxy would listen beyond loopback.
    pub fn listen_warning(&self) -> Option<String> {
        (!self.listen.ip().is_loopback()).then(|| {
            format!(
                "warning: listening on {} which is not loopback: anyone who can reach it can use \
                 this intercepting proxy",
                self.listen
            )
        })
    }

    /// Loads (or creates) the CA, reads the upstream roots, and returns a
    /// configured builder (without filters; add them with `.filter(..)`).
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
            .deny_hosts(self.deny_hosts.clone());
        if let Some(dir) = &self.save_models {
            b = b.save_models(dir.clone());
        }
        Ok(b)
    }
}

/// Reads every certificate of a PEM file; an empty result is an error.
pub fn read_pem_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, ProxyError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProxyError::io("reading", path, e))?;
    let certs = certs_from_pem(&text);
    if certs.is_empty() {
        return Err(ProxyError::BadPem {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs.into_iter().map(CertificateDer::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_rules_parse_like_curl() {
        let r: ResolveRule = "Example.com:443:127.0.0.1".parse().unwrap();
        assert_eq!(r.host, "example.com");
        assert_eq!(r.addr, "127.0.0.1:443".parse().unwrap());
        let r: ResolveRule = "x.test:8443:[::1]".parse().unwrap();
        assert_eq!(r.addr, "[::1]:8443".parse().unwrap());
        assert!("x.test:443".parse::<ResolveRule>().is_err());
        assert!("x.test:http:127.0.0.1".parse::<ResolveRule>().is_err());
        assert!("x.test:443:localhost".parse::<ResolveRule>().is_err());
    }

    #[test]
    fn non_loopback_listen_warns() {
        let mut o = ProxyOptions::default();
        assert!(o.listen_warning().is_none());
        o.listen = "0.0.0.0:8080".parse().unwrap();
        assert!(o.listen_warning().unwrap().contains("not loopback"));
    }
}
