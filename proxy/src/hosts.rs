//! The host policy: `--allow-host` and `--deny-host` rules.
//!
//! A rule is either an **address rule** — an IP address or a CIDR block
//! (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`) — or a **name glob**
//! (`*.example.com`, `*googleapis*`; case-insensitive, `*` also matches dots,
//! `*.example.com` matches `example.com` too).
//!
//! Every host is first normalised ([`normalize_host`]): letter case, a
//! trailing dot and IDNA (Unicode names become their `xn--` form), and every
//! spelling of an IPv4 address that resolvers accept (`127.1`,
//! `2130706433`, `0x7f.1`, `0177.0.0.1`) or an IPv4-mapped IPv6 address
//! (`::ffff:127.0.0.1`) becomes its canonical dotted form.
//!
//! Deny rules are checked twice:
//! 1. before anything is contacted, against the normalised host
//!    ([`HostPolicy::check`]);
//! 2. at connect time, against **every address the host resolves to**
//!    (DNS or `--resolve`, see [`HostPolicy::check_resolved`]). If any of
//!    them is denied the whole host is refused, so a DNS name pointing at a
//!    denied address cannot be used to reach it, and what is checked is
//!    exactly what is connected to (no re-resolution in between). The
//!    unspecified addresses `0.0.0.0` and `::`, which the kernel connects to
//!    the local host, count as `127.0.0.1` and `::1` as well.
//!
//! When any allow rule is given, only matching hosts are reached; deny rules
//! win over allow rules. Allow address rules match hosts written as an
//! address (in any spelling), never names: `--allow-host 127.0.0.1` does not
//! allow `localhost`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::ProxyError;

/// Why a host was refused, or that it may be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The host may be contacted.
    Allowed,
    /// `--allow-host` rules exist and none matches.
    NotAllowed,
    /// A `--deny-host` rule matches (the rule as given).
    Denied(String),
    /// The host resolves to an address a `--deny-host` rule matches.
    DeniedAddress {
        /// The address the host resolved to.
        addr: IpAddr,
        /// The rule as given.
        rule: String,
    },
}

impl Verdict {
    /// A one-line explanation for refusal pages and logs.
    pub fn reason(&self) -> String {
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::NotAllowed => "the host matches no --allow-host pattern".into(),
            Verdict::Denied(p) => format!("the host matches --deny-host {p}"),
            Verdict::DeniedAddress { addr, rule } => {
                format!("the host resolves to {addr}, which matches --deny-host {rule}")
            }
        }
    }
}

/// An IP address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    fn contains(&self, addr: IpAddr) -> bool {
        match (self.net, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.bits as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.bits as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One compiled list of rules.
#[derive(Debug, Clone, Default)]
struct Rules {
    cidrs: Vec<(Cidr, String)>,
    globs: GlobSet,
    glob_names: Vec<String>,
}

impl Rules {
    fn compile(patterns: &[String]) -> Result<Self, ProxyError> {
        let mut builder = GlobSetBuilder::new();
        let mut glob_names = Vec::new();
        let mut cidrs = Vec::new();
        for pattern in patterns {
            let bad = |reason: String| ProxyError::BadGlob {
                pattern: pattern.clone(),
                reason,
            };
            if let Some(cidr) = parse_cidr(pattern).map_err(bad)? {
                cidrs.push((cidr, pattern.clone()));
                continue;
            }
            let norm = normalize_glob(pattern).map_err(bad)?;
            let mut variants = vec![norm.clone()];
            if let Some(bare) = norm.strip_prefix("*.") {
                variants.push(bare.to_string());
            }
            for v in variants {
                let glob = GlobBuilder::new(&v)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| bad(e.kind().to_string()))?;
                builder.add(glob);
                glob_names.push(pattern.clone());
            }
        }
        let globs = builder.build().map_err(|e| ProxyError::BadGlob {
            pattern: patterns.join(","),
            reason: e.to_string(),
        })?;
        Ok(Rules {
            cidrs,
            globs,
            glob_names,
        })
    }

    /// The first rule matching the normalised name (globs only).
    fn match_name(&self, name: &str) -> Option<&str> {
        self.globs
            .matches(name)
            .first()
            .map(|i| self.glob_names[*i].as_str())
    }

    /// The first rule matching the address: address rules, and globs over
    /// its canonical text (so `10.*` keeps working).
    fn match_addr(&self, addr: IpAddr) -> Option<&str> {
        for a in equivalents(addr) {
            if let Some((_, rule)) = self.cidrs.iter().find(|(c, _)| c.contains(a)) {
                return Some(rule);
            }
            if let Some(rule) = self.match_name(&a.to_string()) {
                return Some(rule);
            }
        }
        None
    }
}

