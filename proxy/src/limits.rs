//! Bounds on waits and counts that no single exchange owns:
//! - [`Counted`]: a client connection holding one of `--max-connections`
//!   permits for as long as its socket lives (through CONNECT tunnels and
//!   WebSocket upgrades too); connections beyond the limit get a `503`
//!   naming the option ([`refuse_connection`]);
//! - [`relay`]: the byte copy of raw CONNECT tunnels and WebSocket relays,
//!   ended after `--tunnel-idle-timeout` without a byte either way;
//! - [`InFlight`]: the open requests of an HTTP/2 client connection, so an
//!   idle one can be closed after `--client-idle-timeout`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::forward::{forward_read, forward_write, read_with, wrap_body};
use crate::idle::Activity;
use crate::types::Body;

/// A stream that holds a connection permit until it is dropped.
pub struct Counted<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
}

impl<S> Counted<S> {
    /// Wraps `inner`, keeping `permit` as long as it lives.
    pub fn new(inner: S, permit: OwnedSemaphorePermit) -> Self {
        Counted {
            inner,
            _permit: permit,
        }
    }
}

// Vectored writes pass through (see `forward`).
forward_read!(Counted.inner);
forward_write!(Counted.inner);

/// The explanation sent to a connection beyond the limit.
pub fn limit_message(max: usize) -> String {
    format!(
        "webinfer proxy: too many open connections (the limit is {max}); close some or \
         raise it with --max-connections\n"
    )
}

/// Answers a connection beyond the limit with `503` and closes it (within
/// one second, so refusals cannot pile up either).
pub async fn refuse_connection(mut tcp: TcpStream, max: usize) {
    let body = limit_message(max);
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         x-webinfer-error: too many open connections (--max-connections {max})\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(resp.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// A stream that records every byte moved on an [`Activity`].
struct Touch<'a, S> {
    inner: &'a mut S,
    activity: Arc<Activity>,
}

read_with!(
    Touch<'_>,
    poll_read(|this, cx, buf| {
        let before = buf.filled().len();
        let r = Pin::new(&mut *this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        r
    })
);

impl<S: AsyncWrite + Unpin> AsyncWrite for Touch<'_, S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut *this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                this.activity.touch();
            }
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Why a relay ended.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// No byte moved either way for the tunnel idle timeout.
    #[error("no bytes in either direction for {0:?}; raise the limit with --tunnel-idle-timeout")]
    Idle(Duration),
    /// A side failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Copies bytes both ways between `a` and `b` until both sides close, or
/// until no byte has moved in either direction for `idle`. Returns the
/// bytes copied `a`→`b` and `b`→`a`.
pub async fn relay<A, B>(a: &mut A, b: &mut B, idle: Duration) -> Result<(u64, u64), RelayError>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let activity = Activity::new();
    let mut ta = Touch {
        inner: a,
        activity: activity.clone(),
    };
    let mut tb = Touch {
        inner: b,
        activity: activity.clone(),
    };
    let watch = async {
        loop {
            let deadline = activity.last() + idle;
            tokio::time::sleep_until(deadline.into()).await;
            if activity.last() + idle <= Instant::now() {
                return;
            }
        }
    };
    tokio::select! {
        r = tokio::io::copy_bidirectional(&mut ta, &mut tb) => Ok(r?),
        () = watch => Err(RelayError::Idle(idle)),
    }
}

/// The open requests of one client connection (a request is open from its
/// head until its response body ends or is dropped).
#[derive(Debug)]
pub struct InFlight {
    open: AtomicUsize,
    activity: Arc<Activity>,
}

/// One open request of an [`InFlight`].
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.activity.touch();
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    /// No open requests yet.
    pub fn new() -> Arc<Self> {
        Arc::new(InFlight {
            open: AtomicUsize::new(0),
            activity: Activity::new(),
        })
    }

    /// Marks a request open until the guard drops.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.activity.touch();
        InFlightGuard(self.clone())
    }

    /// Resolves once no request has been open for `idle`.
    pub async fn idle_for(&self, idle: Duration) {
        loop {
            if self.open.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(idle).await;
                continue;
            }
            let deadline = self.activity.last() + idle;
            if deadline <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// A response body that keeps its request open (see [`InFlight`]) until it
/// ends or is dropped.
pub struct GuardedBody {
    inner: Body,
    guard: Option<InFlightGuard>,
}

impl GuardedBody {
    /// Wraps `inner`, holding `guard` until its end.
    pub fn new(inner: Body, guard: InFlightGuard) -> Self {
        GuardedBody {
            inner,
            guard: Some(guard),
        }
    }
}

wrap_body!(
    GuardedBody,
    inner inner,
    observe(|this, polled| {
        if matches!(polled, None | Some(Err(_))) {
            this.guard = None;
        }
    })
);
