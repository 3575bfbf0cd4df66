//! Prepends the hook to a worker script (dedicated or shared; classic or
//! module) as a stream.
//!
//! The hook goes first so it runs before the worker's own code, with three
//! details kept intact: a UTF-8 byte order mark stays first; a `#!` line stays
//! first (it is only valid there); and a worker whose script starts with a
//! `"use strict"` directive stays strict — the hook in front would turn the
//! directive into a plain expression, so a `"use strict";` line is put before
//! the hook instead (the hook is written to run in strict mode). To see the
//! directive the first bytes are held back until the first statement is
//! visible, at most [`MAX_PROLOGUE`] bytes.

use std::io;

use bytes::{Bytes, BytesMut};

use crate::stream::Transform;

/// Most bytes held back to look for a directive prologue past comments.
pub const MAX_PROLOGUE: usize = 64 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The streaming worker-script transform.
pub struct WorkerPrepender {
    script: Bytes,
    head: Option<BytesMut>,
}

impl WorkerPrepender {
    /// A prepender of `script` (the full hook text with its config prefix).
    pub fn new(script: &str) -> Self {
        WorkerPrepender {
            script: Bytes::copy_from_slice(script.as_bytes()),
            head: Some(BytesMut::new()),
        }
    }

    fn emit(&self, head: &[u8]) -> Bytes {
        let mut rest = head;
        let mut out = BytesMut::with_capacity(head.len() + self.script.len() + 16);
        if let Some(r) = rest.strip_prefix(BOM) {
            out.extend_from_slice(BOM);
            rest = r;
        }
        if rest.starts_with(b"#!") {
            let end = rest
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map_or(rest.len(), |i| i + 1);
            out.extend_from_slice(&rest[..end]);
            rest = &rest[end..];
            if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
                out.extend_from_slice(b"\n");
            }
        }
        if prologue(rest) == Prologue::Strict {
            out.extend_from_slice(b"\"use strict\";\n");
        }
        out.extend_from_slice(&self.script);
        out.extend_from_slice(rest);
        out.freeze()
    }
}

impl Transform for WorkerPrepender {
    fn push(&mut self, chunk: Bytes) -> io::Result<Bytes> {
        let Some(head) = &mut self.head else {
            return Ok(chunk);
        };
        head.extend_from_slice(&chunk);
        let body = head.strip_prefix(BOM).unwrap_or(head);
        let decided = if body.starts_with(b"#!") {
            match body.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => prologue(&body[i + 1..]) != Prologue::NeedMore,
                None => false,
            }
        } else {
            prologue(body) != Prologue::NeedMore
        };
        if !decided && head.len() < MAX_PROLOGUE {
            return Ok(Bytes::new());
        }
        let head = self.head.take().unwrap_or_default();
        Ok(self.emit(&head))
    }

    fn finish(&mut self) -> io::Result<Bytes> {
        match self.head.take() {
            Some(head) => Ok(self.emit(&head)),
            None => Ok(Bytes::new()),
        }
    }
}

/// What the start of a script says about its directive prologue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prologue {
    /// A `"use strict"` directive is in the prologue.
    Strict,
    /// The prologue ended without one.
    NotStrict,
    /// The bytes end before the prologue does.
    NeedMore,
}

