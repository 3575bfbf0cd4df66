//! Extracts a TF.js model shipped inside JavaScript files, as nsfwjs does
//! (`dist/models/<name>/model.min.js` and `group1-shardNofM.min.js`):
//! browserify UMD bundles whose single module sets `module.exports` to the
//! `model.json` object (as a JavaScript object literal: unquoted keys,
//! `!0`/`!1` for booleans, `.5`-style numbers) or to a shard's bytes as a
//! base64 string.
//!
//! The value is the literal after the first `.exports=` that is followed by
//! `{` or a string quote; it is read by a parser for the literal subset
//! (objects, arrays, strings, numbers, `true`/`false`/`null`, `!0`/`!1`,
//! `void 0`) and turned into JSON text. No JavaScript is executed.

use base64::Engine as _;

/// What a module exports.
#[derive(Debug, Clone, PartialEq)]
pub enum Export {
    /// An object literal, as JSON text (keys in source order).
    Json(String),
    /// A string literal's value.
    Str(String),
}

/// Finds the exported literal of a bundled module.
pub fn extract(src: &str) -> Result<Export, String> {
    let mut from = 0;
    while let Some(i) = src[from..].find(".exports=") {
        let at = from + i + ".exports=".len();
        match src.as_bytes().get(at) {
            Some(b'{') => {
                let mut p = Parser {
                    s: src.as_bytes(),
                    i: at,
                    out: String::new(),
                };
                p.value()?;
                return Ok(Export::Json(p.out));
            }
            Some(b'"' | b'\'') => {
                let mut p = Parser {
                    s: src.as_bytes(),
                    i: at,
                    out: String::new(),
                };
                return Ok(Export::Str(p.string_value()?));
            }
            _ => from = at,
        }
    }
    Err(
        "no `module.exports = {…}` or `= \"…\"` literal found (not a bundled TF.js model module)"
            .into(),
    )
}

