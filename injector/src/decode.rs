//! Undoes `Content-Encoding` (gzip, br, deflate, zstd, and chains of them) as
//! a stream, so a compressed page can be rewritten chunk by chunk. The
//! rewritten body is sent as identity: the caller removes `Content-Encoding`
//! and `Content-Length`.
//!
//! A body that fails to decode ends with an `io::Error` item (corrupt data,
//! or a stream cut before its end marker), never with a hang or a silently
//! short body.
//!
//! Hostile bodies are bounded: zstd frames may ask for a window of at most
//! 8 MiB ([`ZSTD_WINDOW_LOG_MAX`], RFC 9659 section 3), so no decoder
//! allocates more; and each decoder's output is cut off with an error once it
//! passes the per-response bound (`max` in [`decode`]; the proxy's
//! `--max-decoded-bytes`, default [`DEFAULT_MAX_DECODED`]), so a
//! decompression bomb costs at most that much work.

use std::io;

use async_compression::tokio::bufread::{
    BrotliDecoder, DeflateDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder,
};
use async_compression::zstd::DParameter;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use http::header::{HeaderMap, CONTENT_ENCODING};
use tokio_util::io::{ReaderStream, StreamReader};

/// Read size of the decoders' output chunks.
const CHUNK: usize = 64 * 1024;

/// Largest zstd window accepted, as a power of two: 2^23 = 8 MiB, the limit
/// RFC 9659 sets for `Content-Encoding: zstd` (libzstd's own default would
/// allow 2^27 = 128 MiB per decoder).
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Default bound on the decoded bytes of one response (256 MiB), per
/// decoding stage.
pub const DEFAULT_MAX_DECODED: u64 = 256 * 1024 * 1024;

/// One content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` / `x-gzip` (several members allowed).
    Gzip,
    /// `deflate`: zlib-wrapped as RFC 9110 says, or raw deflate as some
    /// servers send it (told apart by the zlib header, as browsers do).
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`.
    Zstd,
}

impl Coding {
    /// The token as it appears in `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// A `Content-Encoding` this crate cannot decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported Content-Encoding `{0}`")]
pub struct UnsupportedCoding(pub String);

/// The codings applied to a body, in the order they were applied (as listed
/// in the `Content-Encoding` header(s)); `identity` is skipped.
pub fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, UnsupportedCoding> {
    let mut out = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| UnsupportedCoding(String::from_utf8_lossy(value.as_bytes()).into()))?;
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let c = match token.to_ascii_lowercase().as_str() {
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                "identity" => continue,
                _ => return Err(UnsupportedCoding(token.to_owned())),
            };
            out.push(c);
        }
    }
    Ok(out)
}

/// A boxed stream of body chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Decodes `body`, undoing `codings` from the last applied to the first.
///
/// Each decoder's output is limited to `max` bytes: past that, the stream
/// ends with an `io::Error` (kind `InvalidData`) naming the coding and the
/// bound.
pub fn decode(codings: &[Coding], body: ByteStream, max: u64) -> ByteStream {
    codings
        .iter()
        .rev()
        .fold(body, |s, &c| bounded(c, decode_one(c, s), max))
}

/// Passes `body` through until more than `max` bytes went by, then ends it
/// with an error.
fn bounded(coding: Coding, body: ByteStream, max: u64) -> ByteStream {
    body.scan((0u64, false), move |(seen, stopped), item| {
        if *stopped {
            return std::future::ready(None);
        }
        let out = item.and_then(|chunk| {
            *seen = seen.saturating_add(chunk.len() as u64);
            if *seen <= max {
                return Ok(chunk);
            }
            *stopped = true;
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} decoding stopped: the decoded body exceeds {max} bytes \
                     (a decompression bomb?); raise --max-decoded-bytes to allow more",
                    coding.as_str()
                ),
            ))
        });
        std::future::ready(Some(out))
    })
    .boxed()
}

fn decode_one(coding: Coding, body: ByteStream) -> ByteStream {
    let tag = move |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("{} decoding failed: {e}", coding.as_str()),
        )
    };
    match coding {
        Coding::Gzip => {
            let mut d = GzipDecoder::new(StreamReader::new(body));
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(tag).boxed()
        }
        Coding::Brotli => {
            ReaderStream::with_capacity(BrotliDecoder::new(StreamReader::new(body)), CHUNK)
                .map_err(tag)
                .boxed()
        }
        Coding::Zstd => {
            let mut d = ZstdDecoder::with_params(
                StreamReader::new(body),
                &[DParameter::window_log_max(ZSTD_WINDOW_LOG_MAX)],
            );
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(tag).boxed()
        }
        Coding::Deflate => {
            // Look at the first two bytes to tell zlib from raw deflate, then
            // put them back in front of the rest.
            let fut = async move {
                let mut body = body;
                let mut head: Vec<Bytes> = Vec::new();
                let mut have = 0;
                while have < 2 {
                    match body.next().await {
                        Some(Ok(b)) => {
                            have += b.len();
                            head.push(b);
                        }
                        Some(Err(e)) => return Err(e),
                        None => break,
                    }
                }
                let first: Vec<u8> = head
                    .iter()
                    .flat_map(|b| b.iter().copied())
                    .take(2)
                    .collect();
                let zlib = first.len() == 2
                    && first[0] & 0x0f == 8
                    && (u16::from(first[0]) << 8 | u16::from(first[1])) % 31 == 0;
                let joined: ByteStream = stream::iter(head.into_iter().map(Ok)).chain(body).boxed();
                let reader = StreamReader::new(joined);
                let out: ByteStream = if zlib {
                    ReaderStream::with_capacity(ZlibDecoder::new(reader), CHUNK).boxed()
                } else {
                    ReaderStream::with_capacity(DeflateDecoder::new(reader), CHUNK).boxed()
                };
                Ok(out)
            };
            stream::once(fut).try_flatten().map_err(tag).boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_codings_in_order() {
        let mut h = HeaderMap::new();
        h.append(CONTENT_ENCODING, HeaderValue::from_static("gzip, identity"));
        h.append(CONTENT_ENCODING, HeaderValue::from_static("BR"));
        assert_eq!(codings(&h), Ok(vec![Coding::Gzip, Coding::Brotli]));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("compress"));
        assert_eq!(codings(&h), Err(UnsupportedCoding("compress".into())));
        assert_eq!(codings(&HeaderMap::new()), Ok(vec![]));
    }
}
