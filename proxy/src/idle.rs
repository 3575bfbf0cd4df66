//! Idle timers: [`IdleBody`] fails a body that makes no progress for the
//! idle timeout while its reader waits for it, and [`WriteIdle`] fails a
//! client connection that accepts no bytes for as long (a client that stopped
//! reading), so a stalled peer cannot pin an exchange, and the connections on
//! both sides, forever. [`Activity`] records when a body last moved, for the
//! response-head timer.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::types::{Body, BodyError};

/// Which peer stopped sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalled {
    /// The client stopped sending its request body.
    Client,
    /// The origin stopped sending its response body.
    Upstream,
}

/// A body made no progress for the idle timeout.
#[derive(Debug, Clone, thiserror::Error)]
pub struct IdleTimeout {
    /// Who stopped sending.
    pub stalled: Stalled,
    /// The limit that was exceeded.
    pub after: Duration,
}

impl fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.stalled {
            Stalled::Client => "the client sent no request body bytes",
            Stalled::Upstream => "the upstream sent no response body bytes",
        };
        write!(
            f,
            "{who} for {:?}; raise the limit with --idle-timeout",
            self.after
        )
    }
}

/// When a body last made progress (shared between the body and a waiter).
#[derive(Debug)]
pub struct Activity {
    base: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    /// Activity starting now.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    /// Records progress now.
    pub fn touch(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// The last progress (creation if none), to the millisecond.
    pub fn last(&self) -> Instant {
        self.base + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// Fails with [`IdleTimeout`] when `inner` stays pending for `idle` while
/// being polled; every data frame restarts the timer.
pub struct IdleBody {
    inner: Body,
    idle: Duration,
    stalled: Stalled,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
    activity: Option<Arc<Activity>>,
}

impl IdleBody {
    /// Wraps `inner`; `activity`, if given, is touched on every frame.
    pub fn new(
        inner: Body,
        idle: Duration,
        stalled: Stalled,
        activity: Option<Arc<Activity>>,
    ) -> Self {
        IdleBody {
            inner,
            idle,
            stalled,
            sleep: Box::pin(tokio::time::sleep(idle)),
            armed: false,
            activity,
        }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.armed = false;
                if let Some(a) = &this.activity {
                    a.touch();
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if !this.armed {
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.sleep.as_mut().reset(deadline);
                    this.armed = true;
                }
                match this.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.armed = false;
                        Poll::Ready(Some(Err(Box::new(IdleTimeout {
                            stalled: this.stalled,
                            after: this.idle,
                        }))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A client stream whose writes fail with `TimedOut` once one stays pending
/// (the client reads nothing) for the idle timeout. Reads are untouched: a
/// quiet client is the header timeout's business.
pub struct WriteIdle<S> {
    inner: S,
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
}

impl<S> WriteIdle<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, idle: Duration) -> Self {
        WriteIdle {
            inner,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            armed: false,
        }
    }

    /// Maps a pending write to a `TimedOut` error once it has been pending
    /// for the idle timeout; any progress disarms the timer.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.armed {
                    let deadline = tokio::time::Instant::now() + self.idle;
                    self.sleep.as_mut().reset(deadline);
                    self.armed = true;
                }
                match self.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the client read nothing for {:?} (--idle-timeout)",
                            self.idle
                        ),
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteIdle<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteIdle<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test]
    async fn a_silent_body_fails_after_the_idle_timeout_and_a_moving_one_does_not() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BodyError>>(1);
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
            );
        let idle = Duration::from_millis(400);
        let activity = Activity::new();
        let mut body = IdleBody::new(
            StreamBody::new(stream).boxed(),
            idle,
            Stalled::Upstream,
            Some(activity.clone()),
        );
        // Frames every 150 ms for 900 ms in all: longer than the idle limit,
        // but no single pause reaches it.
        let feeder = tokio::spawn(async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                tx.send(Ok(Frame::data(Bytes::from_static(b"x"))))
                    .await
                    .unwrap();
            }
            // Then silence, holding the sender open.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(tx);
        });
        for _ in 0..6 {
            let f = body.frame().await.unwrap().unwrap();
            assert_eq!(f.into_data().unwrap(), "x");
        }
        assert!(activity.last() > activity.base, "frames are recorded");
        let silent_from = Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        let waited = silent_from.elapsed();
        let timeout = err.downcast_ref::<IdleTimeout>().expect("an IdleTimeout");
        assert_eq!(timeout.stalled, Stalled::Upstream);
        assert!(waited >= idle, "failed after {waited:?}, before the limit");
        assert!(err.to_string().contains("--idle-timeout"), "{err}");
        feeder.abort();
    }
}
