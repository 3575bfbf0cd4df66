//! [`ProxyOptions`]: the clap-free option set of `webinfer proxy` (and of
//! `webinfer audit`, which runs the same proxy), turned into a
//! [`crate::ProxyBuilder`] by [`ProxyOptions::builder`] (in `builder`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::ca::{self, certs_from_pem};
use crate::error::ProxyError;

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default limit on the size of a client's request head (request line
/// plus headers), in bytes: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The smallest accepted `max_header_bytes`: below it ordinary browser
/// requests would be refused.
pub const MIN_MAX_HEADER_BYTES: usize = 8192;

/// The proxy's time limits. Every wait on a peer is bounded by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Upstream TCP connect, and separately the upstream TLS handshake
    /// (`--connect-timeout`, default 10 s). Exceeding it answers `504`.
    pub connect: Duration,
    /// Longest wait for an upstream response head, counted from when the
    /// request was sent or its body last made progress (`--response-timeout`,
    /// default 60 s). Exceeding it answers `504 Gateway Timeout`.
    pub response: Duration,
    /// Longest pause in a streaming body, request or response, while the
    /// other side waits for it (`--idle-timeout`, default 60 s). Exceeding it
    /// aborts that exchange and releases both connections.
    pub idle: Duration,
    /// Longest time a client may take to send a complete HTTP/1.1 request
    /// head, on the listener and inside intercepted TLS; also the idle limit
    /// of a kept-alive HTTP/1.1 client connection
    /// (`--client-header-timeout`, default 30 s).
    pub client_header: Duration,
    /// Longest time a client may take for its TLS handshake inside a CONNECT
    /// tunnel, ClientHello included (`--client-tls-timeout`, default 10 s).
    pub client_tls: Duration,
    /// Longest time without a byte in either direction on a raw CONNECT
    /// tunnel or a WebSocket relay; then both sides are closed
    /// (`--tunnel-idle-timeout`, default 5 min).
    pub tunnel_idle: Duration,
    /// Longest time an HTTP/2 client connection may stay without an open
    /// request; then it is closed gracefully with GOAWAY
    /// (`--client-idle-timeout`, default 2 min). HTTP/1.1 connections use
    /// [`Timeouts::client_header`] for the same.
    pub client_idle: Duration,
    /// Interval of HTTP/2 keep-alive PINGs towards clients; a client that
    /// does not answer one within the same time is disconnected
    /// (`--client-keepalive`, default 30 s).
    pub client_keepalive: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            client_header: Duration::from_secs(30),
            client_tls: Duration::from_secs(10),
            tunnel_idle: Duration::from_secs(300),
            client_idle: Duration::from_secs(120),
            client_keepalive: Duration::from_secs(30),
        }
    }
}

