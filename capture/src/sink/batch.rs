//! Parsing one POSTed batch of trace records without losing the valid ones.
//!
//! Accepted bodies (any `Content-Type`; `navigator.sendBeacon` sends
//! `text/plain`):
//! - a JSON array of record objects (what the hook sends);
//! - JSON Lines, one record object per line (blank lines skipped).
//!
//! The array is split into its top-level elements by a small scanner before
//! each element is parsed on its own, so one bad element, or a body torn in
//! the middle, costs only the elements it touches: every complete valid
//! element is kept.

use serde_json::Value;
use webinfer_format::Record;

/// At most this many error messages are kept per batch (for the 400 answer).
const MAX_ERRORS: usize = 8;

/// The outcome of parsing one batch.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Valid records, in body order.
    pub records: Vec<Record>,
    /// Elements or lines that were not valid records.
    pub invalid: usize,
    /// The body as a whole was malformed (torn array, empty, not JSON).
    pub malformed: bool,
    /// The first few reasons, for the answer.
    pub errors: Vec<String>,
}

impl Parsed {
    fn reject(&mut self, what: String) {
        self.invalid += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(what);
        }
    }

    fn body_error(&mut self, what: &str) {
        self.malformed = true;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(what.to_owned());
        }
    }
}

/// Whether `sid` is usable as a file name: `[A-Za-z0-9_-]{1,64}`, not
/// starting with `_` (reserved for the proxy's own files).
pub fn is_safe_sid(sid: &str) -> bool {
    (1..=64).contains(&sid.len())
        && !sid.starts_with('_')
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses a batch body.
pub fn parse(body: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        out.body_error("empty body");
        return out;
    };
    if body[start] == b'[' {
        let (elements, complete) = split_array(&body[start + 1..]);
        if !complete {
            out.body_error("torn body: the JSON array does not end");
        }
        for (i, el) in elements.into_iter().enumerate() {
            accept(&mut out, el, &format!("element {i}"));
        }
    } else {
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            accept(&mut out, line, &format!("line {}", i + 1));
        }
    }
    out
}

fn accept(out: &mut Parsed, text: &[u8], place: &str) {
    let value: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return out.reject(format!("{place}: not JSON: {e}")),
    };
    match Record::parse(value) {
        Ok(r) if is_safe_sid(r.sid()) => out.records.push(r),
        Ok(r) => out.reject(format!(
            "{place}: sid {:?} is not [A-Za-z0-9_-]{{1,64}} (or starts with `_`)",
            preview(r.sid())
        )),
        Err(e) => out.reject(format!("{place}: {e}")),
    }
}

/// At most the first 80 characters of `s` (an absurd sid must not make the
/// answer and the log line as large as the body).
fn preview(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Splits the inside of a JSON array (the bytes after `[`) into its
/// top-level elements (trimmed). Returns whether the closing `]` was found;
/// a trailing incomplete element is still returned (it will fail to parse).
fn split_array(inner: &[u8]) -> (Vec<&[u8]>, bool) {
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, &b) in inner.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b']' => {
                push_trimmed(&mut elements, &inner[start..i], true);
                return (elements, inner[i + 1..].iter().all(u8::is_ascii_whitespace));
            }
            b',' if depth == 0 => {
                push_trimmed(&mut elements, &inner[start..i], false);
                start = i + 1;
            }
            _ => {}
        }
    }
    push_trimmed(&mut elements, &inner[start..], true);
    (elements, false)
}