/// The addresses a connection to `addr` may really reach: the address
/// itself (IPv4-mapped IPv6 as IPv4) and, for the unspecified address, the
/// loopback address of its family.
fn equivalents(addr: IpAddr) -> Vec<IpAddr> {
    let addr = canonical_ip(addr);
    let mut v = vec![addr];
    match addr {
        IpAddr::V4(a) if a.is_unspecified() => v.push(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(a) if a.is_unspecified() => v.push(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => {}
    }
    v
}

/// IPv4-mapped IPv6 addresses as IPv4, everything else unchanged.
pub fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(a),
        },
        v4 => v4,
    }
}

/// `Ok(Some)` for an address or CIDR rule, `Ok(None)` for a name glob.
fn parse_cidr(pattern: &str) -> Result<Option<Cidr>, String> {
    let (addr, bits) = match pattern.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (pattern, None),
    };
    let Some(ip) = parse_ip(addr) else {
        return match bits {
            Some(_) => Err("the part before / is not an IP address".into()),
            None => Ok(None),
        };
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => match b.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("prefix length must be 0..={max}")),
        },
    };
    // A mapped IPv6 block (`::ffff:10.0.0.0/104`) becomes the IPv4 block.
    let canon = canonical_ip(ip);
    let bits = if canon != ip {
        bits.saturating_sub(96)
    } else {
        bits
    };
    let ip = canon;
    Ok(Some(Cidr { net: ip, bits }))
}

/// Parses an IPv4 address in every spelling `inet_aton` (and browsers)
/// accept: one to four parts, each decimal, octal (leading `0`) or hex
/// (`0x`), the last part filling the remaining bytes; a trailing dot is
/// allowed. Returns `None` for anything else.
pub fn parse_ipv4_loose(s: &str) -> Option<Ipv4Addr> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() {
            if radix == 16 {
                nums.push(0u64);
                continue;
            }
            return None;
        }
        if !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        nums.push(u64::from_str_radix(digits, radix).ok()?);
    }
    let (last, init) = nums.split_last()?;
    if init.iter().any(|n| *n > 255) {
        return None;
    }
    let last_bits = 8 * (5 - nums.len() as u32);
    if last_bits < 64 && *last >= 1u64 << last_bits {
        return None;
    }
    let mut v: u64 = 0;
    for (i, n) in init.iter().enumerate() {
        v |= n << (24 - 8 * i as u32);
    }
    v |= last;
    Some(Ipv4Addr::from(v as u32))
}

/// Parses an IP address host in any spelling: IPv6 (brackets optional) or a
/// loose IPv4 form (see [`parse_ipv4_loose`]).
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    let h = host.trim();
    if let Some(inner) = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if h.contains(':') {
        return h.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_ipv4_loose(h).map(IpAddr::V4)
}

/// The canonical form of a host: an IP address in its standard text form
/// (IPv4-mapped IPv6 as IPv4, no brackets), or a name in lower case without
/// trailing dots, IDNA-encoded (`bücher.test` → `xn--bcher-kva.test`).
/// A name IDNA rejects is kept lower-cased (it cannot resolve anyway, and
/// every address it might reach is still checked at connect time).
pub fn normalize_host(host: &str) -> String {
    if let Some(ip) = parse_ip(host) {
        return canonical_ip(ip).to_string();
    }
    let trimmed = host.trim_end_matches('.');
    match idna::domain_to_ascii(trimmed) {
        Ok(a) if !a.is_empty() => a,
        _ => trimmed.to_lowercase(),
    }
}

/// A name glob in the same form as [`normalize_host`]'s names: each label
/// without a wildcard goes through IDNA, the rest is lower-cased.
fn normalize_glob(pattern: &str) -> Result<String, String> {
    let trimmed = pattern.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("empty pattern".into());
    }
    let mut labels = Vec::new();
    for label in trimmed.split('.') {
        if label.is_ascii() || label.contains(['*', '?', '[', '{']) {
            labels.push(label.to_lowercase());
        } else {
            labels.push(
                idna::domain_to_ascii(label)
                    .map_err(|_| format!("{label:?} is not a valid IDNA label"))?,
            );
        }
    }
    Ok(labels.join("."))
}

/// Compiled allow and deny lists.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    allow: Option<Rules>,
    deny: Rules,
}

impl HostPolicy {
    /// Compiles the rules; an empty `allow` list allows every host.
    pub fn new(allow: &[String], deny: &[String]) -> Result<Self, ProxyError> {
        let allow = if allow.is_empty() {
            None
        } else {
            Some(Rules::compile(allow)?)
        };
        Ok(HostPolicy {
            allow,
            deny: Rules::compile(deny)?,
        })
    }

