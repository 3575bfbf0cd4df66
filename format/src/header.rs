//! The common fields of every record (`v`, `sid`, `seq`, `ts`, `kind`,
//! `by`) as a typed [`Header`], read from a line without building the
//! rest of the record.
//!
//! [`Header::parse`] deserializes only these six fields: serde skips every
//! other field without allocating, and `sid` borrows from the line when it
//! has no escapes. [`sid_of`] is cheaper still for a compact writer's
//! lines: a byte search for `"sid":"` (see [`quick_sid`]), with a full
//! parse only when that finds nothing usable.
//!
//! A header says a line is a record of the contract's shape; what its
//! kind-specific fields hold is for each reader to check.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// Declares a record struct: the common fields (`v`, `sid`, `seq`, `ts`,
/// `kind`, `by`, typed as in [`Header`]) followed by the given fields, and
/// a `header()` method returning them as a [`Header`]. One serde pass reads
/// the whole struct (unlike `#[serde(flatten)]`, which buffers every
/// field), so a reader that needs kind-specific fields too (the analyzer)
/// gets the contract's header at no extra cost. The struct derives
/// `serde::Deserialize`: the calling crate depends on `serde`.
///
/// ```
/// webinfer_format::record_struct! {
///     /// An `infer` record's duration.
///     #[derive(Debug)]
///     pub struct Dur<'a> {
///         /// `dur`, ms.
///         pub dur: Option<f64>,
///     }
/// }
/// let d: Dur = serde_json::from_str(r#"{"v":1,"sid":"s","seq":0,"ts":1,"kind":"infer","dur":2.5}"#).unwrap();
/// assert_eq!((d.header().kind, d.dur), (webinfer_format::Kind::Infer, Some(2.5)));
/// ```
#[macro_export]
macro_rules! record_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident<$lt:lifetime> {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        $vis struct $name<$lt> {
            /// Format version.
            pub v: u64,
            /// Session id.
            #[serde(borrow)]
            pub sid: ::std::borrow::Cow<$lt, str>,
            /// Sequence number, per (`sid`, `by`).
            pub seq: u64,
            /// Milliseconds since the session's time origin.
            pub ts: f64,
            /// The record kind.
            pub kind: $crate::Kind,
            /// The writer (`By::Own` when the field is absent or `null`).
            #[serde(default)]
            pub by: $crate::By,
            $($(#[$fmeta])* $fvis $field: $ty,)*
        }

        impl<$lt> $name<$lt> {
            /// The common fields as a `webinfer_format::Header` borrowing
            /// `sid`.
            pub fn header(&self) -> $crate::Header<'_> {
                $crate::Header {
                    v: self.v,
                    sid: ::std::borrow::Cow::Borrowed(&self.sid),
                    seq: self.seq,
                    ts: self.ts,
                    kind: self.kind.clone(),
                    by: self.by.clone(),
                }
            }
        }
    };
}

record_struct! {
    /// The common fields of one record.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Header<'a> {}
}

