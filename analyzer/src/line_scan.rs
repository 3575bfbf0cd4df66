//! A fast path for parsing one trace line into a [`Line`].
//!
//! [`scan`] reads the flat JSON objects the hooks and the proxy write
//! (ASCII keys without escapes, string/number/null values, arrays of
//! numbers) in one pass, matching keys directly to the [`Line`] fields.
//! It returns `None` whenever it is not certain to produce exactly what
//! `serde_json::from_slice::<Line>` produces: a string or key with an
//! escape or a control character, a number `serde_json` would round
//! differently or reject, a duplicate known field, a missing required
//! field, a value of the wrong type, nesting deeper than [`MAX_DEPTH`],
//! non-UTF-8 bytes, trailing characters. The caller then parses the line
//! with `serde_json` (which gives the same value, or the error message the
//! reader reports), so the fast path never changes what a line means.
//!
//! Numbers are converted exactly as `serde_json` 1.x does without its
//! `float_roundtrip` feature: an integer token is a `u64` (an `i64` when
//! negative, `-0` the float `-0.0`), a token with a fraction or exponent
//! is `significand as f64` multiplied or divided once by a power of ten.
//! Only powers up to 10^22 (exact in `f64`) are taken; other exponents and
//! significands overflowing `u64` fall back.

use std::borrow::Cow;

use webinfer_format::{By, Kind};

use crate::session::Line;

/// The deepest nesting of an ignored value the fast path skips (deeper
/// lines go to `serde_json`).
pub const MAX_DEPTH: usize = 32;

/// Exact powers of ten in `f64` (10^0 ..= 10^22), as `serde_json`'s table.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A number token as `serde_json` classifies it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Num {
    /// As an `f64` field reads it (`serde`'s primitive visitor: `as f64`).
    fn f64(self) -> f64 {
        match self {
            Num::U64(u) => u as f64,
            Num::I64(i) => i as f64,
            Num::F64(f) => f,
        }
    }

    /// As a `u64` field reads it (`None`: `serde` rejects it).
    fn u64(self) -> Option<u64> {
        match self {
            Num::U64(u) => Some(u),
            Num::I64(i) => u64::try_from(i).ok(),
            Num::F64(_) => None,
        }
    }

    /// As an `i64` field reads it.
    fn i64(self) -> Option<i64> {
        match self {
            Num::U64(u) => i64::try_from(u).ok(),
            Num::I64(i) => Some(i),
            Num::F64(_) => None,
        }
    }
}

