//! Content Security Policy patching: lets the injected inline hook script run
//! and lets it send records to the same-origin trace endpoint, while changing
//! nothing else a policy allows or forbids.
//!
//! Rules (each policy of a `Content-Security-Policy` header list, and the
//! `content` of `<meta http-equiv="Content-Security-Policy">`):
//!
//! - **Script.** The directive that governs inline `<script>` elements is the
//!   first of `script-src-elem`, `script-src`, `default-src` present. The
//!   script's `'sha256-…'` hash is appended to it, unless the list already
//!   allows every inline script (`'unsafe-inline'` with no hash, nonce or
//!   `'strict-dynamic'`: adding a hash would switch `'unsafe-inline'` off and
//!   break the page's own inline scripts). A `'none'` keyword is replaced by
//!   the hash: `'none'` must stand alone, and the hash is the narrowest way to
//!   allow exactly our script. A policy with none of the three directives puts
//!   no limit on scripts and is left alone.
//! - **Connect.** The directive that governs `fetch`/`sendBeacon` is
//!   `connect-src`, else `default-src`. If it already allows the endpoint
//!   (`'self'`, `*`, a matching scheme or host source) nothing changes.
//!   Otherwise the endpoint's exact URL (`https://app.example/__webinfer__/trace`,
//!   the origin the hook runs in plus the endpoint path) is appended to
//!   `connect-src` (a `'none'` there is replaced), or — when only
//!   `default-src` governs — a new `connect-src` directive is added holding
//!   `default-src`'s sources plus that URL, so that images, fonts, frames and
//!   the rest stay exactly as restricted as before, and the page can reach no
//!   other URL of its origin than before. Only when the origin is unknown or
//!   is an IPv6 literal (which a CSP host source cannot name) is `'self'`
//!   added instead.
//! - Policies are never removed. `Content-Security-Policy-Report-Only` is not
//!   touched (it blocks nothing). A policy that needs no change is returned
//!   byte for byte.
//! - Not handled: `require-trusted-types-for 'script'` needs nothing for a
//!   parser-inserted inline script; a hook that assigns to a Trusted Types
//!   sink (e.g. `innerHTML`, `eval`) would be reported by the page's policy.

use http::header::{HeaderMap, HeaderValue, CONTENT_SECURITY_POLICY};

/// What the injected code needs from a policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Patch<'a> {
    /// The `'sha256-…'` source expression (with quotes) of the injected inline
    /// script; `None` for worker scripts, whose own code is not subject to
    /// `script-src`.
    pub script_hash: Option<&'a str>,
    /// The trace endpoint the hook sends to, if any.
    pub endpoint: Option<Endpoint<'a>>,
}

/// The same-origin trace endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// Origin of the document, `scheme://host[:port]`, when known: lets a host
    /// source that already covers the endpoint count as allowing it.
    pub origin: Option<&'a str>,
    /// Path of the endpoint (`/__webinfer__/trace`).
    pub path: &'a str,
}

/// Patches every `Content-Security-Policy` header value in place (each
/// comma-separated policy of each value). Returns how many values changed.
pub fn patch_headers(headers: &mut HeaderMap, patch: &Patch<'_>) -> usize {
    let old: Vec<HeaderValue> = headers
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .cloned()
        .collect();
    if old.is_empty() {
        return 0;
    }
    let mut changed = 0;
    let new: Vec<HeaderValue> = old
        .into_iter()
        .map(|v| match v.to_str() {
            Ok(text) => {
                let patched = patch_policy_list(text, patch);
                if patched == text {
                    v
                } else {
                    changed += 1;
                    // Built from a valid header value plus ASCII tokens.
                    HeaderValue::from_str(&patched).unwrap_or(v)
                }
            }
            Err(_) => {
                tracing::warn!(
                    "Content-Security-Policy header is not visible ASCII; left unchanged"
                );
                v
            }
        })
        .collect();
    headers.remove(CONTENT_SECURITY_POLICY);
    for v in new {
        headers.append(CONTENT_SECURITY_POLICY, v);
    }
    changed
}