/// The default limit on concurrent client connections: half the process's
/// open-file limit (`RLIMIT_NOFILE`, soft) minus a reserve of 64, since each
/// client connection may need an upstream connection too; at least 16 and
/// at most 4096 (480 under the common soft limit of 1024).
pub fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            let soft = usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX);
            return (soft.saturating_sub(64) / 2).clamp(16, 4096);
        }
    }
    1024
}

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
    /// Time limits.
    pub timeouts: Timeouts,
    /// Largest accepted request head (request line plus headers) in bytes;
    /// larger ones get `431` (default [`DEFAULT_MAX_HEADER_BYTES`]).
    pub max_header_bytes: usize,
    /// Most client connections open at once (tunnels included); `None` is
    /// [`default_max_connections`].
    pub max_connections: Option<usize>,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            upstream_ca: Vec::new(),
            resolve: Vec::new(),
            allow_hosts: Vec::new(),
            deny_hosts: Vec::new(),
            ca_dir: None,
            timeouts: Timeouts::default(),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: None,
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

    /// A warning to print when the proxy would listen beyond loopback,
    /// naming who can now reach it: for an unspecified address (`0.0.0.0`:
    /// every IPv4 address; `::`: every IPv4 and IPv6 address, dual stack)
    /// the non-loopback addresses of this machine's interfaces now (from
    /// `getifaddrs`), for a given address that address and its interface.
    /// `None` for a loopback address.
    pub fn listen_warning(&self) -> Option<String> {
        /// (interface name, address) of every interface address.
        fn interface_addrs() -> Vec<(String, IpAddr)> {
            let mut out = Vec::new();
            #[cfg(unix)]
            // SAFETY: `getifaddrs` fills a linked list that stays valid until
            // `freeifaddrs`; each `ifa_addr` is checked for null and read as
            // the `sockaddr_in`/`sockaddr_in6` its `sa_family` says it is.
            unsafe {
                let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
                if libc::getifaddrs(&mut head) != 0 {
                    return out;
                }
                let mut cur = head;
                while !cur.is_null() {
                    let ifa = &*cur;
                    if !ifa.ifa_addr.is_null() {
                        let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                            .to_string_lossy()
                            .into_owned();
                        match i32::from((*ifa.ifa_addr).sa_family) {
                            libc::AF_INET => {
                                let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                                let ip = std::net::Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
                                out.push((name, IpAddr::V4(ip)));
                            }
                            libc::AF_INET6 => {
                                let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                                let ip = std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr);
                                out.push((name, IpAddr::V6(ip)));
                            }
                            _ => {}
                        }
                    }
                    cur = ifa.ifa_next;
                }
                libc::freeifaddrs(head);
            }
            out
        }

        let ip = self.listen.ip();
        if ip.is_loopback() {
            return None;
        }
        let port = self.listen.port();
        let port_text = if port == 0 {
            "the port printed below".to_owned()
        } else {
            format!("port {port}")
        };
        let named: Vec<String> = interface_addrs()
            .into_iter()
            .filter(|(_, a)| !a.is_loopback())
            .filter(|(_, a)| match ip {
                IpAddr::V4(v4) if v4.is_unspecified() => a.is_ipv4(),
                IpAddr::V6(v6) if v6.is_unspecified() => true,
                _ => *a == ip,
            })
            .map(|(n, a)| format!("{a} ({n})"))
            .collect();
        let scope = if ip.is_unspecified() {
            let family = if ip.is_ipv4() {
                "IPv4"
            } else {
                "IPv4 and IPv6"
            };
            format!("every {family} address of this machine")
        } else {
            format!("{ip}")
        };
        let now = if named.is_empty() {
            if ip.is_unspecified() {
                "none besides loopback right now, but any added later".to_owned()
            } else {
                "not an address of this machine's interfaces right now".to_owned()
            }
        } else {
            named.join(", ")
        };
        Some(format!(
            "warning: listening on {} is not loopback: any host that can reach {scope} ({now}) \
             on {port_text} can use this intercepting proxy — it reaches every host this \
             machine can reach, including services on its loopback, and decrypts HTTPS for \
             clients trusting this install's CA. Use --listen 127.0.0.1:{port} unless that \
             is what you want, and firewall the port.",
            self.listen
        ))
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
    fn non_loopback_listen_warns_and_names_who_can_reach_it() {
        let mut o = ProxyOptions::default();
        assert!(o.listen_warning().is_none());
        o.listen = "[::1]:8080".parse().unwrap();
        assert!(o.listen_warning().is_none());

        o.listen = "0.0.0.0:8080".parse().unwrap();
        let w = o.listen_warning().unwrap();
        assert!(w.contains("0.0.0.0:8080 is not loopback"), "{w}");
        assert!(w.contains("every IPv4 address of this machine"), "{w}");
        assert!(w.contains("on port 8080"), "{w}");
        assert!(!w.contains("127.0.0.1 ("), "loopback is not named: {w}");
        assert!(!w.contains("::1 ("), "IPv6 is not named for 0.0.0.0: {w}");

        o.listen = "[::]:0".parse().unwrap();
        let w = o.listen_warning().unwrap();
        assert!(w.contains("every IPv4 and IPv6 address"), "{w}");
        assert!(w.contains("the port printed below"), "{w}");

        // A documentation address no interface has.
        o.listen = "198.51.100.7:9000".parse().unwrap();
        let w = o.listen_warning().unwrap();
        assert!(
            w.contains("reach 198.51.100.7 (not an address of this machine's"),
            "{w}"
        );
        assert!(w.contains("--listen 127.0.0.1:9000"), "{w}");
    }
}
