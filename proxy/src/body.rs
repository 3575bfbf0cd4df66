//! Streaming body wrappers: [`MeteredBody`] counts the upstream bytes as
//! they pass and notes whether the body ended or broke; [`FinishBody`] fires
//! the filters' `on_complete` once the client got the whole body or the
//! exchange broke. Nothing here buffers a whole body.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::filter::{Body, BodyError, Exchange, Filter, RequestContext};

/// What a [`MeteredBody`] observed, shared with whoever reports the exchange.
#[derive(Debug, Default)]
pub struct MeterState {
    bytes: AtomicU64,
    done: AtomicBool,
    error: Mutex<Option<String>>,
}

impl MeterState {
    /// Body bytes seen so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Whether the body reached its end.
    pub fn done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
    /// The error that cut the body short, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().expect("meter lock").clone()
    }
}

/// Counts body bytes, streaming.
pub struct MeteredBody {
    inner: Body,
    state: Arc<MeterState>,
    finished: bool,
}

impl MeteredBody {
    /// Wraps `inner`; returns the body and its shared state.
    pub fn new(inner: Body) -> (Self, Arc<MeterState>) {
        let state = Arc::new(MeterState::default());
        let mut body = MeteredBody {
            inner,
            state: state.clone(),
            finished: false,
        };
        if body.inner.is_end_stream() {
            body.finish();
        }
        (body, state)
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.state.done.store(true, Ordering::Release);
    }

    fn fail(&mut self, reason: String) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut err = self.state.error.lock().expect("meter lock");
        if err.is_none() {
            *err = Some(reason);
        }
    }
}

impl HttpBody for MeteredBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.state
                        .bytes
                        .fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.fail(format!("upstream body failed: {e}"));
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.finish();
                Poll::Ready(None)
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

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if !self.finished {
            if self.inner.is_end_stream() {
                self.finish();
            } else {
                self.fail("response body cut short before its end".into());
            }
        }
    }
}

/// Everything needed to report one exchange when its body is done.
pub(crate) struct Completion {
    pub ctx: RequestContext,
    pub filters: Arc<[Arc<dyn Filter>]>,
    pub status: u16,
    pub content_type: Option<String>,
    pub forwarded: bool,
    pub meter: Option<Arc<MeterState>>,
    pub error: Option<String>,
}

impl Completion {
    /// Runs every filter's `on_complete` with the summary.
    pub fn fire(self, sent: u64, ended: bool) {
        // Nobody to tell: skip building the summary (URL and method strings).
        if self.filters.is_empty() && !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let meter_error = self.meter.as_ref().and_then(|m| m.error());
        let error = self.error.clone().or(meter_error).or_else(|| {
            (!ended).then(|| "response body not fully sent: the client went away".to_string())
        });
        let ex = Exchange {
            url: self.ctx.uri.to_string(),
            method: self.ctx.method.to_string(),
            status: self.status,
            content_type: self.content_type.clone(),
            bytes: self.meter.as_ref().map_or(sent, |m| m.bytes()),
            start_unix_ms: self.ctx.started_unix_ms,
            dur_ms: self.ctx.started.elapsed().as_secs_f64() * 1000.0,
            error,
            forwarded: self.forwarded,
        };
        tracing::debug!(id = self.ctx.id, url = %ex.url, status = ex.status, bytes = ex.bytes,
            dur_ms = ex.dur_ms, error = ?ex.error, "exchange complete");
        for f in self.filters.iter() {
            f.on_complete(&self.ctx, &ex);
        }
    }
}

/// The outermost response body: reports the exchange once, at its end or drop.
pub(crate) struct FinishBody {
    inner: Body,
    sent: u64,
    ended: bool,
    completion: Option<Completion>,
}

impl FinishBody {
    pub fn new(inner: Body, completion: Completion) -> Self {
        FinishBody {
            inner,
            sent: 0,
            ended: false,
            completion: Some(completion),
        }
    }

    fn fire(&mut self) {
        if let Some(c) = self.completion.take() {
            let ended = self.ended || self.inner.is_end_stream();
            c.fire(self.sent, ended);
        }
    }
}

impl HttpBody for FinishBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let polled = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &polled {
            Some(Ok(frame)) => {
                if let Some(d) = frame.data_ref() {
                    this.sent += d.len() as u64;
                }
            }
            Some(Err(_)) => {}
            None => {
                this.ended = true;
                this.fire();
            }
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for FinishBody {
    fn drop(&mut self) {
        self.fire();
    }
}
