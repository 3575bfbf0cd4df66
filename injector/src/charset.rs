//! Which character encoding an HTML document is in, the way a browser decides
//! it: a byte order mark first, then the `charset` of the `Content-Type`
//! header, then a `<meta charset>` / `<meta http-equiv="content-type">` found
//! by the WHATWG prescan of the first [`PRESCAN_LEN`] bytes, else a default.
//!
//! The injector only rewrites documents in ASCII-compatible encodings: there
//! the injected script (pure ASCII) means the same bytes in every encoding
//! and everything else passes through byte for byte.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};

/// How many leading bytes the meta prescan looks at (HTML standard: 1024).
pub const PRESCAN_LEN: usize = 1024;

/// Where the encoding of a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A byte order mark at the start of the body.
    Bom,
    /// The `charset` parameter of the `Content-Type` header.
    Header,
    /// A `<meta>` element within the first [`PRESCAN_LEN`] bytes.
    Meta,
    /// Nothing declared it; windows-1252 (every byte valid, ASCII-compatible).
    Default,
}

/// The encoding chosen for a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The encoding.
    pub encoding: &'static Encoding,
    /// Where it was declared.
    pub source: Source,
}

/// The encoding named by the `charset` parameter of a `Content-Type` value,
/// if any and if it is a known label.
pub fn from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches('"').trim_matches('\'');
        Encoding::for_label(value.as_bytes())
    })
}

/// The encoding given by a byte order mark at the start of `bytes`, and the
/// BOM's length. `bytes` should hold at least 3 bytes unless the body is shorter.
pub fn from_bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    Encoding::for_bom(bytes)
}

/// Decides the encoding of a document from its header charset and its first
/// bytes (`head` should hold [`PRESCAN_LEN`] bytes unless the body is shorter).
pub fn detect(header: Option<&'static Encoding>, head: &[u8]) -> Detected {
    if let Some((encoding, _)) = from_bom(head) {
        return Detected {
            encoding,
            source: Source::Bom,
        };
    }
    if let Some(encoding) = header {
        return Detected {
            encoding,
            source: Source::Header,
        };
    }
    match prescan(&head[..head.len().min(PRESCAN_LEN)]) {
        Some(encoding) => Detected {
            encoding,
            source: Source::Meta,
        },
        None => Detected {
            encoding: WINDOWS_1252,
            source: Source::Default,
        },
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The WHATWG "prescan a byte stream to determine its encoding" algorithm over
/// `bytes` (the caller limits it to [`PRESCAN_LEN`]). Returns the encoding a
/// `<meta>` declares, with UTF-16 mapped to UTF-8 and x-user-defined to
/// windows-1252 as the standard says.
pub fn prescan(bytes: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    let at = |p: usize, s: &[u8]| {
        bytes.len() >= p + s.len() && bytes[p..p + s.len()].eq_ignore_ascii_case(s)
    };
    while pos < bytes.len() {
        if at(pos, b"<!--") {
            // The first `>` preceded by `--` after the `<`.
            let from = pos + 2;
            match find(&bytes[from..], b"-->") {
                Some(i) => pos = from + i + 3,
                None => return None,
            }
        } else if at(pos, b"<meta") && bytes.get(pos + 5).is_some_and(|&b| is_ws(b) || b == b'/') {
            pos += 6;
            if let Some(found) = meta_charset(bytes, &mut pos) {
                return Some(found);
            }
        } else if bytes[pos] == b'<'
            && (bytes.get(pos + 1).is_some_and(u8::is_ascii_alphabetic)
                || (bytes.get(pos + 1) == Some(&b'/')
                    && bytes.get(pos + 2).is_some_and(u8::is_ascii_alphabetic)))
        {
            while pos < bytes.len() && !is_ws(bytes[pos]) && bytes[pos] != b'>' {
                pos += 1;
            }
            while get_attribute(bytes, &mut pos).is_some() {}
            pos += 1;
        } else if at(pos, b"<!") || at(pos, b"</") || at(pos, b"<?") {
            match bytes[pos..].iter().position(|&b| b == b'>') {
                Some(i) => pos += i + 1,
                None => return None,
            }
        } else {
            pos += 1;
        }
    }
    None
}

/// Handles the attributes of one `<meta` (position just after `<meta` and its
/// following space or slash); returns the declared encoding if the element
/// declares one.
fn meta_charset(bytes: &[u8], pos: &mut usize) -> Option<&'static Encoding> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut got_pragma = false;
    let mut need_pragma: Option<bool> = None;
    let mut charset: Option<&'static Encoding> = None;
    while let Some((name, value)) = get_attribute(bytes, pos) {
        if seen.contains(&name) {
            continue;
        }
        match name.as_slice() {
            b"http-equiv" => got_pragma |= value == b"content-type",
            b"content" if charset.is_none() => {
                if let Some(enc) = charset_from_meta_content(&value) {
                    charset = Some(enc);
                    need_pragma = Some(true);
                }
            }
            b"charset" => {
                charset = Encoding::for_label(&value);
                need_pragma = Some(false);
            }
            _ => {}
        }
        seen.push(name);
    }
    let need_pragma = need_pragma?;
    if need_pragma && !got_pragma {
        return None;
    }
    let enc = charset?;
    Some(if enc == UTF_16BE || enc == UTF_16LE {
        UTF_8
    } else if enc == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        enc
    })
}

