//! [`ReadBuffered`]: large socket reads under a TLS stream.
//!
//! rustls asks its transport for at most 4 KiB per read (its deframer's
//! `READ_SIZE`), so a bulk transfer costs one `read(2)` per 4 KiB and
//! several per TLS record. Wrapped in [`ReadBuffered`], the socket is read
//! [`READ_BUF`] bytes at a time and rustls is served from memory: one system
//! call per 64 KiB instead of sixteen, for one extra copy of the ciphertext.
//! Writes pass straight through. The buffer is allocated on the first read
//! and never holds more than what the peer already sent.

use std::pin::Pin;
use std::task::Poll;

use tokio::io::ReadBuf;

use crate::forward::{forward_write, read_with};

/// Bytes read from the socket at a time.
pub const READ_BUF: usize = 64 * 1024;

/// A stream whose reads are served from a [`READ_BUF`]-byte buffer.
#[derive(Debug)]
pub struct ReadBuffered<S> {
    inner: S,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl<S> ReadBuffered<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        ReadBuffered {
            inner,
            buf: Box::default(),
            pos: 0,
            end: 0,
        }
    }
}

read_with!(
    ReadBuffered,
    poll_read(|this, cx, out| {
        if this.pos == this.end {
            // A caller asking for at least a buffer's worth reads directly.
            if out.remaining() >= READ_BUF {
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            if this.buf.is_empty() {
                this.buf = vec![0u8; READ_BUF].into_boxed_slice();
            }
            let mut rb = ReadBuf::new(&mut this.buf);
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            this.pos = 0;
            this.end = rb.filled().len();
            if this.end == 0 {
                return Poll::Ready(Ok(()));
            }
        }
        let n = out.remaining().min(this.end - this.pos);
        out.put_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    })
);

forward_write!(ReadBuffered.inner);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_see_every_byte_in_order_and_the_end() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(10_000) {
                b.write_all(chunk).await.unwrap();
            }
        });
        let mut r = ReadBuffered::new(a);
        let mut got = Vec::new();
        let mut small = [0u8; 4096];
        let mut did_big = false;
        loop {
            let n = r.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
            if got.len() >= 100_000 && !did_big {
                did_big = true;
                // A large read straight into the caller's buffer in between.
                let mut big = vec![0u8; READ_BUF * 2];
                let n = r.read(&mut big).await.unwrap();
                got.extend_from_slice(&big[..n]);
            }
        }
        writer.await.unwrap();
        assert_eq!(got, data);
    }
}
