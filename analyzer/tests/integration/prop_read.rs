//! Property tests of the trace reader (`read`) over generated files mixing
//! valid records, torn lines, garbage bytes, invalid UTF-8, huge numbers,
//! wrong types, duplicate fields, newer versions, unknown kinds, missing
//! fields, CRLF and blank lines; plain, gzipped, and gzipped then truncated.
//!
//! Each generated line knows what the format contract says the reader must
//! do with it (`format/trace-format.md`, tolerance rules in `read`'s docs):
//! - every valid record is stored (per session, per kind: the counts match);
//! - every other non-blank line is skipped and counted under its reason
//!   (unknown kind, missing field, newer version, invalid in the middle,
//!   torn last line), and `lines == records + skipped()`;
//! - a file whose first non-blank line is not a record is an error naming it;
//! - the same file gzipped reads the same;
//! - a truncated `.gz` reads exactly the lines decoded before the cut (the cut
//!   last line counted as torn) and lists the file in `ReadStats::truncated`.
//!
//! Cases: `PROPTEST_CASES` (default 128 here; `scripts/fuzz.sh` runs many more).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use proptest::prelude::*;
use serde_json::json;
use webinfer_analyzer::read::{read_all, ReadOptions, ReadStats};
use webinfer_analyzer::Error;
use webinfer_testkit::prop::config;

use crate::common::write;

/// What the reader must make of one non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Stored, for this session and kind.
    Valid(&'static str, &'static str),
    UnknownKind,
    MissingField,
    Newer,
    /// Not a record at all (the reader cannot parse it).
    Bad,
}

#[derive(Debug, Clone)]
struct Line {
    bytes: Vec<u8>,
    class: Class,
}

const SIDS: &[&str] = &["s1", "s-2", "w_3"];

fn valid_record() -> impl Strategy<Value = Line> {
    (
        prop::sample::select(SIDS),
        0..6u8,
        any::<u64>(),
        prop_oneof![
            Just(0.0f64),
            -1e6..1e6f64,
            Just(1e300),
            Just(f64::MAX),
            Just(-0.0)
        ],
        any::<bool>(),
    )
        .prop_map(|(sid, k, seq, ts, extra)| {
            let mut v = match k {
                0 => json!({"kind": "infer", "framework": "tfjs", "model": "m.json", "backend": "wasm",
                            "start": ts, "dur": 2.5, "call": 1}),
                1 => json!({"kind": "mem", "js_heap_used": 1u64 << 40}),
                2 => json!({"kind": "longtask", "start": ts, "dur": 51.0}),
                3 => json!({"kind": "probe", "start": 1.0, "delay": 1e-9}),
                4 => json!({"kind": "session", "source": "page", "url": "https://a.test/é",
                            "time_origin": 1.7e12}),
                _ => json!({"kind": "end", "reason": "done"}),
            };
            let kind: &'static str = match k {
                0 => "infer",
                1 => "mem",
                2 => "longtask",
                3 => "probe",
                4 => "session",
                _ => "end",
            };
            let m = v.as_object_mut().unwrap();
            m.insert("v".into(), json!(1));
            m.insert("sid".into(), json!(sid));
            m.insert("seq".into(), json!(seq));
            m.insert("ts".into(), json!(ts));
            if extra {
                m.insert("future_field".into(), json!({"nested": [1, 2, {"x": null}]}));
            }
            Line {
                bytes: serde_json::to_vec(&v).unwrap(),
                class: Class::Valid(sid, kind),
            }
        })
}

