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

use tokio::time::Sleep;

use crate::forward::{forward_read, forward_write, wrap_body};
use crate::types::Body;

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

/// The timer of a wait that may not last the idle timeout: armed by the
/// first pending poll, disarmed by progress.
struct IdleTimer {
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
}

impl IdleTimer {
    fn new(idle: Duration) -> Self {
        IdleTimer {
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            armed: false,
        }
    }

    /// Progress was made: the next pending poll starts a fresh wait.
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// The inner poll is pending: arms the timer if it is not running and
    /// resolves once the wait has lasted the idle timeout.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.armed {
            let deadline = tokio::time::Instant::now() + self.idle;
            self.sleep.as_mut().reset(deadline);
            self.armed = true;
        }
        self.sleep.as_mut().poll(cx)
    }
}

/// Fails with [`IdleTimeout`] when `inner` stays pending for `idle` while
/// being polled; every data frame restarts the timer.
pub struct IdleBody {
    inner: Body,
    timer: IdleTimer,
    stalled: Stalled,
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
            timer: IdleTimer::new(idle),
            stalled,
            activity,
        }
    }
}

wrap_body!(
    IdleBody,
    inner inner,
    poll_frame(|this, cx| {
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer.disarm();
                if let Some(a) = &this.activity {
                    a.touch();
                }
                Poll::Ready(frame)
            }
            Poll::Pending => match this.timer.poll_expired(cx) {
                Poll::Ready(()) => {
                    this.timer.disarm();
                    Poll::Ready(Some(Err(Box::new(IdleTimeout {
                        stalled: this.stalled,
                        after: this.timer.idle,
                    }))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    })
);

/// A client stream whose writes fail with `TimedOut` once one stays pending
/// (the client reads nothing) for the idle timeout. Reads are untouched: a
/// quiet client is the header timeout's business.
pub struct WriteIdle<S> {
    inner: S,
    timer: IdleTimer,
}

impl<S> WriteIdle<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, idle: Duration) -> Self {
        WriteIdle {
            inner,
            timer: IdleTimer::new(idle),
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
                self.timer.disarm();
                Poll::Ready(r)
            }
            Poll::Pending => match self.timer.poll_expired(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the client read nothing for {:?} (--idle-timeout)",
                        self.timer.idle
                    ),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

forward_read!(WriteIdle.inner);
forward_write!(WriteIdle.inner, then watch);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BodyError;
    use bytes::Bytes;
    use http_body::Frame;
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