/// Adds an element; an empty last element (`[]`, or `[a,]`'s tail) is
/// skipped, an empty middle one (`[a,,b]`) is kept so it counts as invalid.
fn push_trimmed<'a>(out: &mut Vec<&'a [u8]>, el: &'a [u8], last: bool) {
    let s = el.iter().position(|b| !b.is_ascii_whitespace());
    match s {
        Some(s) => {
            let e = el
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(el.len(), |e| e + 1);
            out.push(&el[s..e]);
        }
        None if !last => out.push(&el[..0]),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(sid: &str, seq: u64) -> String {
        format!(
            r#"{{"v":1,"sid":"{sid}","seq":{seq},"ts":1.5,"kind":"infer","model":"m,[x]\"}}"}}"#
        )
    }

    #[test]
    fn array_of_valid_records() {
        let body = format!("[{}, {}]\n", rec("a1", 0), rec("a1", 1));
        let p = parse(body.as_bytes());
        assert_eq!((p.records.len(), p.invalid, p.malformed), (2, 0, false));
        assert_eq!(p.records[1].seq(), 1);
        assert_eq!(p.records[0].get("model").unwrap(), "m,[x]\"}");
    }

    #[test]
    fn empty_array_is_fine_and_empty_body_is_not() {
        let p = parse(b" [ ] ");
        assert_eq!((p.records.len(), p.invalid, p.malformed), (0, 0, false));
        let p = parse(b"  ");
        assert!(p.malformed);
    }

    #[test]
    fn jsonl_body() {
        let body = format!("{}\n\n{}\n", rec("s", 0), rec("s", 1));
        let p = parse(body.as_bytes());
        assert_eq!((p.records.len(), p.invalid, p.malformed), (2, 0, false));
    }

    #[test]
    fn invalid_elements_are_counted_and_valid_ones_kept() {
        let body = format!(
            "[{}, {{\"v\":1}}, 17, , {}, {{\"v\":1,\"sid\":\"../etc\",\"seq\":0,\"ts\":0,\"kind\":\"x\"}}]",
            rec("a", 0),
            rec("a", 1)
        );
        let p = parse(body.as_bytes());
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.invalid, 4, "{:?}", p.errors);
        assert!(!p.malformed);
    }

    #[test]
    fn torn_array_keeps_every_complete_element() {
        let full = format!("[{},{},{}]", rec("t", 0), rec("t", 1), rec("t", 2));
        for cut in 1..full.len() {
            let p = parse(&full.as_bytes()[..cut]);
            assert!(p.malformed, "cut at {cut}");
            // Elements whose closing brace is inside the cut are complete.
            let complete = (0..3).filter(|i| {
                let end = full.match_indices(&rec("t", *i)).next().unwrap().0 + rec("t", *i).len();
                end <= cut
            });
            assert_eq!(p.records.len(), complete.count(), "cut at {cut}");
        }
    }

    #[test]
    fn jsonl_with_a_torn_last_line() {
        let body = format!("{}\n{}", rec("j", 0), &rec("j", 1)[..20]);
        let p = parse(body.as_bytes());
        assert_eq!((p.records.len(), p.invalid), (1, 1));
    }

    #[test]
    fn not_json_at_all() {
        let p = parse(b"\xff\xfe garbage");
        assert_eq!((p.records.len(), p.invalid), (0, 1));
    }

    #[test]
    fn an_absurd_sid_is_not_echoed_whole() {
        let sid = "é".repeat(100_000);
        let body = format!(r#"{{"v":1,"sid":"{sid}","seq":0,"ts":0,"kind":"x"}}"#);
        let p = parse(body.as_bytes());
        assert_eq!((p.records.len(), p.invalid), (0, 1));
        assert!(p.errors[0].len() < 300, "{}", p.errors[0].len());
        assert!(p.errors[0].contains(&"é".repeat(80)));
    }

    #[test]
    fn safe_sids() {
        assert!(is_safe_sid("0123456789abcdef"));
        assert!(is_safe_sid("abc-w0a1b2c3d"));
        assert!(is_safe_sid(&"a".repeat(64)));
        assert!(!is_safe_sid(&"a".repeat(65)));
        assert!(!is_safe_sid(""));
        assert!(!is_safe_sid("../x"));
        assert!(!is_safe_sid("a.b"));
        assert!(!is_safe_sid("_proxy"));
    }
}