/// Patches a serialized policy list (a header value: policies separated by `,`).
pub fn patch_policy_list(list: &str, patch: &Patch<'_>) -> String {
    let parts: Vec<&str> = list.split(',').collect();
    let patched: Vec<String> = parts.iter().map(|p| patch_policy(p, patch)).collect();
    if parts.iter().zip(&patched).all(|(a, b)| *a == b) {
        return list.to_owned();
    }
    patched.join(",")
}

struct Directive {
    /// Original text, trimmed.
    text: String,
    /// Lower-cased name.
    name: String,
    /// Source expressions as written.
    values: Vec<String>,
    changed: bool,
}

impl Directive {
    fn render(&self) -> String {
        if !self.changed {
            return self.text.clone();
        }
        let mut s = self.name.clone();
        for v in &self.values {
            s.push(' ');
            s.push_str(v);
        }
        s
    }

    fn has(&self, keyword: &str) -> bool {
        self.values.iter().any(|v| v.eq_ignore_ascii_case(keyword))
    }

    fn remove_none(&mut self) {
        let before = self.values.len();
        self.values.retain(|v| !v.eq_ignore_ascii_case("'none'"));
        self.changed |= self.values.len() != before;
    }

    fn push(&mut self, value: &str) {
        self.values.push(value.to_owned());
        self.changed = true;
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

fn parse(policy: &str) -> Vec<Directive> {
    policy
        .split(';')
        .map(|d| d.trim_matches(is_ws))
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut tokens = d.split(is_ws).filter(|t| !t.is_empty());
            let name = tokens.next().unwrap_or_default().to_ascii_lowercase();
            Directive {
                text: d.to_owned(),
                name,
                values: tokens.map(str::to_owned).collect(),
                changed: false,
            }
        })
        .collect()
}

/// Patches one serialized policy (a header list member, or a `<meta>`
/// policy). Returns `policy` unchanged when nothing is needed.
pub fn patch_policy(policy: &str, patch: &Patch<'_>) -> String {
    let mut dirs = parse(policy);
    // Only the first directive of a name counts; later duplicates are ignored
    // by browsers, so they are ignored here too.
    let first = |dirs: &[Directive], name: &str| dirs.iter().position(|d| d.name == name);
    let mut added: Option<Directive> = None;

    // Connect first: a new `connect-src` copies `default-src` as the page
    // wrote it, without the script hash.
    if let Some(ep) = patch.endpoint {
        if let Some(i) = first(&dirs, "connect-src") {
            let d = &mut dirs[i];
            if !list_allows(&d.values, &ep) {
                d.remove_none();
                d.push(&endpoint_source(&ep));
            }
        } else if let Some(i) = first(&dirs, "default-src") {
            let d = &dirs[i];
            if !list_allows(&d.values, &ep) {
                let mut values: Vec<String> = d
                    .values
                    .iter()
                    .filter(|v| !v.eq_ignore_ascii_case("'none'"))
                    .cloned()
                    .collect();
                values.push(endpoint_source(&ep));
                added = Some(Directive {
                    text: String::new(),
                    name: "connect-src".into(),
                    values,
                    changed: true,
                });
            }
        }
    }

    if let Some(hash) = patch.script_hash {
        let gov = first(&dirs, "script-src-elem")
            .or_else(|| first(&dirs, "script-src"))
            .or_else(|| first(&dirs, "default-src"));
        if let Some(i) = gov {
            let d = &mut dirs[i];
            if !allows_all_inline(d) && !d.values.iter().any(|v| v == hash) {
                d.remove_none();
                d.push(hash);
            }
        }
    }

    if added.is_none() && dirs.iter().all(|d| !d.changed) {
        return policy.to_owned();
    }
    let mut out: Vec<String> = dirs.iter().map(Directive::render).collect();
    if let Some(a) = added {
        out.push(a.render());
    }
    // Keep the leading whitespace of a list member (`a, b` stays `a, b`).
    let lead: String = policy.chars().take_while(|&c| is_ws(c)).collect();
    format!("{lead}{}", out.join("; "))
}

/// Whether a source list lets every inline script run: `'unsafe-inline'` is
/// ignored as soon as a hash, a nonce or `'strict-dynamic'` is present.
fn allows_all_inline(d: &Directive) -> bool {
    d.has("'unsafe-inline'")
        && !d.has("'strict-dynamic'")
        && !d.values.iter().any(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("'nonce-")
                || v.starts_with("'sha256-")
                || v.starts_with("'sha384-")
                || v.starts_with("'sha512-")
        })
}

