//! Hop-by-hop header handling (RFC 9110 §7.6.1), message framing on
//! forwarding (RFC 9112 §6.3) and `Alt-Svc` removal.
//!
//! Two deliberate choices:
//! - a message with `Transfer-Encoding` loses its `Content-Length` before it
//!   is forwarded (RFC 9112 §6.3: the transfer coding wins, and a proxy must
//!   remove the length), so the next hop never sees a length that disagrees
//!   with the body the proxy actually sends;
//! - a `Connection` header may name extension hop-by-hop headers, which are
//!   removed, but never the end-to-end headers in [`END_TO_END`] (security
//!   policies such as `Content-Security-Policy`, and content metadata such
//!   as `Content-Type`/`Content-Encoding`): those are kept, so a `Connection`
//!   header cannot turn off a page's security policy or corrupt its body.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that are always connection-specific (as parsed names: removing
/// by `&str` would parse the name again on every request).
static HOP_BY_HOP: std::sync::LazyLock<[HeaderName; 9]> = std::sync::LazyLock::new(|| {
    [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ]
});

/// End-to-end headers that a `Connection` header can never remove: the
/// browser security policies and the content metadata a body needs.
pub const END_TO_END: &[&str] = &[
    "content-security-policy",
    "content-security-policy-report-only",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "cross-origin-opener-policy",
    "cross-origin-opener-policy-report-only",
    "cross-origin-embedder-policy",
    "cross-origin-embedder-policy-report-only",
    "cross-origin-resource-policy",
    "referrer-policy",
    "permissions-policy",
    "origin-agent-cluster",
    "clear-site-data",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "set-cookie",
    "cache-control",
    "vary",
    "location",
    "content-type",
    "content-encoding",
    "content-range",
    "content-disposition",
    "content-language",
];

/// Whether the headers ask for a WebSocket upgrade (`Connection: upgrade`
/// and `Upgrade: websocket`).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers.get_all(header::UPGRADE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.eq_ignore_ascii_case("websocket"))
    });
    upgrade && connection_tokens(headers).iter().any(|t| t == "upgrade")
}

/// The lower-cased tokens of all `Connection` headers.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Removes hop-by-hop headers: the fixed list and every header named in
/// `Connection` except the [`END_TO_END`] ones. A message with
/// `Transfer-Encoding` also loses `Content-Length` (RFC 9112 §6.3). With
/// `keep_websocket`, `Upgrade` and `Connection: upgrade` survive so a
/// WebSocket handshake can pass through.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_websocket: bool) {
    // Most messages carry none of these: one pass over the names is cheaper
    // than nine removals (each a hash and a probe), twice per request.
    if !headers.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.remove(header::CONTENT_LENGTH).is_some()
    {
        tracing::debug!("dropped Content-Length next to Transfer-Encoding (RFC 9112 6.3)");
    }
    for token in connection_tokens(headers) {
        if keep_websocket && token == "upgrade" {
            continue;
        }
        if END_TO_END.contains(&token.as_str()) {
            tracing::warn!(
                header = %token,
                "kept an end-to-end header that the Connection header named"
            );
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
            headers.remove(name);
        }
    }
    let upgrade = headers.get(header::UPGRADE).cloned();
    for name in HOP_BY_HOP.iter() {
        headers.remove(name);
    }
    if keep_websocket {
        if let Some(up) = upgrade {
            headers.insert(header::UPGRADE, up);
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
    }
}

/// Prepares upstream response headers for the client: hop-by-hop headers go
/// and so does `Alt-Svc`, so browsers never leave the proxy for HTTP/3.
pub fn strip_response(headers: &mut HeaderMap, keep_websocket: bool) {
    strip_hop_by_hop(headers, keep_websocket);
    headers.remove(header::ALT_SVC);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn removes_fixed_and_connection_listed_headers() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("content-type", "text/html"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut h, false);
        let left: Vec<_> = h.keys().map(|k| k.as_str().to_string()).collect();
        assert_eq!(left, vec!["content-type", "x-kept"]);
    }

    #[test]
    fn connection_cannot_remove_end_to_end_headers() {
        let mut h = map(&[
            ("connection", "Content-Security-Policy, x-hop, Content-Type"),
            ("content-security-policy", "default-src 'none'"),
            ("content-type", "text/html"),
            ("x-hop", "1"),
        ]);
        strip_hop_by_hop(&mut h, false);
        let mut left: Vec<_> = h.keys().map(|k| k.as_str().to_string()).collect();
        left.sort();
        assert_eq!(left, vec!["content-security-policy", "content-type"]);
    }

    #[test]
    fn transfer_encoding_drops_content_length() {
        let mut h = map(&[("content-length", "5"), ("transfer-encoding", "chunked")]);
        strip_hop_by_hop(&mut h, false);
        assert!(h.is_empty(), "{h:?}");
        let mut h = map(&[("content-length", "5")]);
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h["content-length"], "5");
    }

    #[test]
    fn websocket_upgrade_survives_when_asked() {
        let mut h = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "abc"),
        ]);
        assert!(is_websocket_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["sec-websocket-key"], "abc");
    }

    #[test]
    fn alt_svc_is_removed_from_responses() {
        let mut h = map(&[("alt-svc", "h3=\":443\""), ("content-length", "3")]);
        strip_response(&mut h, false);
        assert!(h.get("alt-svc").is_none());
        assert_eq!(h["content-length"], "3");
    }

    #[test]
    fn plain_upgrade_without_connection_token_is_not_websocket() {
        let h = map(&[("upgrade", "websocket")]);
        assert!(!is_websocket_upgrade(&h));
    }
}
