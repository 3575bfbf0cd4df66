//! Streaming body wrappers: [`InspectBody`] shows every data chunk of a body
//! to an [`Inspect`] and tells it once how the body ended (the metering of
//! upstream bytes here, model hashing in `webinfer-capture`); [`FinishBody`]
//! fires the handler's `on_complete` once the client got the whole body or
//! the exchange broke. Nothing here buffers a whole body.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body::Body as HttpBody;

use crate::forward::wrap_body;
use crate::handler::Handler;
use crate::types::{Body, BodyError, Exchange, RequestContext};

/// How a body seen by an [`InspectBody`] ended.
#[derive(Debug)]
pub enum BodyEnd<'a> {
    /// It reached its end (also when it was dropped right at its end).
    Complete,
    /// It failed with this error (passed on to the reader).
    Failed(&'a BodyError),
    /// It was dropped before its end.
    Dropped,
}

/// What looks at a body passing through an [`InspectBody`].
pub trait Inspect: Send + Sync + 'static {
    /// Each data chunk, in order, as it passes.
    fn data(&mut self, data: &Bytes);

    /// How the body ended; called exactly once (at its end, its error, or
    /// when it is dropped; for a body that is empty from the start, when it
    /// is wrapped).
    fn end(&mut self, end: BodyEnd<'_>);
}

/// A streaming body that shows its data chunks and its end to `I` and
/// passes everything on unchanged.
pub struct InspectBody<I: Inspect> {
    inner: Body,
    inspect: I,
    ended: bool,
}

// Nothing is pinned structurally (the inner body is boxed, the inspector
// is only used through `&mut`), whatever `I` is.
impl<I: Inspect> Unpin for InspectBody<I> {}

impl<I: Inspect> InspectBody<I> {
    /// Wraps `inner`; an already ended `inner` is reported at once.
    pub fn new(inner: Body, inspect: I) -> Self {
        let mut body = InspectBody {
            inner,
            inspect,
            ended: false,
        };
        if body.inner.is_end_stream() {
            body.end(BodyEnd::Complete);
        }
        body
    }

    fn end(&mut self, end: BodyEnd<'_>) {
        if !self.ended {
            self.ended = true;
            self.inspect.end(end);
        }
    }
}

wrap_body!(
    InspectBody<I: Inspect>,
    inner inner,
    observe(|this, polled| {
        match polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if !this.ended {
                        this.inspect.data(data);
                    }
                }
                if this.inner.is_end_stream() {
                    this.end(BodyEnd::Complete);
                }
            }
            Some(Err(e)) => this.end(BodyEnd::Failed(e)),
            None => this.end(BodyEnd::Complete),
        }
    })
);

impl<I: Inspect> Drop for InspectBody<I> {
    fn drop(&mut self) {
        if self.inner.is_end_stream() {
            self.end(BodyEnd::Complete);
        } else {
            self.end(BodyEnd::Dropped);
        }
    }
}

/// What the meter of an upstream body observed, shared with whoever reports
/// the exchange.
#[derive(Debug, Default)]
pub(crate) struct MeterState {
    bytes: AtomicU64,
    error: Mutex<Option<String>>,
}

impl MeterState {
    /// Body bytes seen so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The error that cut the body short, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().expect("meter lock").clone()
    }
}

/// Counts the bytes of an upstream body and notes why it broke, if it did.
pub(crate) struct Meter(Arc<MeterState>);

impl Meter {
    /// `inner` metered, and the state the meter fills in.
    pub fn wrap(inner: Body) -> (InspectBody<Meter>, Arc<MeterState>) {
        let state = Arc::new(MeterState::default());
        (InspectBody::new(inner, Meter(state.clone())), state)
    }
}

impl Inspect for Meter {
    fn data(&mut self, data: &Bytes) {
        self.0.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
    }

    fn end(&mut self, end: BodyEnd<'_>) {
        let reason = match end {
            BodyEnd::Complete => return,
            BodyEnd::Failed(e) => format!("upstream body failed: {e}"),
            BodyEnd::Dropped => "response body cut short before its end".to_string(),
        };
        let mut err = self.0.error.lock().expect("meter lock");
        if err.is_none() {
            *err = Some(reason);
        }
    }
}

/// Everything needed to report one exchange when its body is done.
pub(crate) struct Completion<H: Handler> {
    pub info: RequestContext,
    pub ctx: H::Ctx,
    pub handler: Arc<H>,
    pub status: u16,
    pub content_type: Option<String>,
    pub forwarded: bool,
    pub meter: Option<Arc<MeterState>>,
    pub error: Option<String>,
}

impl<H: Handler> Completion<H> {
    /// Runs the handler's `on_complete` with the summary.
    pub fn fire(mut self, sent: u64, ended: bool) {
        // Nobody to tell: skip building the summary (URL and method strings).
        if !self.handler.wants_exchange() && !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let meter_error = self.meter.as_ref().and_then(|m| m.error());
        let error = self.error.clone().or(meter_error).or_else(|| {
            (!ended).then(|| "response body not fully sent: the client went away".to_string())
        });
        let ex = Exchange {
            url: self.info.uri.to_string(),
            method: self.info.method.to_string(),
            status: self.status,
            content_type: self.content_type.clone(),
            bytes: self.meter.as_ref().map_or(sent, |m| m.bytes()),
            start_unix_ms: self.info.started_unix_ms,
            dur_ms: self.info.started.elapsed().as_secs_f64() * 1000.0,
            error,
            forwarded: self.forwarded,
        };
        tracing::debug!(id = self.info.id, url = %ex.url, status = ex.status, bytes = ex.bytes,
            dur_ms = ex.dur_ms, error = ?ex.error, "exchange complete");
        self.handler.on_complete(&self.info, &mut self.ctx, &ex);
    }
}

/// The outermost response body: reports the exchange once, at its end or drop.
pub(crate) struct FinishBody<H: Handler> {
    inner: Body,
    sent: u64,
    ended: bool,
    completion: Option<Completion<H>>,
}

// No field is pinned structurally (the inner body is boxed, the completion
// is only moved out), whatever the handler's context type is.
impl<H: Handler> Unpin for FinishBody<H> {}

impl<H: Handler> FinishBody<H> {
    pub fn new(inner: Body, completion: Completion<H>) -> Self {
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

wrap_body!(
    FinishBody<H: Handler>,
    inner inner,
    observe(|this, polled| {
        match polled {
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
    })
);

impl<H: Handler> Drop for FinishBody<H> {
    fn drop(&mut self) {
        self.fire();
    }
}