/// A parsed `scheme://host[:port]` origin.
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

fn parse_origin(origin: &str) -> Option<Origin> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.trim_end_matches('/');
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')? + 1;
        (&rest[..end], rest[end..].strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port(&scheme)?,
    };
    Some(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// The narrowest source expression that allows the endpoint: its absolute
/// URL (default port left out, `;`, `,` and whitespace of the path
/// percent-encoded), or `'self'` when the origin is unknown or an IPv6
/// literal.
fn endpoint_source(ep: &Endpoint<'_>) -> String {
    let Some(o) = ep.origin.and_then(parse_origin) else {
        return "'self'".to_owned();
    };
    if o.host.is_empty()
        || !o
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return "'self'".to_owned();
    }
    let mut s = format!("{}://{}", o.scheme, o.host);
    if default_port(&o.scheme) != Some(o.port) {
        s.push_str(&format!(":{}", o.port));
    }
    if !ep.path.starts_with('/') {
        s.push('/');
    }
    for c in ep.path.chars() {
        match c {
            ';' => s.push_str("%3B"),
            ',' => s.push_str("%2C"),
            c if is_ws(c) || !c.is_ascii_graphic() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    s.push_str(&format!("%{b:02X}"));
                }
            }
            c => s.push(c),
        }
    }
    s
}

/// Whether a source list allows a same-origin request to the endpoint.
fn list_allows(values: &[String], ep: &Endpoint<'_>) -> bool {
    let origin = ep.origin.and_then(parse_origin);
    values.iter().any(|v| {
        let v = v.to_ascii_lowercase();
        if v == "'self'" || v == "*" {
            return true;
        }
        match &origin {
            Some(o) => source_matches(&v, o, ep.path),
            None => false,
        }
    })
}