/// The cursor over one line (known to be valid UTF-8).
struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, b: u8) -> Option<()> {
        if self.peek() == Some(b) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control characters, after its opening
    /// quote has been seen (at `self.i`); returns its contents.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.i += 1;
        let start = self.i;
        let s = self.s;
        loop {
            match *s.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let out = &s[start..self.i];
        self.i += 1;
        // SAFETY: the whole line was checked to be UTF-8 and `out` is cut at
        // ASCII quotes, so it is UTF-8 too.
        Some(unsafe { std::str::from_utf8_unchecked(out) })
    }

    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.s.get(self.i) {
            self.i += 1;
        }
        self.i - start
    }

    /// A number token, converted as `serde_json` converts it.
    #[inline]
    fn number(&mut self) -> Option<Num> {
        let positive = self.eat(b'-').is_none();
        let mut sig: u64 = match self.peek()? {
            b'0' => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None;
                }
                0
            }
            c @ b'1'..=b'9' => {
                self.i += 1;
                let mut sig = (c - b'0') as u64;
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    sig = sig.checked_mul(10)?.checked_add((c - b'0') as u64)?;
                    self.i += 1;
                }
                sig
            }
            _ => return None,
        };
        let mut exp: i32 = 0;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            float = true;
            let start = self.i;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                sig = sig.checked_mul(10)?.checked_add((c - b'0') as u64)?;
                self.i += 1;
            }
            if self.i == start {
                return None;
            }
            exp = -((self.i - start) as i32);
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            float = true;
            let neg = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let start = self.i;
            if self.digits() == 0 || self.i - start > 4 {
                return None;
            }
            // at most 4 digits: no overflow
            let e: i32 = std::str::from_utf8(&self.s[start..self.i])
                .ok()?
                .parse()
                .ok()?;
            exp += if neg { -e } else { e };
        }
        if !float {
            return Some(if positive {
                Num::U64(sig)
            } else {
                let neg = (sig as i64).wrapping_neg();
                if neg >= 0 {
                    Num::F64(-(sig as f64))
                } else {
                    Num::I64(neg)
                }
            });
        }
        let pow = *POW10.get(exp.unsigned_abs() as usize)?;
        let mut f = sig as f64;
        if exp >= 0 {
            f *= pow;
            if f.is_infinite() {
                return None;
            }
        } else {
            f /= pow;
        }
        Some(Num::F64(if positive { f } else { -f }))
    }

    /// Skips any value (as `serde::de::IgnoredAny` does), validating it.
    fn skip(&mut self) -> Option<()> {
        let mut stack: [u8; MAX_DEPTH] = [0; MAX_DEPTH];
        let mut depth = 0usize;
        loop {
            // a value
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'-' | b'0'..=b'9' => {
                    self.skip_number()?;
                }
                b't' => self.lit(b"true")?,
                b'f' => self.lit(b"false")?,
                b'n' => self.lit(b"null")?,
                open @ (b'[' | b'{') => {
                    self.i += 1;
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    stack[depth] = open;
                    depth += 1;
                    self.ws();
                    let close = if open == b'[' { b']' } else { b'}' };
                    if self.eat(close).is_none() {
                        if open == b'{' {
                            self.key_colon()?;
                        }
                        continue;
                    }
                    depth -= 1;
                }
                _ => return None,
            }
            // after a value: `,` and the next one, or closing brackets
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                let open = stack[depth - 1];
                let close = if open == b'[' { b']' } else { b'}' };
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if open == b'{' {
                            self.key_colon()?;
                        }
                        break;
                    }
                    c if c == close => {
                        self.i += 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `"key" :` inside an ignored object.
    fn key_colon(&mut self) -> Option<()> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        self.ws();
        self.eat(b':')
    }

    fn lit(&mut self, word: &[u8]) -> Option<()> {
        if self.s.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// The grammar of a number, without its value.
    fn skip_number(&mut self) -> Option<()> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// `null`, if that is what comes next.
    #[inline]
    fn null(&mut self) -> bool {
        if self.s.get(self.i..self.i + 4) == Some(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    #[inline]
    fn opt_f64(&mut self) -> Option<Option<f64>> {
        if self.null() {
            return Some(None);
        }
        Some(Some(self.number()?.f64()))
    }

    #[inline]
    fn opt_u64(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        Some(Some(self.number()?.u64()?))
    }

    #[inline]
    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            return Some(None);
        }
        if self.peek()? != b'"' {
            return None;
        }
        Some(Some(self.string()?))
    }

    /// An array of numbers, each read with `conv`.
    fn opt_vec<T>(&mut self, conv: impl Fn(Num) -> Option<T>) -> Option<Option<Vec<T>>> {
        if self.null() {
            return Some(None);
        }
        self.eat(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(b']').is_some() {
            return Some(Some(out));
        }
        loop {
            self.ws();
            out.push(conv(self.number()?)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Some(out));
                }
                _ => return None,
            }
        }
    }
}

/// Sets an optional field once (a second occurrence is a duplicate field,
/// which `serde` rejects).
macro_rules! once {
    ($seen:ident, $bit:expr, $slot:expr, $val:expr) => {{
        let bit: u64 = 1 << $bit;
        if $seen & bit != 0 {
            return None;
        }
        $seen |= bit;
        $slot = $val;
    }};
}

/// An empty [`Line`] (every optional field absent).
pub(crate) fn empty<'a>() -> Line<'a> {
    Line {
        v: 0,
        sid: Cow::Borrowed(""),
        seq: 0,
        ts: 0.0,
        kind: Kind::Session,
        by: By::Own,
        url: None,
        framework: None,
        version: None,
        backend: None,
        model: None,
        api: None,
        name: None,
        start: None,
        dur: None,
        bytes: None,
        sha256: None,
        call: None,
        infer_seq: None,
        js_heap_used: None,
        js_heap_total: None,
        wasm_bytes: None,
        tf_bytes: None,
        tf_gpu_bytes: None,
        ua_bytes: None,
        rss: None,
        t: None,
        presented: None,
        blocking_dur: None,
        processing_start: None,
        processing_end: None,
        interaction_id: None,
        delay: None,
        dom_content_loaded: None,
        load: None,
        reason: None,
        error: None,
        prompt_tokens: None,
        output_tokens: None,
        ttft: None,
        tpot_p50: None,
        layer: None,
        model_origin: None,
        model_bytes: None,
        ort_run: None,
        renderer_rss: None,
    }
}

