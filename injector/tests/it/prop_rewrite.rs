//! Property tests of the streaming HTML rewriter (`rewrite`, `stream`,
//! `decode`, `charset`) over generated HTML-ish documents and arbitrary bytes.
//!
//! Properties checked for every generated document and chunk split:
//! - rewriting never fails (no panic, no error item);
//! - the output is the same bytes however the body is split into chunks;
//! - when the document's encoding is ASCII-compatible the hook `<script>`
//!   (plus a `<meta charset>` when the charset came from a `<meta>`) appears
//!   exactly once, before the first page `<script>` element; otherwise the
//!   document passes through byte for byte;
//! - removing the inserted bytes, and undoing the documented `<meta>` CSP
//!   patch, gives back the input byte for byte (so non-UTF-8 bytes, BOMs,
//!   comments and CDATA pass through without loss);
//! - gzip/br bodies decode to the same output as the plain body, and a
//!   compressed body truncated anywhere ends in an error item naming the
//!   coding (never a panic, never a silently short body).
//!
//! Cases: `PROPTEST_CASES` (default 128 here; `scripts/fuzz.sh` runs many more).

use std::io::Write;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use proptest::prelude::*;
use webinfer_injector::charset::{self, Source, PRESCAN_LEN};
use webinfer_injector::csp;
use webinfer_injector::rewrite::{DocumentOptions, DocumentRewriter};
use webinfer_injector::stream::Transform;
use webinfer_injector::{Hook, HookConfig, Injector, Kind, Scope, Script, Target};
use webinfer_testkit::prop::config;

const ORIGIN: &str = "https://app.test";
const ENDPOINT: &str = "/__webinfer__/trace";

fn hook() -> Hook {
    Hook::from_source("(function(){globalThis.__propHooked = 1;})();")
}

fn script() -> Script {
    hook().script(&HookConfig::new(
        "propsid0123456789",
        Scope::Document,
        1.7e12,
    ))
}

/// Policies put in `<meta http-equiv=Content-Security-Policy>`: some need a
/// patch, some do not. No `"` or `&`, so the attribute text is the value.
const POLICIES: &[&str] = &[
    "script-src 'self'",
    "default-src 'none'",
    "script-src 'unsafe-inline'; connect-src *",
    "img-src *",
    "connect-src https://api.other; script-src 'nonce-abc' 'strict-dynamic'",
    "default-src 'self' https://cdn.test",
    "script-src-elem 'none'; connect-src 'none'",
];

fn csp_meta(policy: &str) -> String {
    format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">")
}

fn patched_policy(policy: &str) -> String {
    let s = script();
    csp::patch_policy(
        policy,
        &csp::Patch {
            script_hash: Some(s.csp_hash()),
            endpoint: Some(csp::Endpoint {
                origin: Some(ORIGIN),
                path: ENDPOINT,
            }),
        },
    )
}

/// One piece of a generated document.
#[derive(Debug, Clone)]
enum Part {
    Doctype,
    Html(String),
    Head(String),
    HeadEnd,
    Body(String),
    MetaCharset(&'static str, bool),
    MetaCsp(usize),
    Title(String),
    Script(String, String),
    Style(String),
    Comment(String),
    Cdata(String),
    Element(&'static str, String, String),
    Text(String),
    /// Bytes that are not UTF-8 (high bytes, letters, spaces; no markup).
    Raw(Vec<u8>),
    /// Enough text to push the rest past the 1024-byte prescan.
    Pad(usize),
}

const CHARSETS: &[&str] = &[
    "utf-8",
    "UTF-8",
    "windows-1252",
    "shift_jis",
    "euc-kr",
    "gbk",
    "iso-2022-jp",
    "utf-16le",
    "koi8-r",
    "x-user-defined",
    "no-such-charset",
];

const TAGS: &[&str] = &[
    "p", "div", "span", "a", "img", "br", "link", "noscript", "template", "b", "table", "td",
    "svg", "math", "textarea", "iframe", "input", "video",
];

/// Text without markup characters.
fn plain_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,:;!?()=+*/\\-\n\té€漢]{0,40}"
}