    /// Decides whether `host` (any spelling) may be contacted, before it is
    /// resolved.
    pub fn check(&self, host: &str) -> Verdict {
        let host = normalize_host(host);
        let ip = parse_ip(&host);
        let denied = match ip {
            Some(ip) => self.deny.match_addr(ip),
            None => self.deny.match_name(&host),
        };
        if let Some(rule) = denied {
            return Verdict::Denied(rule.to_string());
        }
        match &self.allow {
            Some(allow) => {
                let ok = match ip {
                    Some(ip) => allow.match_addr(ip).is_some(),
                    None => allow.match_name(&host).is_some(),
                };
                if ok {
                    Verdict::Allowed
                } else {
                    Verdict::NotAllowed
                }
            }
            None => Verdict::Allowed,
        }
    }

    /// Decides whether a host that resolved to `addrs` may be connected to:
    /// refused when any of the addresses matches a deny rule.
    pub fn check_resolved(&self, addrs: &[IpAddr]) -> Verdict {
        for addr in addrs {
            if let Some(rule) = self.deny.match_addr(*addr) {
                return Verdict::DeniedAddress {
                    addr: *addr,
                    rule: rule.to_string(),
                };
            }
        }
        Verdict::Allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn deny_wins_and_wildcards_cover_the_bare_domain() {
        let p = HostPolicy::new(&s(&["*.example.com"]), &s(&["ads.example.com"])).unwrap();
        assert_eq!(p.check("example.com"), Verdict::Allowed);
        assert_eq!(p.check("WWW.Example.com"), Verdict::Allowed);
        assert_eq!(p.check("a.b.example.com"), Verdict::Allowed);
        assert_eq!(
            p.check("ads.example.com"),
            Verdict::Denied("ads.example.com".into())
        );
        assert_eq!(
            p.check("ADS.example.com."),
            Verdict::Denied("ads.example.com".into())
        );
        assert_eq!(p.check("example.org"), Verdict::NotAllowed);
        assert_eq!(p.check("notexample.com"), Verdict::NotAllowed);
    }

    #[test]
    fn empty_allow_list_allows_everything_but_denied() {
        let p = HostPolicy::new(&[], &s(&["*.google.com", "*googleapis*"])).unwrap();
        assert_eq!(p.check("127.0.0.1"), Verdict::Allowed);
        assert!(matches!(
            p.check("update.googleapis.com"),
            Verdict::Denied(_)
        ));
        assert!(matches!(p.check("google.com"), Verdict::Denied(_)));
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(HostPolicy::new(&s(&["a[b"]), &[]).is_err());
        assert!(HostPolicy::new(&[], &s(&["10.0.0.0/33"])).is_err());
        assert!(HostPolicy::new(&[], &s(&["foo/8"])).is_err());
    }

    #[test]
    fn loose_ipv4_spellings() {
        let lo = Some(Ipv4Addr::new(127, 0, 0, 1));
        for s in webinfer_testkit::hosts::LOOPBACK_V4_SPELLINGS {
            assert_eq!(parse_ipv4_loose(s), lo, "{s}");
        }
        for s in [
            "256.0.0.1",
            "1.2.3.4.5",
            "08.0.0.1",
            "example.com",
            "",
            "1.2.3.x",
        ] {
            assert_eq!(parse_ipv4_loose(s), None, "{s}");
        }
        assert_eq!(parse_ipv4_loose("0"), Some(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize_host("[::ffff:7f00:1]"), "127.0.0.1");
        assert_eq!(normalize_host("[0000::0001]"), "::1");
        assert_eq!(normalize_host("LocalHost."), "localhost");
        assert_eq!(normalize_host("BÜCHER.test"), "xn--bcher-kva.test");
        assert_eq!(
            normalize_glob("*.BÜCHER.Test.").unwrap(),
            "*.xn--bcher-kva.test"
        );
    }

    #[test]
    fn cidr_rules_and_resolved_addresses() {
        let p = HostPolicy::new(&[], &s(&["10.0.0.0/8", "::1", "192.168.*"])).unwrap();
        assert!(matches!(p.check("10.1.2.3"), Verdict::Denied(_)));
        assert!(matches!(p.check("012.1.2.3"), Verdict::Denied(_)));
        assert_eq!(p.check("11.0.0.1"), Verdict::Allowed);
        assert!(matches!(p.check("[::]"), Verdict::Denied(_)));
        assert!(matches!(p.check("192.168.0.1"), Verdict::Denied(_)));
        let r = p.check_resolved(&["8.8.8.8".parse().unwrap(), "10.9.9.9".parse().unwrap()]);
        assert_eq!(
            r.reason(),
            "the host resolves to 10.9.9.9, which matches --deny-host 10.0.0.0/8"
        );
        assert!(matches!(
            p.check_resolved(&["::ffff:192.168.1.1".parse().unwrap()]),
            Verdict::DeniedAddress { .. }
        ));
        assert_eq!(
            p.check_resolved(&["8.8.8.8".parse().unwrap()]),
            Verdict::Allowed
        );
    }
}
