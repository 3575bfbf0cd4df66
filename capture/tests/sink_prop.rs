//! Property tests of the trace endpoint's batch parser (`sink::batch`) over
//! generated bodies: JSON arrays and JSON Lines mixing valid records with
//! invalid elements (bad or unsafe sids, missing or mistyped common fields,
//! non-objects, strings full of `,]}"` and escapes, nested arrays, empty
//! elements, bare garbage), odd whitespace, a BOM, and cuts anywhere.
//!
//! Properties: parsing never panics; every valid record that is complete in
//! the body is kept, in body order, with its content; every other element is
//! counted as invalid (`records + invalid` is the number of elements the
//! body holds); a body is `malformed` exactly when it is an array without
//! its closing `]` (or empty); every kept record has a safe sid.
//!
//! Cases: `PROPTEST_CASES` (default 256 here; `scripts/fuzz.sh` runs many more).

use proptest::prelude::*;
use serde_json::{json, Value};
use webinfer_capture::sink::batch::{is_safe_sid, parse};

/// One element of a batch: its text and, when valid, the record.
#[derive(Debug, Clone)]
struct Element {
    text: String,
    record: Option<Value>,
}

fn valid() -> impl Strategy<Value = Element> {
    (
        "[A-Za-z0-9-][A-Za-z0-9_-]{0,20}",
        any::<u64>(),
        prop_oneof![Just(0.0f64), -1e9..1e9f64, Just(1e300)],
        prop::sample::select(&["infer", "mem", "end", "probe", "x-custom"][..]),
        "[^\u{0}]{0,12}",
    )
        .prop_map(|(sid, seq, ts, kind, text)| {
            let v = json!({"v": 1, "sid": sid, "seq": seq, "ts": ts, "kind": kind,
                           "model": format!("m,]}}\"[{{{text}"), "nested": [[1, {"a": "]"}], {}]});
            let text = v.to_string();
            // What the element parses to (serde_json's default float parsing
            // may differ from `v` in the last bit of an f64).
            let parsed: Value = serde_json::from_str(&text).unwrap();
            Element {
                text,
                record: Some(parsed),
            }
        })
}

