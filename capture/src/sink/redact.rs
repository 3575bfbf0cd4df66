//! Scrubbing secrets out of the URLs the sink stores (issue 18, item 10).
//!
//! Every record the sink writes, the page's and its own, goes through
//! [`scrub_record`] first, so every hook version is covered. Rule, applied
//! to every string value (at any depth) that is an absolute `http`, `https`,
//! `ws`, `wss` or `blob:` URL, and to any string in a field named `url`,
//! `href` or ending in `_url` (relative URLs too):
//! - the fragment (`#…`, where OAuth's implicit flow puts tokens) is dropped;
//! - user info (`https://user:pass@host/`) is dropped;
//! - unless [`crate::sink::SinkConfig::keep_query_secrets`] is set, the value
//!   of each query parameter that looks like a secret ([`is_secret`]) is
//!   replaced by [`REDACTED`]; the parameter name stays.

use std::borrow::Cow;

use serde_json::Value;

/// What a secret-looking query value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Parameter names (lower-cased) whose value is always a secret.
const SECRET_NAMES: &[&str] = &[
    "code",
    "key",
    "sig",
    "auth",
    "jwt",
    "session",
    "sessionid",
    "session_id",
    "ticket",
    "pass",
    "pwd",
    "otp",
    "sas",
];
/// Parts of parameter names (lower-cased) that mark a secret.
const SECRET_PARTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "signature",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "accesskey",
    "private",
];

/// Whether a query parameter `name=value` looks like a secret: the name is
/// one of `code key sig auth jwt session sessionid session_id ticket pass pwd
/// otp sas` or contains `token secret passw signature credential apikey
/// api_key api-key access_key accesskey private` (case-insensitive); or the
/// value is a JWT (`eyJ…` with two dots) or 32 or more characters of
/// `[A-Za-z0-9._~+/=%-]` holding both letters and digits (a key, a hash, a
/// signature). Empty values are not secrets.
pub fn is_secret(name: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let n = name.to_ascii_lowercase();
    let n = n.trim_end_matches("%5b%5d").trim_end_matches("[]");
    if SECRET_NAMES.contains(&n) || SECRET_PARTS.iter().any(|p| n.contains(p)) {
        return true;
    }
    if value.starts_with("eyJ") && value.matches('.').count() == 2 {
        return true;
    }
    value.len() >= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~+/=%-".contains(&b))
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Whether `s` starts with a scheme whose URLs are scrubbed.
pub(crate) fn is_absolute_url(s: &str) -> bool {
    let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    ["http://", "https://", "ws://", "wss://", "blob:"]
        .iter()
        .any(|p| l.starts_with(p))
}

/// The URL `s` without fragment and user info and, when `redact_query`,
/// with secret-looking query values replaced (see the module docs).
/// Relative URLs (`/a?token=x#y`) are scrubbed the same way.
pub fn scrub_url(s: &str, redact_query: bool) -> Cow<'_, str> {
    if s.len() >= 5 && s[..5].eq_ignore_ascii_case("blob:") {
        return match scrub_url(&s[5..], redact_query) {
            Cow::Borrowed(_) => Cow::Borrowed(s),
            Cow::Owned(inner) => Cow::Owned(format!("{}{inner}", &s[..5])),
        };
    }
    let no_frag = s.split('#').next().unwrap_or_default();
    let mut changed = no_frag.len() != s.len();
    // User info: between "://" and the first '@' of the authority.
    let mut base = Cow::Borrowed(no_frag);
    if let Some(i) = no_frag.find("://") {
        let auth_start = i + 3;
        let auth_end = no_frag[auth_start..]
            .find(['/', '?'])
            .map_or(no_frag.len(), |e| auth_start + e);
        if let Some(at) = no_frag[auth_start..auth_end].rfind('@') {
            base = Cow::Owned(format!(
                "{}{}",
                &no_frag[..auth_start],
                &no_frag[auth_start + at + 1..]
            ));
            changed = true;
        }
    }
    if redact_query {
        if let Some(q) = base.find('?') {
            let (head, query) = (&base[..q], &base[q + 1..]);
            let mut any = false;
            let parts: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if is_secret(k, v) => {
                        any = true;
                        format!("{k}={REDACTED}")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            if any {
                base = Cow::Owned(format!("{head}?{}", parts.join("&")));
                changed = true;
            }
        }
    }
    if !changed {
        return Cow::Borrowed(s);
    }
    Cow::Owned(base.into_owned())
}

fn url_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "url" || k == "href" || k.ends_with("_url")
}

