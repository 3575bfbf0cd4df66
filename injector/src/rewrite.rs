//! Streaming HTML rewriting with `lol_html`: puts the hook `<script>` first in
//! `<head>` and patches `<meta http-equiv="Content-Security-Policy">`.
//!
//! Where the script goes:
//! - `<head>` present: first child of the first `<head>`;
//! - no `<head>` but another element: right before the first element other
//!   than `<html>` (the parser then opens an implied `<head>` for it);
//! - no element at all (empty document, only a doctype, comments or text):
//!   at the end.
//!
//! So it always precedes every page script, and never precedes a doctype
//! (which would switch the page to quirks mode). Text before the first
//! element (a broken document) is not looked at: watching every text chunk
//! would cost the parser most of its speed.
//!
//! The body is held back only while the encoding is sniffed (a BOM, and when
//! the header names no charset, the first 1024 bytes for a `<meta charset>`).
//! When the charset came from a `<meta>`, a `<meta charset>` naming it goes
//! right before the script, so the declaration stays within the first 1024
//! bytes the browser's own prescan reads. Documents in encodings that are not
//! ASCII-compatible (UTF-16, ISO-2022-JP) pass through untouched with a log
//! line. Once the body has started (`<body>`, or any element that cannot be
//! in the head) nothing more needs rewriting and the rest of the document
//! passes through without parsing.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use encoding_rs::Encoding;
use lol_html::errors::RewritingError;
use lol_html::html_content::{ContentType, DocumentEnd};
use lol_html::{element, end, AsciiCompatibleEncoding, MemorySettings, OutputSink};

use crate::charset::{self, Source, PRESCAN_LEN};
use crate::csp;
use crate::hook::Script;
use crate::stream::Transform;

/// Most memory the HTML parser may buffer (one huge tag); beyond it the rest
/// of the document passes through unmodified.
pub const MAX_PARSER_MEMORY: usize = 16 * 1024 * 1024;

/// What the document rewriter needs.
#[derive(Debug, Clone)]
pub struct DocumentOptions {
    /// The script to inject.
    pub script: Script,
    /// The charset named by the `Content-Type` header, if any.
    pub header_charset: Option<&'static Encoding>,
    /// Origin of the document (`scheme://host[:port]`), for CSP matching.
    pub origin: Option<String>,
    /// Path of the trace endpoint, allowed in `<meta>` CSPs.
    pub endpoint: String,
    /// URL of the document (for log lines).
    pub url: String,
}

type Rewriter = lol_html::send::HtmlRewriter<'static, Sink>;

struct Sink(Arc<Mutex<Vec<u8>>>);

impl OutputSink for Sink {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(chunk);
        }
    }
}

#[derive(Default)]
struct Flags {
    injected: AtomicBool,
    body: AtomicBool,
}

enum Phase {
    Sniff(Vec<u8>),
    Rewrite(Box<Rewriter>),
    Raw,
    Finished,
}

/// The streaming document transform (see the module docs).
pub struct DocumentRewriter {
    opts: DocumentOptions,
    phase: Phase,
    out: Arc<Mutex<Vec<u8>>>,
    flags: Arc<Flags>,
}

impl DocumentRewriter {
    /// A rewriter for one document.
    pub fn new(opts: DocumentOptions) -> Self {
        DocumentRewriter {
            opts,
            phase: Phase::Sniff(Vec::new()),
            out: Arc::new(Mutex::new(Vec::new())),
            flags: Arc::new(Flags::default()),
        }
    }

    /// Whether the script has been inserted so far.
    pub fn injected(&self) -> bool {
        self.flags.injected.load(Ordering::Relaxed)
    }

    fn sniff_len(&self) -> usize {
        if self.opts.header_charset.is_some() {
            3
        } else {
            PRESCAN_LEN
        }
    }

    fn take_out(&self) -> Vec<u8> {
        self.out
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default()
    }

    /// Picks the encoding from the sniffed bytes and starts the rewriter (or
    /// decides to pass through); then processes the sniffed bytes.
    fn start(&mut self, head: Vec<u8>) -> io::Result<Vec<u8>> {
        let detected = charset::detect(self.opts.header_charset, &head);
        let Some(enc) = AsciiCompatibleEncoding::new(detected.encoding) else {
            tracing::warn!(
                url = %self.opts.url,
                "document is in {} (not ASCII-compatible): passed through without the hook",
                detected.encoding.name()
            );
            self.phase = Phase::Raw;
            return Ok(head);
        };
        let mut insert = String::new();
        if detected.source == Source::Meta {
            insert.push_str(&format!("<meta charset=\"{}\">", detected.encoding.name()));
        }
        insert.push_str(&self.opts.script.html());
        let rewriter = build(
            enc,
            Arc::from(insert),
            &self.opts,
            self.flags.clone(),
            self.out.clone(),
        );
        self.phase = Phase::Rewrite(Box::new(rewriter));
        // A byte order mark stays the first bytes of the output: the parser
        // would see it as text and the script would go before it.
        let bom = match detected.source {
            Source::Bom => charset::from_bom(&head).map_or(0, |(_, n)| n),
            _ => 0,
        };
        let mut out = head[..bom].to_vec();
        out.extend(self.feed(&head[bom..])?);
        Ok(out)
    }