/// The [`Line`] fields the fast path knows, by name; a test checks this
/// list against the fields `serde` derives for [`Line`].
pub const FIELDS: [&str; 46] = [
    "v",
    "sid",
    "seq",
    "ts",
    "kind",
    "by",
    "url",
    "framework",
    "version",
    "backend",
    "model",
    "api",
    "name",
    "start",
    "dur",
    "bytes",
    "sha256",
    "call",
    "infer_seq",
    "js_heap_used",
    "js_heap_total",
    "wasm_bytes",
    "tf_bytes",
    "tf_gpu_bytes",
    "ua_bytes",
    "rss",
    "t",
    "presented",
    "blocking_dur",
    "processing_start",
    "processing_end",
    "interaction_id",
    "delay",
    "dom_content_loaded",
    "load",
    "reason",
    "error",
    "prompt_tokens",
    "output_tokens",
    "ttft",
    "tpot_p50",
    "layer",
    "model_origin",
    "model_bytes",
    "ort_run",
    "renderer_rss",
];

/// Parses `line` into a [`Line`] when that is certain to agree with
/// `serde_json` (see the module docs); `None` otherwise.
pub fn scan(line: &[u8]) -> Option<Line<'_>> {
    let mut l = empty();
    scan_into(line, &mut l)?;
    Some(l)
}