fn head(sid: &str) -> String {
    format!(r#"{{"v":1,"sid":"{sid}","seq":7,"ts":1.5"#)
}

/// Parsable lines the reader must skip, with their reason.
fn skipped_record() -> impl Strategy<Value = Line> {
    (prop::sample::select(SIDS), 0..5u8).prop_map(|(sid, k)| {
        let h = head(sid);
        let (text, class) = match k {
            0 => (
                format!(r#"{h},"kind":"hologram","x":1}}"#),
                Class::UnknownKind,
            ),
            1 => (
                format!(
                    r#"{h},"kind":"infer","framework":"tfjs","model":"m","start":1,"call":1}}"#
                ),
                Class::MissingField,
            ),
            2 => (
                format!(r#"{h},"kind":"probe","start":1}}"#),
                Class::MissingField,
            ),
            3 => (
                format!(r#"{{"v":2,"sid":"{sid}","seq":0,"ts":0,"kind":"mem"}}"#),
                Class::Newer,
            ),
            _ => (
                format!(r#"{h},"kind":"paint","start":3}}"#),
                Class::MissingField,
            ),
        };
        Line {
            bytes: text.into_bytes(),
            class,
        }
    })
}

/// Lines that are not records at all.
fn bad_line() -> impl Strategy<Value = Line> {
    let h = head("s1");
    prop_oneof![
        // Garbage bytes: never starts like a JSON object, never blank, no newline.
        (
            prop_oneof![0x21u8..0x7b, 0x7cu8..0x7f, 0x80u8..=0xff],
            prop::collection::vec(
                any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
                0..80
            )
        )
            .prop_map(|(first, mut rest)| {
                rest.insert(0, first);
                rest
            }),
        // Invalid UTF-8 inside a string of a known field.
        Just(format!("{h},\"kind\":\"infer\",\"model\":\"\u{0}\"}}").into_bytes()).prop_map(
            |mut b| {
                let at = b.iter().position(|&c| c == 0).unwrap();
                b[at] = 0xff;
                b
            }
        ),
        // A lone surrogate escape.
        Just(format!(r#"{h},"kind":"infer","model":"\ud800"}}"#).into_bytes()),
        // Wrong types.
        Just(br#"{"v":1,"sid":"s1","seq":"seven","ts":1,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":1,"sid":17,"seq":0,"ts":1,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":"1","sid":"s1","seq":0,"ts":1,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":1,"sid":"s1","seq":0,"ts":1,"kind":"infer","framework":5}"#.to_vec()),
        Just(br#"{"v":1,"sid":"s1","seq":-1,"ts":1,"kind":"mem"}"#.to_vec()),
        // Huge numbers that do not fit their field.
        Just(br#"{"v":1,"sid":"s1","seq":18446744073709551616,"ts":1,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":1,"sid":"s1","seq":0,"ts":1e400,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":99999999999999999999999,"sid":"s1","seq":0,"ts":1,"kind":"mem"}"#.to_vec()),
        // Duplicate field, missing common field, not an object.
        Just(br#"{"v":1,"sid":"s1","seq":0,"ts":1,"ts":2,"kind":"mem"}"#.to_vec()),
        Just(br#"{"v":1,"sid":"s1","seq":0,"kind":"mem"}"#.to_vec()),
        Just(b"[1,2,3]".to_vec()),
        Just(b"null".to_vec()),
    ]
    .prop_map(|bytes| Line {
        bytes,
        class: Class::Bad,
    })
}

/// A valid record cut short: a torn line (last line: torn; inside: invalid).
fn torn_line() -> impl Strategy<Value = Line> {
    (valid_record(), any::<prop::sample::Index>()).prop_map(|(l, i)| {
        let cut = 1 + i.index(l.bytes.len() - 1);
        Line {
            bytes: l.bytes[..cut].to_vec(),
            class: Class::Bad,
        }
    })
}

#[derive(Debug, Clone)]
enum Item {
    Line(Line),
    Blank(&'static str),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        8 => valid_record().prop_map(Item::Line),
        2 => skipped_record().prop_map(Item::Line),
        2 => bad_line().prop_map(Item::Line),
        1 => torn_line().prop_map(Item::Line),
        1 => prop::sample::select(&["", " ", "\t", "\r", " \r"][..]).prop_map(Item::Blank),
    ]
}

/// A generated file: items, line endings (`\n` or CRLF), final newline or not.
#[derive(Debug, Clone)]
struct File {
    items: Vec<Item>,
    crlf: Vec<bool>,
    final_newline: bool,
}

fn file() -> impl Strategy<Value = File> {
    (
        valid_record(),
        prop::collection::vec(item(), 0..40),
        prop::collection::vec(any::<bool>(), 41),
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(first, rest, crlf, final_newline, bad_first)| {
            let mut items = rest;
            // Most files start with a record (else the file is not a trace).
            if !bad_first {
                items.insert(0, Item::Line(first));
            }
            File {
                items,
                crlf,
                final_newline,
            }
        })
}

impl File {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let n = self.items.len();
        for (i, it) in self.items.iter().enumerate() {
            match it {
                Item::Line(l) => out.extend_from_slice(&l.bytes),
                Item::Blank(b) => out.extend_from_slice(b.as_bytes()),
            }
            if i + 1 < n || self.final_newline {
                if self.crlf[i % self.crlf.len()] {
                    out.push(b'\r');
                }
                out.push(b'\n');
            }
        }
        out
    }
}

/// What the reader must report for a file's text, from the contract's rules.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    lines: u64,
    records: u64,
    unknown: u64,
    missing: u64,
    newer: u64,
    invalid: u64,
    torn: u64,
    /// Stored records per (sid, kind).
    stored: BTreeMap<(String, String), u64>,
    /// The file is not a trace (its first line is no record).
    not_a_trace: bool,
}

/// Classifies a line from its bytes (used for the decoded prefix of a
/// truncated gzip, where the generator's classes no longer line up).
fn classify(line: &[u8], known: &[(Vec<u8>, Class)]) -> Class {
    known
        .iter()
        .find(|(b, _)| b.as_slice() == line)
        .map(|(_, c)| *c)
        .unwrap_or(Class::Bad)
}

/// Applies the contract's rules to `text`, whose lines have the classes
/// `known` (lines not found there are not records).
fn expect(text: &[u8], known: &[(Vec<u8>, Class)]) -> Expected {
    let mut e = Expected::default();
    let mut parts: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let terminated_last = text.ends_with(b"\n");
    if terminated_last {
        parts.pop();
    }
    let n = parts.len();
    let mut seen_record = false;
    for (i, raw) in parts.into_iter().enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let last_unterminated = i + 1 == n && !terminated_last;
        e.lines += 1;
        match classify(line, known) {
            Class::Bad => {
                let complete = serde_json::from_slice::<serde_json::Value>(raw).is_ok();
                if last_unterminated && (seen_record || (raw.first() == Some(&b'{') && !complete)) {
                    e.torn += 1;
                } else if !seen_record {
                    e.not_a_trace = true;
                    return e;
                } else {
                    e.invalid += 1;
                }
            }
            c => {
                seen_record = true;
                match c {
                    Class::Valid(sid, kind) => {
                        e.records += 1;
                        *e.stored.entry((sid.into(), kind.into())).or_default() += 1;
                    }
                    Class::UnknownKind => e.unknown += 1,
                    Class::MissingField => e.missing += 1,
                    Class::Newer => e.newer += 1,
                    Class::Bad => unreachable!(),
                }
            }
        }
    }
    e
}

fn known_lines(f: &File) -> Vec<(Vec<u8>, Class)> {
    f.items
        .iter()
        .filter_map(|it| match it {
            Item::Line(l) => Some((l.bytes.clone(), l.class)),
            Item::Blank(_) => None,
        })
        .collect()
}

/// Reads `path` and compares everything with `want`.
fn check(path: &Path, want: &Expected) -> Result<ReadStats, TestCaseError> {
    let got = read_all(
        &[path.to_path_buf()],
        &ReadOptions {
            jobs: 1,
            ..Default::default()
        },
    );
    if want.not_a_trace {
        match got {
            Err(Error::NotATrace { path: p, .. }) => {
                prop_assert_eq!(p, path.to_path_buf());
                return Ok(ReadStats::default());
            }
            Err(e) => return Err(TestCaseError::fail(format!("wrong error: {e}"))),
            Ok((_, s)) => return Err(TestCaseError::fail(format!("read a non-trace: {s}"))),
        }
    }
    let (sessions, stats) = got.map_err(|e| TestCaseError::fail(format!("read failed: {e}")))?;
    prop_assert_eq!(stats.lines, want.lines, "lines; {}", stats);
    prop_assert_eq!(stats.records, want.records, "records; {}", stats);
    prop_assert_eq!(stats.unknown_kinds.values().sum::<u64>(), want.unknown);
    prop_assert_eq!(stats.missing_fields.values().sum::<u64>(), want.missing);
    prop_assert_eq!(stats.newer_version, want.newer);
    prop_assert_eq!(stats.invalid, want.invalid, "{}", stats);
    prop_assert_eq!(stats.torn_last.len() as u64, want.torn, "{}", stats);
    prop_assert_eq!(
        stats.lines,
        stats.records + stats.skipped(),
        "the total adds up"
    );
    if stats.invalid > 0 {
        prop_assert!(stats.invalid_example.is_some(), "an invalid line is named");
    }
    // Every stored record is in its session: per session in all, and per
    // kind for the kinds kept as lists (`session` and `end` records merge).
    let mut per_sid: BTreeMap<String, u64> = BTreeMap::new();
    for ((sid, _), n) in &want.stored {
        *per_sid.entry(sid.clone()).or_default() += n;
    }
    let got_sids: BTreeMap<String, u64> = sessions
        .iter()
        .map(|s| (s.sid.clone(), s.records))
        .collect();
    prop_assert_eq!(&got_sids, &per_sid);
    for s in &sessions {
        let want_kind = |k: &str| {
            want.stored
                .get(&(s.sid.clone(), k.to_owned()))
                .copied()
                .unwrap_or(0)
        };
        prop_assert_eq!(s.infers.len() as u64, want_kind("infer"));
        prop_assert_eq!(s.mems.len() as u64, want_kind("mem"));
        prop_assert_eq!(s.longtasks.len() as u64, want_kind("longtask"));
        prop_assert_eq!(s.probes.len() as u64, want_kind("probe"));
        prop_assert_eq!(s.end_reason.is_some(), want_kind("end") > 0);
    }
    Ok(stats)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// What a gzip decoder yields from `packed` before it fails.
fn gunzip_prefix(packed: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::MultiGzDecoder::new(packed);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn every_line_is_read_or_counted_plain_and_gzipped(f in file()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = f.bytes();
        let want = expect(&bytes, &known_lines(&f));
        let plain = write(dir.path(), "t.jsonl", &bytes);
        let s1 = check(&plain, &want)?;
        prop_assert!(s1.truncated.is_empty());
        if !want.not_a_trace {
            prop_assert_eq!(s1.bytes, bytes.len() as u64);
        }
        let gz = write(dir.path(), "t.jsonl.gz", gzip(&bytes));
        let s2 = check(&gz, &want)?;
        prop_assert!(s2.truncated.is_empty(), "{:?}", s2.truncated);
    }

    #[test]
    fn a_truncated_gzip_reads_its_valid_prefix_and_says_so(
        f in file(),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = f.bytes();
        let packed = gzip(&bytes);
        // Keep the 2-byte magic so the file is still taken for gzip.
        let at = 2 + cut.index(packed.len() - 2);
        let prefix = gunzip_prefix(&packed[..at]);
        prop_assert!(bytes.starts_with(&prefix));
        let want = expect(&prefix, &known_lines(&f));
        let p = write(dir.path(), "cut.jsonl.gz", &packed[..at]);
        let stats = check(&p, &want)?;
        if !want.not_a_trace {
            prop_assert_eq!(stats.truncated.len(), 1, "the cut is reported: {}", stats);
            prop_assert_eq!(&stats.truncated[0].0, &p);
            prop_assert!(stats.to_string().contains("cut short"), "{}", stats);
            prop_assert_eq!(stats.bytes, prefix.len() as u64);
        }
    }
}