/// The "get an attribute" step of the prescan: name and value lower-cased.
/// Returns `None` at `>` (position left on it) or at the end of the input.
fn get_attribute(bytes: &[u8], pos: &mut usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let cur = |p: usize| bytes.get(p).copied();
    while cur(*pos).is_some_and(|b| is_ws(b) || b == b'/') {
        *pos += 1;
    }
    if cur(*pos)? == b'>' {
        return None;
    }
    let mut name = Vec::new();
    let mut value = Vec::new();
    // Name.
    loop {
        let b = cur(*pos)?;
        if b == b'=' && !name.is_empty() {
            *pos += 1;
            break;
        }
        if is_ws(b) {
            while cur(*pos).is_some_and(is_ws) {
                *pos += 1;
            }
            if cur(*pos)? != b'=' {
                return Some((name, value));
            }
            *pos += 1;
            break;
        }
        if b == b'/' || b == b'>' {
            return Some((name, value));
        }
        name.push(b.to_ascii_lowercase());
        *pos += 1;
    }
    // Value.
    while cur(*pos).is_some_and(is_ws) {
        *pos += 1;
    }
    let b = cur(*pos)?;
    if b == b'"' || b == b'\'' {
        *pos += 1;
        loop {
            let c = cur(*pos)?;
            *pos += 1;
            if c == b {
                return Some((name, value));
            }
            value.push(c.to_ascii_lowercase());
        }
    }
    if b == b'>' {
        return Some((name, value));
    }
    loop {
        let c = cur(*pos)?;
        if is_ws(c) || c == b'>' {
            return Some((name, value));
        }
        value.push(c.to_ascii_lowercase());
        *pos += 1;
    }
}

