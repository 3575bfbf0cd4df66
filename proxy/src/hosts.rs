//! The host policy: `--allow-host` and `--deny-host` globs.
//!
//! Patterns are case-insensitive globs over the host name (`*` also matches
//! dots). A pattern `*.example.com` matches `example.com` too. When any allow
//! pattern is given, only matching hosts are reached; deny patterns win over
//! allow patterns. Refused hosts are never resolved nor contacted.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::ProxyError;

/// Why a host was refused, or that it may be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The host may be contacted.
    Allowed,
    /// `--allow-host` patterns exist and none matches.
    NotAllowed,
    /// A `--deny-host` pattern matches (the pattern).
    Denied(String),
}

impl Verdict {
    /// A one-line explanation for refusal pages and logs.
    pub fn reason(&self) -> String {
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::NotAllowed => "the host matches no --allow-host pattern".into(),
            Verdict::Denied(p) => format!("the host matches --deny-host {p}"),
        }
    }
}

/// Compiled allow and deny lists.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    allow: Option<(GlobSet, Vec<String>)>,
    deny: (GlobSet, Vec<String>),
}

fn compile(patterns: &[String]) -> Result<(GlobSet, Vec<String>), ProxyError> {
    let mut builder = GlobSetBuilder::new();
    let mut names = Vec::new();
    for pattern in patterns {
        let mut variants = vec![pattern.clone()];
        if let Some(bare) = pattern.strip_prefix("*.") {
            variants.push(bare.to_string());
        }
        for v in variants {
            let glob = GlobBuilder::new(&v)
                .case_insensitive(true)
                .build()
                .map_err(|e| ProxyError::BadGlob {
                    pattern: pattern.clone(),
                    reason: e.kind().to_string(),
                })?;
            builder.add(glob);
            names.push(pattern.clone());
        }
    }
    let set = builder.build().map_err(|e| ProxyError::BadGlob {
        pattern: patterns.join(","),
        reason: e.to_string(),
    })?;
    Ok((set, names))
}

impl HostPolicy {
    /// Compiles the patterns; an empty `allow` list allows every host.
    pub fn new(allow: &[String], deny: &[String]) -> Result<Self, ProxyError> {
        let allow = if allow.is_empty() {
            None
        } else {
            Some(compile(allow)?)
        };
        Ok(HostPolicy {
            allow,
            deny: compile(deny)?,
        })
    }

    /// Decides whether `host` may be contacted.
    pub fn check(&self, host: &str) -> Verdict {
        let host = host.trim_end_matches('.');
        if let Some(i) = self.deny.0.matches(host).first() {
            return Verdict::Denied(self.deny.1[*i].clone());
        }
        match &self.allow {
            Some((set, _)) if !set.is_match(host) => Verdict::NotAllowed,
            _ => Verdict::Allowed,
        }
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
    }
}