/// Scans the directive prologue at the start of `src` (whitespace, comments,
/// string-literal statements).
pub fn prologue(src: &[u8]) -> Prologue {
    let mut i = 0;
    loop {
        // Whitespace and comments.
        loop {
            match src.get(i) {
                None => return Prologue::NeedMore,
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => i += 1,
                Some(b'/') => match src.get(i + 1) {
                    None => return Prologue::NeedMore,
                    Some(b'/') => match src[i..].iter().position(|&b| b == b'\n' || b == b'\r') {
                        Some(n) => i += n,
                        None => return Prologue::NeedMore,
                    },
                    Some(b'*') => match src[i + 2..].windows(2).position(|w| w == b"*/") {
                        Some(n) => i += n + 4,
                        None => return Prologue::NeedMore,
                    },
                    Some(_) => return Prologue::NotStrict,
                },
                Some(_) => break,
            }
        }
        let q = src[i];
        if q != b'"' && q != b'\'' {
            return Prologue::NotStrict;
        }
        // A string literal; escapes make it not an exact `use strict`.
        let start = i + 1;
        let mut j = start;
        loop {
            match src.get(j) {
                None => return Prologue::NeedMore,
                Some(b'\\') => j += 2,
                Some(b'\n' | b'\r') => return Prologue::NotStrict,
                Some(&c) if c == q => break,
                Some(_) => j += 1,
            }
        }
        let literal = &src[start..j];
        i = j + 1;
        // The literal must be a whole statement: followed by `;`, a line
        // break, `}` or the end of input (after spaces/comments on the line).
        let mut k = i;
        let ends_statement = loop {
            match src.get(k) {
                None => return Prologue::NeedMore,
                Some(b' ' | b'\t' | 0x0b | 0x0c) => k += 1,
                Some(b';' | b'\n' | b'\r' | b'}') => break true,
                Some(b'/') => match src.get(k + 1) {
                    None => return Prologue::NeedMore,
                    Some(b'/') => break true,
                    Some(b'*') => match src[k + 2..].windows(2).position(|w| w == b"*/") {
                        Some(n) => k += n + 4,
                        None => return Prologue::NeedMore,
                    },
                    Some(_) => break false,
                },
                Some(_) => break false,
            }
        };
        if !ends_statement {
            return Prologue::NotStrict;
        }
        if literal == b"use strict" {
            return Prologue::Strict;
        }
        if src[k] == b';' {
            k += 1;
        }
        i = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut p = WorkerPrepender::new(script);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            out.extend_from_slice(&p.push(Bytes::copy_from_slice(c)).unwrap());
        }
        out.extend_from_slice(&p.finish().unwrap());
        out
    }

    #[test]
    fn prologue_detection() {
        assert_eq!(prologue(b"'use strict';\nfoo()"), Prologue::Strict);
        assert_eq!(
            prologue(b"/* license */\n// x\n\"use strict\"\nfoo()"),
            Prologue::Strict
        );
        assert_eq!(prologue(b"'use asm'; 'use strict'; x"), Prologue::Strict);
        assert_eq!(prologue(b"foo(); 'use strict';"), Prologue::NotStrict);
        assert_eq!(prologue(b"'use strict'.length;"), Prologue::NotStrict);
        assert_eq!(prologue(b"'use\\x20strict';x"), Prologue::NotStrict);
        assert_eq!(prologue(b"/* unterminated"), Prologue::NeedMore);
        assert_eq!(prologue(b"'use str"), Prologue::NeedMore);
        assert_eq!(prologue(b"import x from './x.js';"), Prologue::NotStrict);
        assert_eq!(prologue(b""), Prologue::NeedMore);
    }

    /// `src` rewritten with the hook `HOOK;\n` gives `head` + `src`, whatever the chunk size.
    fn every_split(src: &[u8], head: &[u8]) {
        for chunk in 1..=src.len() {
            assert_eq!(
                run("HOOK;\n", src, chunk),
                [head, src].concat(),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn plain_script_gets_hook_first_every_split() {
        every_split(
            b"self.onmessage = (e) => postMessage(e.data);\n",
            b"HOOK;\n",
        );
    }

    #[test]
    fn strict_script_stays_strict() {
        every_split(
            b"/*! lib v1 */\n'use strict';\nvar x = 1;\n",
            b"\"use strict\";\nHOOK;\n",
        );
    }

    #[test]
    fn bom_and_hashbang_stay_first() {
        let src = b"\xEF\xBB\xBF#!/usr/bin/env node\n'use strict'\nrun()";
        assert_eq!(
            run("HOOK;\n", src, 3),
            b"\xEF\xBB\xBF#!/usr/bin/env node\n\"use strict\";\nHOOK;\n'use strict'\nrun()"
                .to_vec()
        );
    }

    #[test]
    fn empty_and_tiny_scripts() {
        assert_eq!(run("HOOK;\n", b"", 1), b"HOOK;\n".to_vec());
        assert_eq!(run("HOOK;\n", b"1", 1), b"HOOK;\n1".to_vec());
    }

    #[test]
    fn long_leading_comment_is_bounded() {
        let mut src = b"/*".to_vec();
        src.extend(std::iter::repeat_n(b'x', MAX_PROLOGUE * 2));
        src.extend_from_slice(b"*/'use strict';");
        let mut p = WorkerPrepender::new("HOOK;\n");
        let mut first_output_at = None;
        let mut fed = 0;
        for c in src.chunks(4096) {
            fed += c.len();
            let out = p.push(Bytes::copy_from_slice(c)).unwrap();
            if !out.is_empty() && first_output_at.is_none() {
                first_output_at = Some(fed);
            }
        }
        let at = first_output_at.expect("output before the end");
        assert!(at <= MAX_PROLOGUE + 4096, "held back {at} bytes");
    }
}