/// Attribute lists with double, single and no quotes, odd case and spacing.
fn attrs() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            "[a-zA-Z][a-zA-Z0-9-]{0,8}",
            "[a-zA-Z0-9 .:/'=-]{0,12}",
            0..4u8,
        )
            .prop_map(|(name, value, style)| match style {
                0 => format!(" {name}=\"{value}\""),
                1 => format!(" {name}='{}'", value.replace('\'', "\"")),
                2 => format!(
                    " {name}={}",
                    value.replace([' ', '\'', '='], "").replace('"', "")
                )
                .trim_end_matches('=')
                .to_owned(),
                _ => format!("  {name}"),
            }),
        0..4,
    )
    .prop_map(|v| v.concat())
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        1 => Just(Part::Doctype),
        2 => attrs().prop_map(Part::Html),
        3 => attrs().prop_map(Part::Head),
        1 => Just(Part::HeadEnd),
        2 => attrs().prop_map(Part::Body),
        2 => (prop::sample::select(CHARSETS), any::<bool>())
            .prop_map(|(c, http_equiv)| Part::MetaCharset(c, http_equiv)),
        2 => (0..POLICIES.len()).prop_map(Part::MetaCsp),
        1 => plain_text().prop_map(Part::Title),
        3 => (attrs(), plain_text()).prop_map(|(a, t)| Part::Script(a, t)),
        1 => plain_text().prop_map(Part::Style),
        2 => plain_text().prop_map(Part::Comment),
        1 => plain_text().prop_map(Part::Cdata),
        3 => (prop::sample::select(TAGS), attrs(), plain_text())
            .prop_map(|(t, a, x)| Part::Element(t, a, x)),
        3 => plain_text().prop_map(Part::Text),
        2 => prop::collection::vec(
            prop_oneof![0x80u8..=0xff, Just(b' '), b'a'..=b'z'],
            1..64
        )
        .prop_map(Part::Raw),
        1 => (900usize..1400).prop_map(Part::Pad),
    ]
}

fn render(parts: &[Part], upper: bool, bom: bool) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let tag = |t: &str| {
        if upper {
            t.to_ascii_uppercase()
        } else {
            t.to_owned()
        }
    };
    for p in parts {
        let s = match p {
            Part::Doctype => "<!DOCTYPE html>\n".to_owned(),
            Part::Html(a) => format!("<{}{a}>", tag("html")),
            Part::Head(a) => format!("<{}{a}>", tag("head")),
            Part::HeadEnd => format!("</{}>", tag("head")),
            Part::Body(a) => format!("<{}{a}>", tag("body")),
            Part::MetaCharset(c, false) => format!("<meta charset=\"{c}\">"),
            Part::MetaCharset(c, true) => {
                format!("<meta http-equiv=\"Content-Type\" content=\"text/html; charset={c}\">")
            }
            Part::MetaCsp(i) => csp_meta(POLICIES[*i]),
            Part::Title(t) => format!("<title>{t}</title>"),
            Part::Script(a, t) => format!("<{}{a}>{t}</script>", tag("script")),
            Part::Style(t) => format!("<style>{t}</style>"),
            Part::Comment(t) => format!("<!--{t}-->"),
            Part::Cdata(t) => format!("<![CDATA[{t}]]>"),
            Part::Element(t, a, x) => format!("<{}{a}>{x}</{t}>", tag(t)),
            Part::Text(t) => t.clone(),
            Part::Raw(b) => {
                out.extend_from_slice(b);
                continue;
            }
            Part::Pad(n) => "x".repeat(*n),
        };
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// A document plus how it is served.
#[derive(Clone)]
struct Doc {
    bytes: Vec<u8>,
    header_charset: Option<&'static str>,
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Doc {{ bytes: {:?} ({} bytes), header_charset: {:?} }}",
            String::from_utf8_lossy(&self.bytes),
            self.bytes.len(),
            self.header_charset
        )
    }
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        prop::collection::vec(part(), 0..24),
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop::option::weighted(
            0.3,
            prop::sample::select(&["utf-8", "windows-1252", "shift_jis", "utf-16le"][..]),
        ),
    )
        .prop_map(|(parts, upper, bom, header_charset)| Doc {
            bytes: render(&parts, upper, bom),
            header_charset,
        })
}

/// Cut points (sorted, deduplicated) to split a body of `len` bytes.
fn splits(len: usize, cuts: &[prop::sample::Index]) -> Vec<usize> {
    let mut v: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut from = 0;
    for &c in cuts {
        out.push(Bytes::copy_from_slice(&bytes[from..c]));
        from = c;
    }
    out.push(Bytes::copy_from_slice(&bytes[from..]));
    out
}

fn header_encoding(doc: &Doc) -> Option<&'static encoding_rs::Encoding> {
    doc.header_charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
}

