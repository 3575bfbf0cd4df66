//! The CSP patch widens `connect-src` by exactly the trace endpoint URL (the
//! origin the hook runs in plus `/__webinfer__/trace`), never by `'self'`,
//! which would let the page reach every URL of its origin that the page's
//! own policy forbids. Only when the origin is unknown or cannot be written
//! as a CSP host source (an IPv6 literal) is `'self'` the fallback.

use http::header::{HeaderMap, HeaderValue, CONTENT_SECURITY_POLICY};
use webinfer_injector::csp::{patch_headers, patch_policy, Endpoint, Patch};

const PATH: &str = "/__webinfer__/trace";

fn connect_only(origin: Option<&str>, policy: &str) -> String {
    patch_policy(
        policy,
        &Patch {
            script_hash: None,
            endpoint: Some(Endpoint { origin, path: PATH }),
        },
    )
}

#[test]
fn connect_src_gets_the_exact_endpoint_not_self() {
    let o = Some("https://app.test");
    assert_eq!(
        connect_only(o, "connect-src 'none'"),
        "connect-src https://app.test/__webinfer__/trace"
    );
    assert_eq!(
        connect_only(o, "connect-src https://api.other.test"),
        "connect-src https://api.other.test https://app.test/__webinfer__/trace"
    );
    // Only default-src governs: the new connect-src copies it plus the endpoint.
    assert_eq!(
        connect_only(o, "default-src https://cdn.test; img-src data:"),
        "default-src https://cdn.test; img-src data:; connect-src https://cdn.test https://app.test/__webinfer__/trace"
    );
    assert_eq!(
        connect_only(o, "default-src 'none'"),
        "default-src 'none'; connect-src https://app.test/__webinfer__/trace"
    );
    // A non-default port is part of the source.
    assert_eq!(
        connect_only(Some("http://127.0.0.1:18996"), "connect-src 'none'"),
        "connect-src http://127.0.0.1:18996/__webinfer__/trace"
    );
}

#[test]
fn the_added_endpoint_is_recognised_again_so_patching_is_idempotent() {
    let o = Some("http://app.test:8080");
    let once = connect_only(o, "connect-src 'none'; script-src 'self'");
    assert_eq!(
        once,
        "connect-src http://app.test:8080/__webinfer__/trace; script-src 'self'"
    );
    assert_eq!(connect_only(o, &once), once);
    // A policy that already allows the endpoint is left alone.
    for p in [
        "connect-src 'self'",
        "connect-src *",
        "connect-src http:",
        "connect-src http://app.test:8080",
        "connect-src http://app.test:8080/__webinfer__/",
    ] {
        assert_eq!(connect_only(o, p), p, "{p}");
    }
}

#[test]
fn self_is_only_the_fallback_for_an_unknown_or_ipv6_origin() {
    assert_eq!(
        connect_only(None, "connect-src 'none'"),
        "connect-src 'self'"
    );
    assert_eq!(
        connect_only(Some("http://[::1]:8080"), "connect-src 'none'"),
        "connect-src 'self'"
    );
}

#[test]
fn headers_are_patched_with_the_endpoint() {
    let mut h = HeaderMap::new();
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; connect-src https://api.test"),
    );
    patch_headers(
        &mut h,
        &Patch {
            script_hash: None,
            endpoint: Some(Endpoint {
                origin: Some("https://app.test"),
                path: PATH,
            }),
        },
    );
    assert_eq!(
        h.get(CONTENT_SECURITY_POLICY).unwrap(),
        "default-src 'self'; connect-src https://api.test https://app.test/__webinfer__/trace"
    );
}