/// Scrubs every URL in `v` (see the module docs); returns whether anything changed.
pub fn scrub_value(v: &mut Value, redact_query: bool) -> bool {
    scrub_in(v, false, redact_query)
}

fn scrub_in(v: &mut Value, urlish: bool, redact_query: bool) -> bool {
    match v {
        Value::String(s) if urlish || is_absolute_url(s) => {
            if let Cow::Owned(n) = scrub_url(s, redact_query) {
                *s = n;
                true
            } else {
                false
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |c, x| scrub_in(x, urlish, redact_query) | c),
        Value::Object(m) => m
            .iter_mut()
            .fold(false, |c, (k, x)| scrub_in(x, url_key(k), redact_query) | c),
        _ => false,
    }
}

/// [`scrub_value`] on a record (its common fields are never URLs, so it
/// stays valid).
pub fn scrub_record(rec: webinfer_format::Record, redact_query: bool) -> webinfer_format::Record {
    let mut v = rec.into_value();
    scrub_value(&mut v, redact_query);
    webinfer_format::Record::parse(v).expect("scrubbing touches no common field")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_and_user_info_go() {
        assert_eq!(
            scrub_url("https://app.test/cb#access_token=abc&x=1", false),
            "https://app.test/cb"
        );
        assert_eq!(
            scrub_url("https://u:p@app.test:8443/a?b=1#c", false),
            "https://app.test:8443/a?b=1"
        );
        assert_eq!(
            scrub_url("blob:https://app.test/5f2e#x", true),
            "blob:https://app.test/5f2e"
        );
        assert!(matches!(
            scrub_url("https://app.test/m.onnx?v=3", true),
            Cow::Borrowed(_)
        ));
        // An '@' in the path is not user info.
        assert_eq!(
            scrub_url("https://cdn.test/npm/@scope/pkg@1.0/x.js", true),
            "https://cdn.test/npm/@scope/pkg@1.0/x.js"
        );
    }

    #[test]
    fn secret_looking_query_values_are_redacted() {
        assert_eq!(
            scrub_url(
                "https://app.test/cb?code=4/0Ab&state=xyz&Access_Token=t&X-Amz-Signature=abc&v=2&page=1",
                true
            ),
            "https://app.test/cb?code=REDACTED&state=xyz&Access_Token=REDACTED&X-Amz-Signature=REDACTED&v=2&page=1"
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
        assert_eq!(scrub_url(&format!("/m?x={jwt}"), true), "/m?x=REDACTED");
        let long = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8";
        assert_eq!(
            scrub_url(&format!("/m?h={long}&n=12"), true),
            "/m?h=REDACTED&n=12"
        );
        assert_eq!(
            scrub_url(&format!("/m?h={long}"), false),
            format!("/m?h={long}")
        );
        assert!(!is_secret("token", ""));
        assert!(!is_secret("author", "someone"));
        assert!(!is_secret("v", "1.2.3"));
    }

    #[test]
    fn every_url_in_a_record_is_scrubbed() {
        let mut v = serde_json::json!({
            "url": "/page?token=t#frag",
            "artifacts": [{"url": "https://a.test/m.bin#x"}, "https://b.test/?api_key=k"],
            "nested": {"model_url": "m.onnx?sig=s", "note": "not a url #1 ?token=x"},
            "n": 3
        });
        assert!(scrub_value(&mut v, true));
        assert_eq!(
            v,
            serde_json::json!({
                "url": "/page?token=REDACTED",
                "artifacts": [{"url": "https://a.test/m.bin"}, "https://b.test/?api_key=REDACTED"],
                "nested": {"model_url": "m.onnx?sig=REDACTED", "note": "not a url #1 ?token=x"},
                "n": 3
            })
        );
    }
}