/// Runs the document rewriter over `chunks`; any error fails the property.
fn rewrite(doc: &Doc, chunks: Vec<Bytes>) -> Result<Vec<u8>, TestCaseError> {
    let mut rw = DocumentRewriter::new(DocumentOptions {
        script: script(),
        header_charset: header_encoding(doc),
        origin: Some(ORIGIN.to_owned()),
        endpoint: ENDPOINT.to_owned(),
        url: "https://app.test/prop".to_owned(),
    });
    let mut out = Vec::new();
    for c in chunks {
        let got = rw
            .push(c)
            .map_err(|e| TestCaseError::fail(format!("push failed: {e}")))?;
        out.extend_from_slice(&got);
    }
    let got = rw
        .finish()
        .map_err(|e| TestCaseError::fail(format!("finish failed: {e}")))?;
    out.extend_from_slice(&got);
    Ok(out)
}

/// What the rewriter must insert: `None` when the document is in an encoding
/// that is not ASCII-compatible (it then passes through untouched).
fn expected_insert(doc: &Doc) -> Option<String> {
    let head = &doc.bytes[..doc.bytes.len().min(PRESCAN_LEN)];
    let detected = charset::detect(header_encoding(doc), head);
    if !detected.encoding.is_ascii_compatible() {
        return None;
    }
    let mut s = String::new();
    if detected.source == Source::Meta {
        s.push_str(&format!("<meta charset=\"{}\">", detected.encoding.name()));
    }
    s.push_str(&script().html());
    Some(s)
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .collect()
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The first `<script` start tag (any case) of a page's own scripts.
fn first_page_script(out: &[u8], insert_at: usize, insert_len: usize) -> Option<usize> {
    let lower: Vec<u8> = out.to_ascii_lowercase();
    find_all(&lower, b"<script")
        .into_iter()
        .find(|&i| !(insert_at..insert_at + insert_len).contains(&i))
}

/// Checks every property of one rewrite against its input.
fn check_output(doc: &Doc, out: &[u8]) -> Result<(), TestCaseError> {
    let Some(insert) = expected_insert(doc) else {
        prop_assert_eq!(
            out,
            &doc.bytes[..],
            "a document in an encoding that is not ASCII-compatible passes through"
        );
        return Ok(());
    };
    let at = find_all(out, insert.as_bytes());
    prop_assert_eq!(at.len(), 1, "the hook appears exactly once");
    let at = at[0];
    if let Some(first) = first_page_script(out, at, insert.len()) {
        prop_assert!(
            at < first,
            "hook at {} after the page's first <script> at {}",
            at,
            first
        );
    }
    // Remove the insert, undo the documented <meta> CSP patch: the input.
    let mut back = out[..at].to_vec();
    back.extend_from_slice(&out[at + insert.len()..]);
    for p in POLICIES {
        let patched = patched_policy(p);
        if patched != *p {
            back = replace_all(&back, csp_meta(&patched).as_bytes(), csp_meta(p).as_bytes());
        }
    }
    prop_assert!(
        back == doc.bytes,
        "output minus the hook is not the input:\n in: {:?}\nout: {:?}",
        String::from_utf8_lossy(&doc.bytes),
        String::from_utf8_lossy(out)
    );
    Ok(())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Brotli through the injector's own dependency stack is decode-only, so
/// the encoder side uses async-compression's encoder on a Tokio runtime.
fn brotli(rt: &tokio::runtime::Runtime, data: &[u8]) -> Vec<u8> {
    use async_compression::tokio::bufread::BrotliEncoder;
    use tokio::io::AsyncReadExt;
    rt.block_on(async {
        let mut enc = BrotliEncoder::new(data);
        let mut out = Vec::new();
        enc.read_to_end(&mut out).await.unwrap();
        out
    })
}

/// The body through `Injector::transform` with `Content-Encoding: coding`:
/// the concatenated data items, and the error item that ended it, if any.
fn transform_encoded(
    rt: &tokio::runtime::Runtime,
    doc: &Doc,
    coding: &str,
    chunks: Vec<Bytes>,
) -> (Vec<u8>, Option<String>) {
    let inj = Injector::with_hook(hook());
    let mut headers = HeaderMap::new();
    let ct = match doc.header_charset {
        Some(c) => format!("text/html; charset={c}"),
        None => "text/html".to_owned(),
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
    headers.insert(CONTENT_ENCODING, HeaderValue::from_str(coding).unwrap());
    let cfg = HookConfig::new("propsid0123456789", Scope::Document, 1.7e12);
    rt.block_on(async {
        let t = inj.transform(
            &Kind::Document,
            &mut headers,
            stream::iter(chunks.into_iter().map(Ok)).boxed(),
            &cfg,
            Target {
                url: "https://app.test/prop",
                origin: Some(ORIGIN),
            },
        );
        let mut body = t.body;
        let mut out = Vec::new();
        let mut err = None;
        while let Some(item) = body.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        // After an error item the stream has ended.
        assert!(body.next().await.is_none(), "items after the error");
        (out, err)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn patched_policies_are_distinct_so_the_patch_can_be_undone() {
    let patched: Vec<String> = POLICIES.iter().map(|p| patched_policy(p)).collect();
    for (i, a) in patched.iter().enumerate() {
        for (j, b) in patched.iter().enumerate() {
            assert!(i == j || a != b, "{a}");
        }
        assert!(!a.contains('"') && !a.contains('&'));
    }
    // Some need the patch, some do not: both paths are exercised.
    assert!(POLICIES.iter().zip(&patched).any(|(p, q)| p == q));
    assert!(POLICIES.iter().zip(&patched).any(|(p, q)| p != q));
}

/// Found by the chunking property: a `<meta>` CSP after `<body>` (which
/// browsers ignore) was patched when it arrived in the same chunk as
/// `<body>` and left alone when it came later.
#[test]
fn a_meta_csp_after_the_body_started_is_left_alone_in_every_chunking() {
    let doc = Doc {
        bytes: format!(
            "<head><title>t</title></head><body><p>x</p>{}",
            csp_meta(POLICIES[0])
        )
        .into_bytes(),
        header_charset: Some("utf-8"),
    };
    let want = format!(
        "<head>{}<title>t</title></head><body><p>x</p>{}",
        script().html(),
        csp_meta(POLICIES[0])
    );
    for size in [1, 2, 7, 4096] {
        let chunks: Vec<Bytes> = doc.bytes.chunks(size).map(Bytes::copy_from_slice).collect();
        let out = rewrite(&doc, chunks).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want, "{size}-byte chunks");
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn generated_documents_keep_every_byte_and_get_one_hook_first(
        doc in doc(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let whole = rewrite(&doc, vec![Bytes::copy_from_slice(&doc.bytes)])?;
        check_output(&doc, &whole)?;
        let split = rewrite(&doc, chunked(&doc.bytes, &splits(doc.bytes.len(), &cuts)))?;
        prop_assert!(split == whole, "output depends on the chunk split {:?}", cuts);
        let ones: Vec<Bytes> = doc.bytes.chunks(1).map(Bytes::copy_from_slice).collect();
        let bytewise = rewrite(&doc, ones)?;
        prop_assert!(
            bytewise == whole,
            "1-byte chunks give other output:\n  whole: {:?}\nbytewise: {:?}",
            String::from_utf8_lossy(&whole),
            String::from_utf8_lossy(&bytewise)
        );
    }

    #[test]
    fn arbitrary_bytes_pass_through_without_loss(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        header_charset in prop::option::of(prop::sample::select(&["utf-8", "windows-1252", "utf-16be"][..])),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let doc = Doc { bytes, header_charset };
        let whole = rewrite(&doc, vec![Bytes::copy_from_slice(&doc.bytes)])?;
        check_output(&doc, &whole)?;
        let split = rewrite(&doc, chunked(&doc.bytes, &splits(doc.bytes.len(), &cuts)))?;
        prop_assert!(split == whole, "output depends on the chunk split {:?}", cuts);
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn compressed_bodies_decode_or_fail_loudly_when_truncated(
        doc in doc(),
        br in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let rt = runtime();
        let (coding, packed) = if br {
            ("br", brotli(&rt, &doc.bytes))
        } else {
            ("gzip", gzip(&doc.bytes))
        };
        let plain = rewrite(&doc, vec![Bytes::copy_from_slice(&doc.bytes)])?;
        // Whole: same output as the plain body, no error.
        let (out, err) = transform_encoded(
            &rt,
            &doc,
            coding,
            chunked(&packed, &splits(packed.len(), &cuts)),
        );
        prop_assert_eq!(err, None);
        prop_assert!(out == plain, "{} body rewritten differently from the plain one", coding);
        // Truncated anywhere before its end: an error item naming the coding.
        let at = cut.index(packed.len());
        let (out, err) = transform_encoded(
            &rt,
            &doc,
            coding,
            chunked(&packed[..at], &splits(at, &cuts)),
        );
        let Some(err) = err else {
            return Err(TestCaseError::fail(format!(
                "{coding} body cut at {at} of {} ended without an error ({} bytes out)",
                packed.len(),
                out.len()
            )));
        };
        prop_assert!(err.contains(&format!("{coding} decoding failed")), "{}", err);
        prop_assert!(out.len() <= plain.len());
    }
}
