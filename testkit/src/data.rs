//! Deterministic pseudo-random bytes and streamed bodies of them, so a test
//! can send or check a large body end to end without holding it.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use sha2::{Digest, Sha256};

use crate::origin::TestBody;

/// The size of one [`chunk`] of a [`stream_body`].
pub const CHUNK: usize = 64 * 1024;

/// Chunk `i` of the stream seeded by `seed`: `len` xorshift64 bytes.
/// `chunk(0, s, n)` is "the `n` bytes for seed `s`" where a test needs only
/// one block.
pub fn chunk(seed: u64, i: u64, len: usize) -> Bytes {
    let mut x = seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ 0xD1B5_4A32_D192_ED03;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// SHA-256 hex of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// SHA-256 hex of the first `total` bytes of the stream seeded by `seed`
/// (what [`stream_body`] sends).
pub fn stream_sha256(seed: u64, total: u64) -> String {
    let mut h = Sha256::new();
    let mut sent = 0u64;
    let mut i = 0;
    while sent < total {
        let n = (total - sent).min(CHUNK as u64) as usize;
        h.update(chunk(seed, i, n));
        sent += n as u64;
        i += 1;
    }
    hex::encode(h.finalize())
}

/// A streamed body of `total` bytes of the stream seeded by `seed`, in
/// [`CHUNK`]s generated on the fly. With `cut_after`, the stream ends early
/// after that many bytes (an origin that promised `total` bytes and broke
/// off).
pub fn stream_body(seed: u64, total: u64, cut_after: Option<u64>) -> TestBody {
    let end = cut_after.unwrap_or(total).min(total);
    let s = futures_util::stream::unfold((0u64, 0u64), move |(sent, i)| async move {
        if sent >= end {
            return None;
        }
        let n = (end - sent).min(CHUNK as u64) as usize;
        Some((
            Ok::<_, Infallible>(Frame::data(chunk(seed, i, n))),
            (sent + n as u64, i + 1),
        ))
    });
    BodyExt::boxed(StreamBody::new(s))
}
