//! Turning a synchronous chunk transform into a body stream.
//!
//! [`Transform`] is the chunk-in, chunks-out core of the document and worker
//! rewriters; [`drive`] runs one over a [`ByteStream`], forwarding upstream
//! errors (with a log line) and ending the stream after any error, so a
//! broken body is always cut short visibly rather than hanging.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};

use crate::decode::ByteStream;

/// A body stream that is also `Sync` (what `http_body_util::combinators::BoxBody` needs).
pub type SyncByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + Sync + 'static>>;

/// A chunk-by-chunk body transform.
pub trait Transform: Send + Unpin + 'static {
    /// Consumes one input chunk, returns the output ready so far (may be empty).
    fn push(&mut self, chunk: Bytes) -> io::Result<Bytes>;
    /// The input ended: returns the rest of the output.
    fn finish(&mut self) -> io::Result<Bytes>;
}

struct Driver<T> {
    body: ByteStream,
    transform: T,
    url: String,
    done: bool,
}

impl<T: Transform> Stream for Driver<T> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let item = match this.body.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.transform.push(chunk),
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(url = %this.url, "response body cut short: {e}");
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.transform.finish()
                }
            };
            match item {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Poll::Ready(Some(Ok(out))),
                Err(e) => {
                    tracing::warn!(url = %this.url, "response body cut short: {e}");
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

/// Runs `transform` over `body`; `url` names the body in log lines.
pub fn drive<T: Transform>(body: ByteStream, transform: T, url: &str) -> SyncByteStream {
    sync(
        Driver {
            body,
            transform,
            url: url.to_owned(),
            done: false,
        }
        .boxed(),
    )
}

/// Makes a `Send` stream `Sync` by putting it behind a `Mutex` that is only
/// ever reached through `&mut` (so it never blocks).
pub fn sync(body: ByteStream) -> SyncByteStream {
    Box::pin(Exclusive(Mutex::new(body)))
}

struct Exclusive(Mutex<ByteStream>);

impl Stream for Exclusive {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.poll_next_unpin(cx)
    }
}
