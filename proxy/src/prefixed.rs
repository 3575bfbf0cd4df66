//! A stream with some already-read bytes put back in front (used after
//! peeking at the first bytes of a CONNECT tunnel).

use std::pin::Pin;
use std::task::Poll;

use bytes::{Buf, Bytes};

use crate::forward::{forward_write, read_with};

/// `prefix` is read first, then `inner`; writes go straight to `inner`.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    /// Puts `prefix` back in front of `inner`.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Prefixed { prefix, inner }
    }
}

read_with!(
    Prefixed,
    poll_read(|this, cx, buf| {
        if this.prefix.has_remaining() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    })
);

forward_write!(Prefixed.inner);