/// [`scan`] into `l`, which must come from [`empty`]: the record is built
/// where the caller keeps it (a [`Line`] is a large struct; returning it by
/// value copies it). On `None`, `l` holds part of the line and must be
/// overwritten (the caller parses the line with `serde_json` into it).
pub(crate) fn scan_into<'a>(line: &'a [u8], l: &mut Line<'a>) -> Option<()> {
    if !line.is_ascii() && std::str::from_utf8(line).is_err() {
        return None;
    }
    let mut p = P { s: line, i: 0 };
    let mut seen: u64 = 0;
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.eat(b'}').is_none() {
        loop {
            p.ws();
            if p.peek()? != b'"' {
                return None;
            }
            let key = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            match key.as_bytes() {
                b"v" => once!(seen, 0, l.v, p.number()?.u64()?),
                b"sid" => {
                    if p.peek()? != b'"' {
                        return None;
                    }
                    once!(seen, 1, l.sid, Cow::Borrowed(p.string()?))
                }
                b"seq" => once!(seen, 2, l.seq, p.number()?.u64()?),
                b"ts" => once!(seen, 3, l.ts, p.number()?.f64()),
                b"kind" => {
                    if p.peek()? != b'"' {
                        return None;
                    }
                    once!(seen, 4, l.kind, Kind::from_name(p.string()?))
                }
                b"by" => once!(seen, 5, l.by, By::from_field(p.opt_str()?)),
                b"framework" => once!(seen, 6, l.framework, p.opt_str()?.map(Cow::Borrowed)),
                b"model" => once!(seen, 7, l.model, p.opt_str()?.map(Cow::Borrowed)),
                b"backend" => once!(seen, 8, l.backend, p.opt_str()?.map(Cow::Borrowed)),
                b"start" => once!(seen, 9, l.start, p.opt_f64()?),
                b"dur" => once!(seen, 10, l.dur, p.opt_f64()?),
                b"call" => once!(seen, 11, l.call, p.opt_u64()?),
                b"name" => once!(seen, 12, l.name, p.opt_str()?.map(Cow::Borrowed)),
                b"infer_seq" => once!(seen, 13, l.infer_seq, p.opt_u64()?),
                b"api" => once!(seen, 14, l.api, p.opt_str()?.map(Cow::Borrowed)),
                b"url" => once!(seen, 15, l.url, p.opt_str()?.map(str::to_owned)),
                b"version" => once!(seen, 16, l.version, p.opt_str()?.map(str::to_owned)),
                b"bytes" => once!(seen, 17, l.bytes, p.opt_f64()?),
                b"sha256" => once!(seen, 18, l.sha256, p.opt_str()?.map(str::to_owned)),
                b"js_heap_used" => once!(seen, 19, l.js_heap_used, p.opt_f64()?),
                b"js_heap_total" => once!(seen, 20, l.js_heap_total, p.opt_f64()?),
                b"wasm_bytes" => once!(seen, 21, l.wasm_bytes, p.opt_f64()?),
                b"tf_bytes" => once!(seen, 22, l.tf_bytes, p.opt_f64()?),
                b"tf_gpu_bytes" => once!(seen, 23, l.tf_gpu_bytes, p.opt_f64()?),
                b"ua_bytes" => once!(seen, 24, l.ua_bytes, p.opt_f64()?),
                b"rss" => once!(seen, 25, l.rss, p.opt_f64()?),
                b"t" => once!(seen, 26, l.t, p.opt_vec(|n| Some(n.f64()))?),
                b"presented" => once!(seen, 27, l.presented, p.opt_vec(Num::i64)?),
                b"blocking_dur" => once!(seen, 28, l.blocking_dur, p.opt_f64()?),
                b"processing_start" => once!(seen, 29, l.processing_start, p.opt_f64()?),
                b"processing_end" => once!(seen, 30, l.processing_end, p.opt_f64()?),
                b"interaction_id" => once!(seen, 31, l.interaction_id, p.opt_u64()?),
                b"delay" => once!(seen, 32, l.delay, p.opt_f64()?),
                b"dom_content_loaded" => once!(seen, 33, l.dom_content_loaded, p.opt_f64()?),
                b"load" => once!(seen, 34, l.load, p.opt_f64()?),
                b"reason" => once!(seen, 35, l.reason, p.opt_str()?.map(str::to_owned)),
                b"error" => once!(seen, 36, l.error, p.opt_str()?.map(str::to_owned)),
                b"prompt_tokens" => once!(seen, 37, l.prompt_tokens, p.opt_u64()?),
                b"output_tokens" => once!(seen, 38, l.output_tokens, p.opt_u64()?),
                b"ttft" => once!(seen, 39, l.ttft, p.opt_f64()?),
                b"tpot_p50" => once!(seen, 40, l.tpot_p50, p.opt_f64()?),
                b"layer" => once!(seen, 41, l.layer, p.opt_str()?.map(Cow::Borrowed)),
                b"model_origin" => {
                    once!(seen, 42, l.model_origin, p.opt_str()?.map(Cow::Borrowed))
                }
                b"model_bytes" => once!(seen, 43, l.model_bytes, p.opt_f64()?),
                b"ort_run" => once!(seen, 44, l.ort_run, p.opt_str()?.map(Cow::Borrowed)),
                b"renderer_rss" => once!(seen, 45, l.renderer_rss, p.opt_f64()?),
                _ => p.skip()?,
            }
            p.ws();
            match p.peek()? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    if p.i != line.len() {
        return None;
    }
    // v, sid, seq, ts and kind are required
    if seen & 0b1_1111 != 0b1_1111 {
        return None;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The field names `serde` derives for [`Line`] (what it passes to
    /// `deserialize_struct`).
    fn derived_fields() -> &'static [&'static str] {
        use serde::de::{self, Visitor};
        struct Capture(Option<&'static [&'static str]>);
        impl<'de> de::Deserializer<'de> for &mut Capture {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0 = Some(fields);
                Err(de::Error::custom("captured"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct newtype_struct seq tuple
                tuple_struct map enum identifier ignored_any
            }
        }
        let mut c = Capture(None);
        let _ = <Line as serde::Deserialize>::deserialize(&mut c);
        c.0.expect("Line deserializes as a struct")
    }

    /// `scan` agrees with `serde_json` wherever it answers.
    fn check(line: &str) -> bool {
        let fast = scan(line.as_bytes());
        let slow = serde_json::from_slice::<Line>(line.as_bytes());
        match (&fast, &slow) {
            (Some(f), Ok(s)) => {
                assert_eq!(format!("{f:?}"), format!("{s:?}"), "line {line}");
                true
            }
            (Some(f), Err(e)) => panic!("fast path accepted {line} as {f:?}, serde_json: {e}"),
            (None, _) => false,
        }
    }

    #[test]
    fn knows_every_field_of_line() {
        let mut derived: Vec<&str> = derived_fields().to_vec();
        let mut known: Vec<&str> = FIELDS.to_vec();
        derived.sort_unstable();
        known.sort_unstable();
        assert_eq!(known, derived);
    }

    #[test]
    fn every_field_with_each_value_type_agrees_with_serde_json() {
        let head = r#""v":1,"sid":"s","seq":2,"ts":3.5,"kind":"infer""#;
        let values = [
            "null",
            "0",
            "-0",
            "7",
            "-7",
            "1.25",
            "-0.0",
            "1e3",
            "2.5E-4",
            "18446744073709551615",
            "\"x\"",
            "\"\"",
            "[]",
            "[1,2.5,-3]",
            "[1,null]",
            "{}",
            "{\"a\":[1,{\"b\":\"c\"}]}",
            "true",
            "false",
        ];
        let mut fast = 0;
        for f in FIELDS
            .iter()
            .filter(|f| !["v", "sid", "seq", "ts", "kind"].contains(f))
        {
            for v in values {
                fast += check(&format!("{{{head},\"{f}\":{v}}}")) as usize;
            }
        }
        // most combinations take the fast path (the rest are type errors)
        assert!(fast > 250, "{fast}");
        for v in values {
            for f in ["v", "seq", "ts", "sid", "kind"] {
                let line =
                    format!(r#"{{"v":1,"sid":"s","seq":2,"ts":3,"kind":"infer","{f}":{v}}}"#);
                // a duplicate of a required field is an error for both
                assert!(!check(&line), "{line}");
            }
        }
    }

    #[test]
    fn falls_back_where_it_is_not_sure() {
        for line in [
            r#"{"v":1,"sid":"a\"b","seq":0,"ts":0,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer","model":"é\u00e9"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer"} x"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer","dur":1,"dur":2}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":1e400,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":1e23,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":01,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":1.,"kind":"infer"}"#,
            r#"{"v":1.0,"sid":"a","seq":0,"ts":1,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":-1,"ts":1,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0.123456789012345678901,"kind":"infer"}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer","x":[1,]}"#,
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer",}"#,
            r#"[1,"a",0,0,"infer"]"#,
            "{\"v\":1,\"sid\":\"a\tb\",\"seq\":0,\"ts\":0,\"kind\":\"infer\"}",
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer""#,
        ] {
            assert!(!check(line), "{line}");
        }
        let deep = format!(
            r#"{{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer","x":{}{}}}"#,
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(!check(&deep));
        // but whitespace, unknown nested values and UTF-8 are fine
        for line in [
            " { \"v\" : 1 , \"sid\" : \"a\" , \"seq\" : 0 , \"ts\" : 0 , \"kind\" : \"mem\" } \r",
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"infer","x":{"y":[true,false,null,-1.5e-3,"z"]},"model":"модель"}"#,
            r#"{"kind":"net","by":"proxy","ts":2,"seq":3,"sid":"a","v":1,"url":"u","bytes":4}"#,
        ] {
            assert!(check(line), "{line}");
        }
    }

    #[test]
    fn agrees_on_the_sample_traces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
        let files = crate::read::discover(&[root]).unwrap();
        let (mut n, mut fast) = (0, 0);
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
        {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                n += 1;
                fast += check(line) as usize;
            }
        }
        assert!(n > 2000, "{n}");
        assert!(fast * 100 >= n * 95, "{fast} of {n} lines on the fast path");
    }

    proptest! {
        #[test]
        fn numbers_convert_as_serde_json_does(
            int in 0u64..u64::MAX,
            frac in proptest::option::of("[0-9]{1,20}"),
            exp in proptest::option::of(-30i32..30),
            neg in any::<bool>(),
        ) {
            let mut num = format!("{}{int}", if neg { "-" } else { "" });
            if let Some(f) = frac {
                num = format!("{num}.{f}");
            }
            if let Some(e) = exp {
                num = format!("{num}e{e}");
            }
            check(&format!(r#"{{"v":1,"sid":"a","seq":0,"ts":{num},"kind":"infer","dur":{num},"t":[{num}]}}"#));
        }

        #[test]
        fn js_style_floats_take_the_fast_path(x in 0.0f64..1e7) {
            let line = format!(r#"{{"v":1,"sid":"a","seq":0,"ts":{x},"kind":"infer","start":{x},"dur":{}}}"#, x / 3.0);
            let long = x.to_string().len() > 20;
            prop_assert!(check(&line) || long);
        }
    }
}