/// The "extract a character encoding from a meta element" algorithm over the
/// value of a `content` attribute (`text/html; charset=shift_jis`).
pub fn charset_from_meta_content(content: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    loop {
        let i = content[pos..]
            .windows(7)
            .position(|w| w.eq_ignore_ascii_case(b"charset"))?;
        pos += i + 7;
        while content.get(pos).copied().is_some_and(is_ws) {
            pos += 1;
        }
        if content.get(pos) != Some(&b'=') {
            continue;
        }
        pos += 1;
        while content.get(pos).copied().is_some_and(is_ws) {
            pos += 1;
        }
        let rest = &content[pos..];
        return match rest.first()? {
            q @ (b'"' | b'\'') => {
                let end = rest[1..].iter().position(|b| b == q)?;
                Encoding::for_label(&rest[1..1 + end])
            }
            _ => {
                let end = rest
                    .iter()
                    .position(|&b| is_ws(b) || b == b';')
                    .unwrap_or(rest.len());
                Encoding::for_label(&rest[..end])
            }
        };
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{ISO_2022_JP, SHIFT_JIS, WINDOWS_1251};

    #[test]
    fn header_charset_parameter() {
        assert_eq!(
            from_content_type("text/html; charset=Shift_JIS"),
            Some(SHIFT_JIS)
        );
        assert_eq!(
            from_content_type("text/html;CHARSET=\"windows-1251\""),
            Some(WINDOWS_1251)
        );
        assert_eq!(
            from_content_type("text/html; q=1; charset=latin1"),
            Some(WINDOWS_1252)
        );
        assert_eq!(from_content_type("text/html"), None);
        assert_eq!(from_content_type("text/html; charset=no-such-thing"), None);
    }

    #[test]
    fn bom_wins_over_header_and_meta() {
        let d = detect(Some(SHIFT_JIS), b"\xEF\xBB\xBF<meta charset=windows-1251>");
        assert_eq!(
            d,
            Detected {
                encoding: UTF_8,
                source: Source::Bom
            }
        );
        let d = detect(None, b"\xFF\xFE<\0h\0");
        assert_eq!(
            d,
            Detected {
                encoding: UTF_16LE,
                source: Source::Bom
            }
        );
    }

    #[test]
    fn header_wins_over_meta() {
        let d = detect(Some(SHIFT_JIS), b"<meta charset=windows-1251>");
        assert_eq!(
            d,
            Detected {
                encoding: SHIFT_JIS,
                source: Source::Header
            }
        );
    }

    #[test]
    fn meta_charset_forms() {
        assert_eq!(
            prescan(b"<!doctype html><html><head><meta charset=\"shift_jis\">"),
            Some(SHIFT_JIS)
        );
        assert_eq!(prescan(b"<META CHARSET=windows-1251>"), Some(WINDOWS_1251));
        assert_eq!(
            prescan(b"<meta/charset='koi8-r'>"),
            Some(encoding_rs::KOI8_R)
        );
        assert_eq!(
            prescan(b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"),
            Some(SHIFT_JIS)
        );
        assert_eq!(
            prescan(
                b"<meta content='text/html; charset = \"windows-1251\"' http-equiv=content-type>"
            ),
            Some(WINDOWS_1251)
        );
    }

    #[test]
    fn meta_content_without_pragma_is_ignored() {
        assert_eq!(
            prescan(b"<meta content=\"text/html; charset=shift_jis\">"),
            None
        );
    }

    #[test]
    fn meta_inside_comment_or_attribute_is_ignored() {
        assert_eq!(prescan(b"<!-- <meta charset=shift_jis> --><p>"), None);
        assert_eq!(prescan(b"<div title='<meta charset=shift_jis>'>"), None);
        assert_eq!(
            prescan(b"<!--><meta charset=shift_jis>"),
            Some(SHIFT_JIS),
            "`<!-->` closes the comment"
        );
    }

    #[test]
    fn utf16_meta_means_utf8_and_x_user_defined_means_1252() {
        assert_eq!(prescan(b"<meta charset=utf-16>"), Some(UTF_8));
        assert_eq!(
            prescan(b"<meta charset=x-user-defined>"),
            Some(WINDOWS_1252)
        );
    }

    #[test]
    fn meta_beyond_the_window_is_not_used() {
        let mut doc = vec![b' '; PRESCAN_LEN];
        doc.extend_from_slice(b"<meta charset=shift_jis>");
        assert_eq!(
            detect(None, &doc),
            Detected {
                encoding: WINDOWS_1252,
                source: Source::Default
            }
        );
    }

    #[test]
    fn first_meta_wins_and_unknown_labels_fall_through() {
        assert_eq!(
            prescan(b"<meta charset=bogus><meta charset=shift_jis>"),
            Some(SHIFT_JIS)
        );
        assert_eq!(prescan(b"<meta charset=iso-2022-jp>"), Some(ISO_2022_JP));
    }

    #[test]
    fn truncated_input_is_not_a_panic() {
        let doc = b"<!doctype html><meta http-equiv=\"content-type\" content=\"text/html; charset=shift_jis\">";
        for end in 0..doc.len() {
            let _ = prescan(&doc[..end]);
        }
        assert_eq!(prescan(doc), Some(SHIFT_JIS));
    }
}