/// CSP Level 3 source matching of a scheme or host source (lower-cased)
/// against the endpoint URL `origin` + `path`, with the http→https upgrade.
fn source_matches(source: &str, o: &Origin, path: &str) -> bool {
    let scheme_ok = |s: &str| {
        s == o.scheme || (s == "http" && o.scheme == "https") || (s == "ws" && o.scheme == "wss")
    };
    // Scheme source: `https:`.
    if let Some(s) = source.strip_suffix(':') {
        if !s.contains('/')
            && !s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return scheme_ok(s);
        }
    }
    if source.starts_with('\'') {
        return false;
    }
    let (scheme, rest) = match source.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, source),
    };
    if let Some(s) = scheme {
        if !scheme_ok(s) {
            return false;
        }
    } else if !(o.scheme == "http" || o.scheme == "https") {
        return false;
    }
    let (hostport, src_path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.ends_with('[') => (h, Some(p)),
        _ => (hostport, None),
    };
    let host_ok = if host == "*" {
        true
    } else if let Some(suffix) = host.strip_prefix("*.") {
        o.host.ends_with(&format!(".{suffix}"))
    } else {
        host == o.host
    };
    if !host_ok {
        return false;
    }
    let port_ok = match port {
        Some("*") => true,
        Some(p) => match p.parse::<u16>() {
            Ok(p) => p == o.port || (p == 80 && o.port == 443 && o.scheme == "https"),
            Err(_) => false,
        },
        None => {
            let src_scheme = scheme.unwrap_or(&o.scheme);
            default_port(src_scheme) == Some(o.port)
                || (src_scheme == "http" && o.scheme == "https" && o.port == 443)
        }
    };
    if !port_ok {
        return false;
    }
    match src_path {
        None | Some("/") => true,
        Some(p) if p.ends_with('/') => path.starts_with(p),
        Some(p) => p == path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "'sha256-AbC+/12='";
    const EP: Endpoint<'static> = Endpoint {
        origin: Some("https://app.example.com"),
        path: "/__webinfer__/trace",
    };

    fn doc(p: &str) -> String {
        patch_policy(
            p,
            &Patch {
                script_hash: Some(H),
                endpoint: Some(EP),
            },
        )
    }

    #[test]
    fn adds_hash_to_script_src() {
        assert_eq!(
            doc("script-src 'self' https://cdn.x; connect-src 'self'"),
            format!("script-src 'self' https://cdn.x {H}; connect-src 'self'")
        );
    }

    #[test]
    fn script_src_elem_governs_over_script_src() {
        assert_eq!(
            doc("script-src 'self'; script-src-elem 'self'; connect-src *"),
            format!("script-src 'self'; script-src-elem 'self' {H}; connect-src *")
        );
    }

    #[test]
    fn default_src_governs_when_no_script_directive_and_gets_its_own_connect_src() {
        assert_eq!(
            doc("default-src https://cdn.x; img-src data:"),
            format!(
                "default-src https://cdn.x {H}; img-src data:; connect-src https://cdn.x https://app.example.com/__webinfer__/trace"
            )
        );
    }

    #[test]
    fn default_src_self_needs_no_connect_directive() {
        assert_eq!(doc("default-src 'self'"), format!("default-src 'self' {H}"));
    }

    #[test]
    fn policy_without_script_or_connect_limits_is_unchanged() {
        let p = "img-src 'self';  frame-ancestors 'none'";
        assert_eq!(doc(p), p);
        let p = "upgrade-insecure-requests";
        assert_eq!(doc(p), p);
    }

    #[test]
    fn unsafe_inline_alone_is_left_alone() {
        let p = "script-src 'self' 'unsafe-inline'; connect-src 'self'";
        assert_eq!(
            doc(p),
            p,
            "adding a hash would disable 'unsafe-inline' for the page's own scripts"
        );
        let p = "default-src 'self' 'UNSAFE-INLINE'";
        assert_eq!(doc(p), p);
    }

    #[test]
    fn unsafe_inline_with_nonce_or_hash_or_strict_dynamic_gets_the_hash() {
        assert_eq!(
            doc("script-src 'unsafe-inline' 'nonce-r4nd0m'; connect-src 'self'"),
            format!("script-src 'unsafe-inline' 'nonce-r4nd0m' {H}; connect-src 'self'")
        );
        assert_eq!(
            doc("script-src 'unsafe-inline' 'sha384-xyz'; connect-src 'self'"),
            format!("script-src 'unsafe-inline' 'sha384-xyz' {H}; connect-src 'self'")
        );
        assert_eq!(
            doc("script-src 'strict-dynamic' 'unsafe-inline' https:; connect-src 'self'"),
            format!("script-src 'strict-dynamic' 'unsafe-inline' https: {H}; connect-src 'self'")
        );
    }

    #[test]
    fn none_is_replaced_by_the_hash_and_by_the_endpoint() {
        assert_eq!(
            doc("script-src 'none'; connect-src 'none'"),
            format!("script-src {H}; connect-src https://app.example.com/__webinfer__/trace")
        );
        assert_eq!(
            doc("default-src 'none'"),
            format!("default-src {H}; connect-src https://app.example.com/__webinfer__/trace"),
            "connect gets its own directive so other fetch kinds stay 'none'"
        );
    }

    #[test]
    fn connect_src_without_self_gets_the_endpoint() {
        assert_eq!(
            doc("script-src 'unsafe-inline'; connect-src https://api.other.com"),
            "script-src 'unsafe-inline'; connect-src https://api.other.com https://app.example.com/__webinfer__/trace"
        );
    }

    #[test]
    fn connect_already_allowed_by_host_or_scheme_source() {
        for c in [
            "connect-src https://app.example.com",
            "connect-src app.example.com",
            "connect-src https://*.example.com",
            "connect-src https:",
            "connect-src http:",
            "connect-src http://app.example.com",
            "connect-src https://app.example.com:443",
            "connect-src https://app.example.com/__webinfer__/",
            "connect-src https://app.example.com/__webinfer__/trace",
            "connect-src *",
            "connect-src 'SELF'",
        ] {
            let p = format!("script-src 'unsafe-inline'; {c}");
            assert_eq!(doc(&p), p, "{c} already allows the endpoint");
        }
    }

    #[test]
    fn connect_not_allowed_by_near_misses() {
        for c in [
            "connect-src https://example.com",
            "connect-src https://app.example.com:8443",
            "connect-src https://app.example.com/api/",
            "connect-src https://app.example.com/__webinfer__",
            "connect-src wss:",
            "connect-src https://*.app.example.com",
        ] {
            let p = format!("script-src 'unsafe-inline'; {c}");
            assert_eq!(
                doc(&p),
                format!("{p} https://app.example.com/__webinfer__/trace"),
                "{c} does not allow the endpoint"
            );
        }
    }

    #[test]
    fn without_origin_only_self_and_star_count() {
        let p = Patch {
            script_hash: None,
            endpoint: Some(Endpoint {
                origin: None,
                path: "/t",
            }),
        };
        assert_eq!(
            patch_policy("connect-src https://a.com", &p),
            "connect-src https://a.com 'self'"
        );
        assert_eq!(patch_policy("connect-src *", &p), "connect-src *");
    }

    #[test]
    fn origin_with_port() {
        let p = Patch {
            script_hash: None,
            endpoint: Some(Endpoint {
                origin: Some("https://127.0.0.1:8443"),
                path: "/t",
            }),
        };
        assert_eq!(
            patch_policy("connect-src https://127.0.0.1:8443", &p),
            "connect-src https://127.0.0.1:8443"
        );
        assert_eq!(
            patch_policy("connect-src https://127.0.0.1", &p),
            "connect-src https://127.0.0.1 https://127.0.0.1:8443/t"
        );
    }

    #[test]
    fn worker_patch_touches_only_connect() {
        let p = Patch {
            script_hash: None,
            endpoint: Some(EP),
        };
        assert_eq!(
            patch_policy("script-src 'none'; connect-src 'none'", &p),
            "script-src 'none'; connect-src https://app.example.com/__webinfer__/trace"
        );
    }

    #[test]
    fn duplicate_directives_only_first_counts() {
        assert_eq!(
            doc("script-src 'self'; script-src 'unsafe-inline'; connect-src 'self'"),
            format!("script-src 'self' {H}; script-src 'unsafe-inline'; connect-src 'self'")
        );
    }

    #[test]
    fn names_are_case_insensitive_and_whitespace_tolerated() {
        assert_eq!(
            doc("  SCRIPT-SRC\t'self' ;;CONNECT-SRC 'self'; "),
            format!("  script-src 'self' {H}; CONNECT-SRC 'self'")
        );
    }

    #[test]
    fn hash_already_present_is_not_duplicated() {
        let p = format!("script-src {H}; connect-src 'self'");
        assert_eq!(doc(&p), p);
    }

    #[test]
    fn multiple_policies_in_one_header_each_patched() {
        let list = "script-src 'self', connect-src 'none', img-src *";
        assert_eq!(
            patch_policy_list(
                list,
                &Patch {
                    script_hash: Some(H),
                    endpoint: Some(EP)
                }
            ),
            format!("script-src 'self' {H}, connect-src https://app.example.com/__webinfer__/trace, img-src *")
        );
    }

    #[test]
    fn headers_every_value_patched_report_only_untouched() {
        let mut h = HeaderMap::new();
        for csp in ["script-src 'self'", "default-src 'none'", "img-src *"] {
            h.append(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
        }
        h.append(
            "content-security-policy-report-only",
            HeaderValue::from_static("script-src 'none'"),
        );
        let n = patch_headers(
            &mut h,
            &Patch {
                script_hash: Some(H),
                endpoint: Some(EP),
            },
        );
        assert_eq!(n, 2);
        let vals: Vec<&str> = h
            .get_all(CONTENT_SECURITY_POLICY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            vals,
            vec![
                format!("script-src 'self' {H}").as_str(),
                &format!("default-src {H}; connect-src https://app.example.com/__webinfer__/trace"),
                "img-src *"
            ]
        );
        assert_eq!(
            h.get("content-security-policy-report-only").unwrap(),
            "script-src 'none'"
        );
    }

    #[test]
    fn sandbox_and_other_directives_preserved_verbatim() {
        assert_eq!(
            doc("sandbox allow-scripts; script-src  'self'   'wasm-unsafe-eval'; report-uri /csp"),
            format!(
                "sandbox allow-scripts; script-src 'self' 'wasm-unsafe-eval' {H}; report-uri /csp"
            )
        );
    }
}