/// The shard bytes a module exports as a base64 string.
pub fn shard_bytes(src: &str) -> Result<Vec<u8>, String> {
    match extract(src)? {
        Export::Str(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| format!("the exported string is not base64: {e}")),
        Export::Json(_) => Err("the module exports an object, not a base64 weight shard".into()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    out: String,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        let end = (self.i + 40).min(self.s.len());
        Err(format!(
            "JavaScript literal: {what} at byte {} (`{}`)",
            self.i,
            String::from_utf8_lossy(&self.s[self.i.min(end)..end])
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<(), String> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"' | b'\'') => {
                let s = self.string_value()?;
                self.out
                    .push_str(&serde_json::to_string(&s).expect("string"));
                Ok(())
            }
            Some(b'!') => {
                if self.eat("!0") {
                    self.out.push_str("true");
                } else if self.eat("!1") {
                    self.out.push_str("false");
                } else {
                    return self.err("unsupported `!` expression");
                }
                Ok(())
            }
            Some(c) if c == b'-' || c == b'.' || c.is_ascii_digit() => self.number(),
            _ => {
                for (lit, json) in [
                    ("true", "true"),
                    ("false", "false"),
                    ("null", "null"),
                    ("void 0", "null"),
                ] {
                    if self.eat(lit) {
                        self.out.push_str(json);
                        return Ok(());
                    }
                }
                self.err("unsupported value")
            }
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.list(b'{', b'}', |p| {
            let key = match p.peek() {
                Some(b'"' | b'\'') => p.string_value()?,
                Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' => {
                    let start = p.i;
                    while p.peek().is_some_and(|c| {
                        c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'.'
                    }) {
                        p.i += 1;
                    }
                    String::from_utf8_lossy(&p.s[start..p.i]).into_owned()
                }
                _ => return p.err("expected an object key"),
            };
            p.out
                .push_str(&serde_json::to_string(&key).expect("string"));
            p.skip_ws();
            if p.peek() != Some(b':') {
                return p.err("expected `:`");
            }
            p.i += 1;
            p.out.push(':');
            p.value()
        })
    }

    fn array(&mut self) -> Result<(), String> {
        self.list(b'[', b']', Self::value)
    }

    /// A `open … close` list of comma-separated `item`s (a trailing comma
    /// allowed, as in JavaScript), copied to the output as JSON.
    fn list(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        self.i += 1;
        self.out.push(char::from(open));
        let mut first = true;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.i += 1;
                self.out.push(char::from(close));
                return Ok(());
            }
            if !first {
                if self.peek() != Some(b',') {
                    return self.err(&format!("expected `,` or `{}`", char::from(close)));
                }
                self.i += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    continue;
                }
                self.out.push(',');
            }
            first = false;
            item(self)?;
        }
    }

    fn number(&mut self) -> Result<(), String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
        let v: f64 = text.parse().or_else(|_| self.err::<f64>("not a number"))?;
        let is_int = !text.contains(['.', 'e', 'E']);
        if is_int && v.abs() < 9.0e15 {
            self.out.push_str(&format!("{}", v as i64));
        } else if v.is_finite() {
            // `{:?}` prints the shortest text that reads back as `v`.
            self.out.push_str(&format!("{v:?}"));
        } else {
            return self.err("number out of range");
        }
        Ok(())
    }

    fn string_value(&mut self) -> Result<String, String> {
        let quote = self.peek().expect("a quote");
        self.i += 1;
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated string");
            };
            self.i += 1;
            if c == quote {
                break;
            }
            if c != b'\\' {
                buf.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return self.err("unterminated escape");
            };
            self.i += 1;
            match e {
                b'n' => buf.push(b'\n'),
                b't' => buf.push(b'\t'),
                b'r' => buf.push(b'\r'),
                b'b' => buf.push(8),
                b'f' => buf.push(12),
                b'v' => buf.push(11),
                b'0' => buf.push(0),
                b'u' | b'x' => {
                    let n = if e == b'u' { 4 } else { 2 };
                    let hex = self.s.get(self.i..self.i + n).unwrap_or_default();
                    let code = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32);
                    let Some(ch) = code else {
                        return self.err("bad escape");
                    };
                    self.i += n;
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                b'\n' => {}
                other => buf.push(other),
            }
        }
        String::from_utf8(buf).or_else(|_| self.err("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_minified_object_literal() {
        let src = r#"!function(e){...}({1:[function(e,a,n){a.exports={modelTopology:{keras_version:"2.2.4",sparse:!1,on:!0,x:.5,y:-.25,z:1e-3,n:-3,"q k":[1,2,],s:'a\'b',v:void 0,}}},{}]},{},[1])(1)});"#;
        let Export::Json(j) = extract(src).unwrap() else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        let t = &v["modelTopology"];
        assert_eq!(t["keras_version"], "2.2.4");
        assert_eq!(t["sparse"], false);
        assert_eq!(t["on"], true);
        assert_eq!(t["x"], 0.5);
        assert_eq!(t["y"], -0.25);
        assert_eq!(t["z"], 0.001);
        assert_eq!(t["n"], -3);
        assert_eq!(t["q k"], serde_json::json!([1, 2]));
        assert_eq!(t["s"], "a'b");
        assert!(t["v"].is_null());
        // Keys stay in source order.
        assert!(j.find("keras_version").unwrap() < j.find("sparse").unwrap());
    }

    #[test]
    fn reads_a_base64_shard() {
        let src = r#"x(function(e,h,n){h.exports="AAECAw=="},{}]},{},[1])(1)});"#;
        assert_eq!(shard_bytes(src).unwrap(), vec![0, 1, 2, 3]);
        assert!(shard_bytes("var a = 1;").unwrap_err().contains("exports"));
    }

    #[test]
    fn quantization_numbers_read_back_exactly() {
        let src = "a.exports={min:-5.0893140568452715,scale:.03262380805670046}";
        let Export::Json(j) = extract(src).unwrap() else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["min"].as_f64().unwrap(), -5.089_314_056_845_271_5);
        assert_eq!(v["scale"].as_f64().unwrap(), 0.032_623_808_056_700_46);
    }
}