    /// Writes `data` to the rewriter; returns the output so far.
    fn feed(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        let Phase::Rewrite(mut rw) = std::mem::replace(&mut self.phase, Phase::Raw) else {
            return Ok(data.to_vec());
        };
        if let Err(e) = rw.write(data) {
            return self.bail_out(e);
        }
        if self.flags.body.load(Ordering::Relaxed) {
            // `<body>` started: nothing left to rewrite. Ending the rewriter
            // emits any bytes it still holds (a partial tag) as they came, and
            // the phase stays `Raw`.
            if let Err(e) = rw.end() {
                return self.bail_out(e);
            }
        } else {
            self.phase = Phase::Rewrite(rw);
        }
        Ok(self.take_out())
    }

    fn bail_out(&mut self, e: RewritingError) -> io::Result<Vec<u8>> {
        match e {
            RewritingError::MemoryLimitExceeded(_) | RewritingError::ContentHandlerError(_) => {
                // Graceful bail-out: the rewriter flushed what it held, as is.
                tracing::warn!(url = %self.opts.url, "HTML rewriting stopped ({e}); the rest passes through unmodified");
                self.phase = Phase::Raw;
                Ok(self.take_out())
            }
            other => {
                self.phase = Phase::Finished;
                Err(io::Error::other(format!(
                    "HTML rewriting of {} failed: {other}",
                    self.opts.url
                )))
            }
        }
    }
}

impl Transform for DocumentRewriter {
    fn push(&mut self, chunk: Bytes) -> io::Result<Bytes> {
        let need = self.sniff_len();
        match &mut self.phase {
            Phase::Sniff(buf) => {
                buf.extend_from_slice(&chunk);
                if buf.len() < need {
                    return Ok(Bytes::new());
                }
                let head = std::mem::take(buf);
                self.start(head).map(Bytes::from)
            }
            Phase::Rewrite(_) => self.feed(&chunk).map(Bytes::from),
            Phase::Raw => Ok(chunk),
            Phase::Finished => Ok(Bytes::new()),
        }
    }

    fn finish(&mut self) -> io::Result<Bytes> {
        let mut out = Vec::new();
        if let Phase::Sniff(buf) = &mut self.phase {
            let head = std::mem::take(buf);
            out = self.start(head)?;
        }
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Rewrite(rw) => {
                let res = rw.end();
                self.phase = Phase::Raw;
                match res {
                    Ok(()) => out.extend(self.take_out()),
                    Err(e) => out.extend(self.bail_out(e)?),
                }
                self.phase = Phase::Finished;
            }
            Phase::Sniff(_) | Phase::Raw | Phase::Finished => {}
        }
        Ok(out.into())
    }
}

/// Elements that keep the parser in the head; any other element starts the
/// body (explicitly or implied), after which `<meta>` CSPs no longer count.
const IN_HEAD: &[&str] = &[
    "html", "head", "title", "base", "link", "meta", "style", "script", "noscript", "template",
    "basefont", "bgsound", "noframes",
];

fn build(
    enc: AsciiCompatibleEncoding,
    insert: Arc<str>,
    opts: &DocumentOptions,
    flags: Arc<Flags>,
    out: Arc<Mutex<Vec<u8>>>,
) -> Rewriter {
    let (f1, f2, f4) = (flags.clone(), flags.clone(), flags);
    let (i1, i3) = (insert.clone(), insert);
    let hash = opts.script.csp_hash().to_owned();
    let origin = opts.origin.clone();
    let endpoint = opts.endpoint.clone();
    let settings = lol_html::send::Settings::new_send()
        .with_encoding(enc)
        .with_memory_settings(
            MemorySettings::new()
                .with_max_allowed_memory_usage(MAX_PARSER_MEMORY)
                .with_graceful_bail_out_on_memory_limit_exceeded(true),
        )
        .with_graceful_bail_out_on_content_handler_error(true)
        .append_element_content_handler(element!("*", move |el: &mut lol_html::send::Element| {
            let name = el.tag_name();
            if !f1.injected.load(Ordering::Relaxed) {
                if name == "html" {
                    return Ok(());
                }
                if name == "head" {
                    el.prepend(&i1, ContentType::Html);
                } else {
                    el.before(&i1, ContentType::Html);
                }
                f1.injected.store(true, Ordering::Relaxed);
            }
            if !IN_HEAD.contains(&name.as_str()) {
                f1.body.store(true, Ordering::Relaxed);
            }
            Ok(())
        }))
        .append_element_content_handler(element!(
            "meta[http-equiv]",
            move |el: &mut lol_html::send::Element| {
                // A `<meta>` CSP counts only in the head: once the body has
                // started (in this chunk or an earlier one) it is left alone,
                // so the output does not depend on how the body is chunked.
                if f2.body.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let is_csp = el
                    .get_attribute("http-equiv")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-security-policy"));
                if !is_csp {
                    return Ok(());
                }
                if let Some(policy) = el.get_attribute("content") {
                    let patch = csp::Patch {
                        script_hash: Some(&hash),
                        endpoint: Some(csp::Endpoint {
                            origin: origin.as_deref(),
                            path: &endpoint,
                        }),
                    };
                    let patched = csp::patch_policy(&policy, &patch);
                    if patched != policy {
                        el.set_attribute("content", &patched)?;
                    }
                }
                Ok(())
            }
        ))
        .append_document_content_handler(end!(move |e: &mut DocumentEnd| {
            if !f4.injected.load(Ordering::Relaxed) {
                e.append(&i3, ContentType::Html);
                f4.injected.store(true, Ordering::Relaxed);
            }
            Ok(())
        }));
    lol_html::send::HtmlRewriter::new(settings, Sink(out))
}