impl<'a> Header<'a> {
    /// The header of one JSON line (without its newline). Fails when the
    /// line is not a JSON object or a common field is missing or of the
    /// wrong type (`v` and `seq` non-negative integers, `ts` a number,
    /// `sid` and `kind` strings, `by` a string or null).
    pub fn parse(line: &'a [u8]) -> Result<Header<'a>, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// The header of an already parsed record, or `None` as for
    /// [`Header::parse`].
    pub fn of(value: &'a Value) -> Option<Header<'a>> {
        Header::deserialize(value).ok()
    }

    /// Whether the record is of a newer format version than this build.
    pub fn is_newer(&self) -> bool {
        self.v > crate::VERSION
    }

    /// The header with its own copy of `sid`.
    pub fn into_owned(self) -> Header<'static> {
        Header {
            sid: Cow::Owned(self.sid.into_owned()),
            ..self
        }
    }
}

/// The session id of a line written by a compact serializer: the text
/// after the first `"sid":"` up to the next quote. `None` when there is
/// no such key or the id has an escape (`\`); such lines need a parser.
///
/// The proxy's sink, the native runner and `webinfer audit` write every
/// record with `serde_json` (compact, no spaces), so this finds their ids.
pub fn quick_sid(line: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"sid\":\"";
    // Built once: building a searcher costs more than searching one line.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let at = FINDER.find(line)? + KEY.len();
    let rest = &line[at..];
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[end] == b'\\' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

#[derive(Deserialize)]
struct SidOnly<'a> {
    #[serde(borrow)]
    sid: Cow<'a, str>,
}

/// The session id of a line: [`quick_sid`], else a parse of the `sid`
/// field alone. `None` when the line has no string `sid`.
pub fn sid_of(line: &[u8]) -> Option<Cow<'_, str>> {
    match quick_sid(line) {
        Some(s) => Some(Cow::Borrowed(s)),
        None => serde_json::from_slice::<SidOnly>(line).ok().map(|s| s.sid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::{By, Kind};

    #[test]
    fn parse_reads_the_common_fields_only() {
        let line = br#"{"v":1,"sid":"s1","seq":4,"ts":2.5,"kind":"infer","by":"proxy","dur":3,"x":{"sid":"no"}}"#;
        let h = Header::parse(line).unwrap();
        assert_eq!(
            h,
            Header {
                v: 1,
                sid: "s1".into(),
                seq: 4,
                ts: 2.5,
                kind: Kind::Infer,
                by: By::Proxy
            }
        );
        assert!(matches!(h.sid, Cow::Borrowed(_)), "sid borrows the line");
        let own = Header::parse(br#"{"kind":"future","ts":1,"seq":0,"sid":"a","v":2}"#).unwrap();
        assert!(own.is_newer());
        assert_eq!((own.kind, own.by), (Kind::Other("future".into()), By::Own));
    }

    #[test]
    fn parse_rejects_lines_without_a_valid_header() {
        for bad in [
            &br#"{"v":1,"sid":"a","seq":0,"ts":1}"#[..],
            br#"{"v":1,"sid":"a","seq":-1,"ts":1,"kind":"end"}"#,
            br#"{"v":1,"sid":"a","seq":0,"ts":"1","kind":"end"}"#,
            br#"{"v":1,"sid":7,"seq":0,"ts":1,"kind":"end"}"#,
            br#"{"v":1,"sid":"a","seq":0,"ts":1,"kind":"end","by":3}"#,
            br#"[1,2]"#,
            br#"{"v":1,"sid":"a","se"#,
        ] {
            assert!(
                Header::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn of_reads_a_parsed_value() {
        let v: Value =
            serde_json::from_str(r#"{"v":1,"sid":"a","seq":2,"ts":0,"kind":"end","by":null}"#)
                .unwrap();
        let h = Header::of(&v).unwrap().into_owned();
        assert_eq!((h.kind, h.by, h.seq), (Kind::End, By::Own, 2));
        assert!(Header::of(&serde_json::json!({"sid": "a"})).is_none());
    }

    #[test]
    fn quick_sid_finds_compact_ids_only() {
        assert_eq!(quick_sid(br#"{"v":1,"sid":"abc","seq":0}"#), Some("abc"));
        assert_eq!(quick_sid(br#"{"v":1,"sid":"a\"b"}"#), None);
        assert_eq!(quick_sid(br#"{"v":1, "sid": "abc"}"#), None);
    }

    #[test]
    fn sid_of_falls_back_to_a_parse() {
        assert_eq!(sid_of(br#"{"sid":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(
            sid_of(br#"{"v":1, "sid": "a\"b"}"#).as_deref(),
            Some("a\"b")
        );
        assert_eq!(sid_of(br#"{"v":1, "sid": 3}"#), None);
        assert_eq!(sid_of(b"not json"), None);
    }
}