fn invalid() -> impl Strategy<Value = Element> {
    prop_oneof![
        // Unsafe or empty sids.
        prop::sample::select(&["../etc/passwd", "_proxy", "", "a b", "a/b", "é"][..]).prop_map(
            |sid| json!({"v": 1, "sid": sid, "seq": 0, "ts": 0, "kind": "mem"}).to_string()
        ),
        Just(json!({"v": 1, "sid": "x".repeat(65), "seq": 0, "ts": 0, "kind": "mem"}).to_string()),
        // Missing or mistyped common fields, a newer version.
        Just(r#"{"v":1,"sid":"ok","seq":-1,"ts":0,"kind":"mem"}"#.to_owned()),
        Just(r#"{"v":1,"sid":"ok","seq":0,"ts":"0","kind":"mem"}"#.to_owned()),
        Just(r#"{"v":1,"sid":"ok","seq":0,"ts":0}"#.to_owned()),
        Just(r#"{"v":2,"sid":"ok","seq":0,"ts":0,"kind":"mem"}"#.to_owned()),
        Just(r#"{"sid":"ok","seq":0,"ts":0,"kind":"mem"}"#.to_owned()),
        Just(r#"{"v":1,"sid":7,"seq":0,"ts":0,"kind":"mem"}"#.to_owned()),
        Just(r#"{"v":1,"sid":"ok","seq":1.5,"ts":0,"kind":"mem"}"#.to_owned()),
        Just(r#"{"v":1,"sid":"ok","seq":18446744073709551616,"ts":0,"kind":"mem"}"#.to_owned()),
        // Not objects.
        Just("17".to_owned()),
        Just("null".to_owned()),
        Just(r#""a string, with ] and } and \" and \\""#.to_owned()),
        Just(r#"[1, [2, {"sid": "x"}], "]"]"#.to_owned()),
        // Broken JSON without structure characters.
        prop::sample::select(&["tru", "NaN", "undefined", "'x'", "1e999", "0x10", "-"][..])
            .prop_map(str::to_owned),
        // Empty (in an array: `[a,,b]`).
        Just(String::new()),
    ]
    .prop_map(|text| Element { text, record: None })
}

fn element() -> impl Strategy<Value = Element> {
    prop_oneof![3 => valid(), 2 => invalid()]
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["", " ", "\n", "\t", " \r\n "][..])
}

/// An array body and where each element sits in it.
#[derive(Debug, Clone)]
struct ArrayBody {
    bytes: Vec<u8>,
    /// (start, end) of each element's text, and the comma after it if any.
    spans: Vec<(usize, usize, Option<usize>)>,
    elements: Vec<Element>,
    /// Position of the closing `]`.
    close: usize,
}

fn array_body() -> impl Strategy<Value = ArrayBody> {
    (
        prop::collection::vec((element(), ws(), ws()), 0..12),
        ws(),
        ws(),
        any::<bool>(),
    )
        .prop_map(|(els, lead, tail, bom)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(lead);
            s.push('[');
            let mut spans = Vec::new();
            let n = els.len();
            let mut elements = Vec::new();
            for (i, (e, w1, w2)) in els.into_iter().enumerate() {
                s.push_str(w1);
                let start = s.len();
                s.push_str(&e.text);
                let end = s.len();
                s.push_str(w2);
                let comma = if i + 1 < n {
                    s.push(',');
                    Some(s.len() - 1)
                } else {
                    None
                };
                spans.push((start, end, comma));
                elements.push(e);
            }
            let close = s.len();
            s.push(']');
            s.push_str(tail);
            ArrayBody {
                bytes: s.into_bytes(),
                spans,
                elements,
                close,
            }
        })
}

/// What the parser must report for `body.bytes[..cut]`: (kept records, invalid count, malformed).
fn expect_array(body: &ArrayBody, cut: usize) -> (Vec<Value>, usize, bool) {
    let closed = body.close < cut;
    let mut kept = Vec::new();
    let mut invalid = 0;
    let n = body.elements.len();
    for (i, (e, &(start, end, comma))) in body.elements.iter().zip(&body.spans).enumerate() {
        // Elements split off by a comma inside the cut, or ended by `]`.
        let terminated = comma.is_some_and(|c| c < cut) || (i + 1 == n && closed);
        if terminated {
            let last_and_empty = i + 1 == n && e.text.is_empty();
            if last_and_empty {
                continue; // `[a,]` / `[]`: no element
            }
            match &e.record {
                Some(r) => kept.push(r.clone()),
                None => invalid += 1,
            }
            continue;
        }
        // The piece the cut tore: counted when it holds any text.
        if start < cut && !e.text.is_empty() {
            match &e.record {
                Some(r) if end <= cut => kept.push(r.clone()),
                _ => invalid += 1,
            }
        }
        break;
    }
    let bracket = body.bytes.iter().position(|&b| b == b'[').unwrap();
    if cut <= bracket {
        // No `[` left: a BOM and whitespace. A whole BOM is skipped (an empty
        // body: malformed); a torn BOM is one line of garbage.
        let torn_bom = body.bytes.starts_with(b"\xEF\xBB\xBF") && (1..3).contains(&cut);
        return if torn_bom {
            (Vec::new(), 1, false)
        } else {
            (Vec::new(), 0, true)
        };
    }
    (kept, invalid, !closed)
}

fn records_of(body: &[u8]) -> (Vec<Value>, usize, bool) {
    let p = parse(body);
    for r in &p.records {
        assert!(is_safe_sid(r.sid()), "unsafe sid kept: {}", r.sid());
    }
    let vals = p.records.iter().map(|r| r.clone().into_value()).collect();
    (vals, p.invalid, p.malformed)
}

/// Cases unless `PROPTEST_CASES` says otherwise.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arrays_keep_every_complete_valid_record_and_count_the_rest(
        body in array_body(),
        cut in any::<prop::sample::Index>(),
        whole in any::<bool>(),
    ) {
        let cut = if whole { body.bytes.len() } else { cut.index(body.bytes.len() + 1) };
        let got = records_of(&body.bytes[..cut]);
        let want = expect_array(&body, cut);
        prop_assert_eq!(
            &got, &want,
            "body {:?} cut at {}", String::from_utf8_lossy(&body.bytes), cut
        );
        if cut == body.bytes.len() {
            prop_assert!(!got.2, "a whole array is not malformed");
            let valid = body.elements.iter().filter(|e| e.record.is_some()).count();
            prop_assert_eq!(got.0.len(), valid, "every valid record of a whole body is kept");
        }
    }

    #[test]
    fn json_lines_keep_every_complete_valid_line(
        lines in prop::collection::vec((element(), any::<bool>()), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        // JSON Lines never start with `[`: drop elements that would.
        let lines: Vec<(Element, bool)> = lines
            .into_iter()
            .filter(|(e, _)| !e.text.starts_with('['))
            .collect();
        let mut body = Vec::new();
        let mut spans = Vec::new();
        for (e, crlf) in &lines {
            let start = body.len();
            body.extend_from_slice(e.text.as_bytes());
            spans.push((start, body.len()));
            body.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
        let cut = cut.index(body.len() + 1);
        let got = records_of(&body[..cut]);
        let mut kept = Vec::new();
        let mut invalid = 0;
        for ((e, _), &(start, end)) in lines.iter().zip(&spans) {
            if start >= cut || e.text.is_empty() {
                continue; // not in the body, or a blank line
            }
            match &e.record {
                Some(r) if end <= cut => kept.push(r.clone()),
                _ => invalid += 1,
            }
        }
        let blank = body[..cut].iter().all(u8::is_ascii_whitespace);
        prop_assert_eq!(got, (kept, invalid, blank));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_keep_an_unsafe_sid(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        prefix in prop::sample::select(&["", "[", "[{", "{\"v\":1,", "\u{feff}["][..]),
    ) {
        let mut body = prefix.as_bytes().to_vec();
        body.extend_from_slice(&bytes);
        let p = parse(&body);
        for r in &p.records {
            prop_assert!(is_safe_sid(r.sid()));
        }
        prop_assert!(p.errors.len() <= 8, "errors are capped");
        if p.records.is_empty() && p.invalid == 0 {
            // Nothing usable: it must say why (empty/torn), or be an empty array / blank lines.
            let t = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body);
            let trimmed: Vec<u8> = t.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            prop_assert!(p.malformed || trimmed.starts_with(b"["),
                "{:?}", String::from_utf8_lossy(&body));
        }
    }
}
