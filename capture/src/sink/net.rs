//! The `net` record of one forwarded exchange, serialised straight to its
//! JSON line.
//!
//! The sink writes one `net` record per exchange, so this is on the proxy's
//! hot path. Building it as a generic [`webinfer_format::Record`] (a map of
//! owned keys and values), scrubbing that map and serialising it cost about
//! 26.5 k instructions per exchange (docs/proxy.md, "With the hooks"). Here
//! the fields are borrowed from the exchange and serialised by a derived
//! `Serialize` in one pass; the line is byte for byte the one the generic path
//! wrote (same keys in the same, sorted, order; same number formatting; same
//! scrubbing), which a test checks.

use std::borrow::Cow;

use serde::Serialize;

use super::redact;

/// The fields of a `net` record that come from the exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetFields<'a> {
    /// The exchange's absolute URL (scrubbed on output).
    pub url: &'a str,
    /// Request method.
    pub method: &'a str,
    /// Response status.
    pub status: u16,
    /// Response body bytes sent to the client.
    pub bytes: u64,
    /// When the proxy received the request head, Unix milliseconds.
    pub start_unix_ms: f64,
    /// Request head to the end of the response body, milliseconds.
    pub dur: f64,
    /// The response's `content-type`, when it had one.
    pub content_type: Option<&'a str>,
    /// SHA-256 of a model artifact's body.
    pub sha256: Option<&'a str>,
    /// Why the exchange failed, when it did.
    pub error: Option<&'a str>,
}

/// The serialised record: fields in the sorted order a `serde_json::Map`
/// gives them, so the line is the one the generic record wrote.
#[derive(Serialize)]
struct Line<'a> {
    by: &'static str,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<Cow<'a, str>>,
    dur: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
    kind: &'static str,
    method: Cow<'a, str>,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<Cow<'a, str>>,
    sid: &'a str,
    start_unix_ms: f64,
    status: u16,
    ts: f64,
    url: Cow<'a, str>,
    v: u64,
}

/// A string field as [`redact::scrub_value`] leaves it: `url` always
/// scrubbed, any other string only when it is an absolute URL.
fn scrubbed(s: &str, urlish: bool, redact_query: bool) -> Cow<'_, str> {
    if urlish || redact::is_absolute_url(s) {
        redact::scrub_url(s, redact_query)
    } else {
        Cow::Borrowed(s)
    }
}

/// The `net` record of `f` for session `sid` with the proxy's `seq` and `ts`
/// (ms since the session's time origin), as one JSON line ending in `\n`.
/// Non-finite numbers are written as `null`, as `serde_json` writes them.
pub(crate) fn line(f: &NetFields<'_>, sid: &str, seq: u64, ts: f64, redact_query: bool) -> String {
    let rec = Line {
        by: "proxy",
        bytes: f.bytes,
        content_type: f.content_type.map(|s| scrubbed(s, false, redact_query)),
        dur: f.dur,
        error: f.error.map(|s| scrubbed(s, false, redact_query)),
        kind: "net",
        method: scrubbed(f.method, false, redact_query),
        seq,
        sha256: f.sha256.map(|s| scrubbed(s, false, redact_query)),
        sid,
        start_unix_ms: f.start_unix_ms,
        status: f.status,
        ts,
        url: scrubbed(f.url, true, redact_query),
        v: webinfer_format::VERSION,
    };
    let mut out = Vec::with_capacity(256 + f.url.len());
    // Strings and numbers always serialise.
    let _ = serde_json::to_writer(&mut out, &rec);
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use webinfer_format::Record;

    /// The line the sink wrote before this module: the generic record,
    /// scrubbed as a whole, then serialised.
    fn generic(f: &NetFields<'_>, sid: &str, seq: u64, ts: f64, redact_query: bool) -> String {
        let mut rec = Record::new(sid, "net", 0.0)
            .set("url", f.url)
            .set("method", f.method)
            .set("status", f.status)
            .set("bytes", f.bytes)
            .set("start_unix_ms", f.start_unix_ms)
            .set("dur", f.dur);
        if let Some(ct) = f.content_type {
            rec = rec.set("content_type", ct);
        }
        if let Some(h) = f.sha256 {
            rec = rec.set("sha256", h);
        }
        if let Some(e) = f.error {
            rec = rec.set("error", e);
        }
        let mut rec = rec.set("by", "proxy").set("ts", ts);
        rec.set_seq(seq);
        let rec = redact::scrub_record(rec, redact_query);
        let mut text = rec.to_line();
        text.push('\n');
        text
    }

    fn plain() -> NetFields<'static> {
        NetFields {
            url: "https://app.test/models/m.onnx",
            method: "GET",
            status: 200,
            bytes: 1_234_567,
            start_unix_ms: 1_764_633_600_123.25,
            dur: 12.5,
            content_type: None,
            sha256: None,
            error: None,
        }
    }

    #[test]
    fn net_lines_equal_the_generic_records_lines() {
        let cases = [
            plain(),
            NetFields {
                content_type: Some("application/octet-stream"),
                sha256: Some("ab12"),
                ..plain()
            },
            NetFields {
                url: "https://u:p@app.test/a?token=abcdefghijklmnopqrstuvwxyz012345&x=1#frag",
                error: Some("https://up.test/?api_key=abcdefghijklmnop0123456789 refused"),
                status: 502,
                bytes: 0,
                ..plain()
            },
            NetFields {
                url: "https://app.test/\"quote\"\\back\u{1}ctl/é",
                method: "PROPFIND",
                content_type: Some("text/html; charset=\"utf-8\""),
                error: Some("upstream: connection reset\n"),
                ..plain()
            },
            NetFields {
                dur: f64::NAN,
                start_unix_ms: f64::INFINITY,
                ..plain()
            },
            NetFields {
                dur: 0.0,
                start_unix_ms: -0.0,
                bytes: u64::MAX,
                ..plain()
            },
        ];
        for f in &cases {
            for redact_query in [true, false] {
                for (sid, seq, ts) in [("s-1", 0, 0.0), ("_proxy-1-ab", 41, 1e-7), ("w", 7, 1e21)] {
                    assert_eq!(
                        line(f, sid, seq, ts, redact_query),
                        generic(f, sid, seq, ts, redact_query),
                        "{f:?} redact_query={redact_query}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_net_line_is_a_valid_record() {
        let text = line(&plain(), "s-1", 3, 4.5, true);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        let rec = Record::parse(v).unwrap();
        assert_eq!((rec.sid(), rec.kind(), rec.seq()), ("s-1", "net", 3));
        assert_eq!(rec.get("by").unwrap(), "proxy");
        assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
    }
}
