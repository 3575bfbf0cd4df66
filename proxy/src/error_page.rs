//! Explanatory HTML pages the proxy answers with itself (403 refused host,
//! 502 upstream failure, 504 upstream timeout, 408 stalled request body,
//! 400 bad request).

use http::{header, Response, StatusCode};

use crate::types::{full, Body};

/// The response header carrying the one-line reason of a proxy-made error.
pub const REASON_HEADER: &str = "x-webinfer-error";

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML error page naming `host` and `reason`.
pub fn page(status: StatusCode, title: &str, host: &str, reason: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\n\
         <body style=\"font-family:sans-serif;max-width:50em;margin:2em auto\">\n\
         <h1>{code} {title}</h1>\n<p>Host: <code>{host}</code></p>\n<p>Reason: {reason}</p>\n\
         <p><small>Answered by the webinfer proxy. Upstream TLS is always verified; add trust \
         roots with <code>--upstream-ca PEM</code>, choose hosts with <code>--allow-host</code> \
         and <code>--deny-host</code>.</small></p>\n</body></html>\n",
        code = status.as_u16(),
        title = escape(title),
        host = escape(host),
        reason = escape(reason),
    );
    let one_line: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, html.len());
    if let Ok(v) = http::HeaderValue::from_str(&one_line) {
        builder = builder.header(REASON_HEADER, v);
    }
    builder.body(full(html)).expect("static response parts")
}

/// 403 for a host refused by the host policy.
pub fn refused(host: &str, reason: &str) -> Response<Body> {
    page(
        StatusCode::FORBIDDEN,
        "Host refused by webinfer",
        host,
        &format!("{reason}; the proxy did not contact it"),
    )
}

/// 502 for an upstream failure (DNS, connect, TLS verification, protocol).
pub fn bad_gateway(host: &str, reason: &str) -> Response<Body> {
    page(StatusCode::BAD_GATEWAY, "Upstream failure", host, reason)
}

/// 504 for an upstream that did not connect or answer in time.
pub fn gateway_timeout(host: &str, reason: &str) -> Response<Body> {
    page(
        StatusCode::GATEWAY_TIMEOUT,
        "Upstream timed out",
        host,
        reason,
    )
}

/// 408 for a client whose request body stalled.
pub fn request_timeout(host: &str, reason: &str) -> Response<Body> {
    page(
        StatusCode::REQUEST_TIMEOUT,
        "Request body timed out",
        host,
        reason,
    )
}

/// 400 for a request the proxy cannot understand.
pub fn bad_request(host: &str, reason: &str) -> Response<Body> {
    page(StatusCode::BAD_REQUEST, "Bad request", host, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_names_host_and_reason() {
        let r = bad_gateway("a<b>.test", "certificate is not trusted: UnknownIssuer");
        assert_eq!(r.status(), 502);
        assert_eq!(
            r.headers()[REASON_HEADER],
            "certificate is not trusted: UnknownIssuer"
        );
    }
}
