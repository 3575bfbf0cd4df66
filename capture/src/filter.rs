//! [`CaptureFilter`]: the one proxy filter of the capture layer. It runs the
//! capture's steps in a fixed order on each request, so no step depends on
//! the order filters were added to the proxy:
//!
//! 1. request: the trace endpoint and ping are answered locally
//!    ([`TraceSink`]); requests that may be injected lose their conditional
//!    headers ([`Injection`]);
//! 2. response: a model artifact's body is hashed, and saved with
//!    `--save-models` ([`crate::model`]); documents and workers get the hook
//!    and a session ([`Injection`]);
//! 3. completion: the exchange's `net` record is queued in the session it
//!    belongs to ([`TraceSink`]).

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::{Request, Response};
use webinfer_proxy::filter::{Body, Exchange, Filter, RequestContext, RequestOutcome};

use crate::artifact::artifact_extension;
use crate::inject::Injection;
use crate::model::{ModelBody, ModelDigest};
use crate::sink::TraceSink;

/// What the capture knows about one exchange between its steps.
#[derive(Debug, Default, Clone)]
pub(crate) struct CaptureState {
    /// The trace session the exchange belongs to (set for injected documents
    /// and workers).
    pub session: Option<String>,
    /// The digest of a model artifact's body.
    pub model: Option<Arc<ModelDigest>>,
}

/// The capture layer as one proxy filter (see the module docs).
pub struct CaptureFilter {
    sink: Arc<TraceSink>,
    inject: Arc<Injection>,
    save_models: Option<PathBuf>,
}

impl CaptureFilter {
    /// The filter driving `sink` and `inject`; model artifacts are saved in
    /// the sink's `save_models` folder when it has one.
    pub fn new(sink: Arc<TraceSink>, inject: Arc<Injection>) -> Self {
        let save_models = sink.config().save_models.clone();
        CaptureFilter {
            sink,
            inject,
            save_models,
        }
    }
}

impl Filter for CaptureFilter {
    fn on_request<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: Request<Body>,
    ) -> BoxFuture<'a, RequestOutcome> {
        Box::pin(async move {
            match self.sink.answer(ctx, req).await {
                RequestOutcome::Forward(mut req) => {
                    self.inject.prepare_request(ctx, &mut req);
                    RequestOutcome::Forward(req)
                }
                answered => answered,
            }
        })
    }

    fn on_response(&self, ctx: &mut RequestContext, resp: Response<Body>) -> Response<Body> {
        let mut state = CaptureState::default();
        let ext = resp
            .status()
            .is_success()
            .then(|| artifact_extension(ctx.uri.path()))
            .flatten();
        let resp = match ext {
            Some(ext) => {
                let save = self.save_models.as_deref().map(|d| (d, ext));
                let (parts, body) = resp.into_parts();
                let (body, digest) = ModelBody::new(body, save, ctx.id);
                state.model = Some(digest);
                Response::from_parts(parts, http_body_util::BodyExt::boxed(body))
            }
            None => resp,
        };
        let (resp, session) = self.inject.rewrite(ctx, resp);
        state.session = session;
        // Most exchanges carry neither: no per-request allocation for them.
        if state.session.is_some() || state.model.is_some() {
            ctx.state.insert(state);
        }
        resp
    }

    fn on_complete(&self, ctx: &RequestContext, ex: &Exchange) {
        let state = ctx.state.get::<CaptureState>();
        let session = state.and_then(|s| s.session.as_deref());
        let sha256 = state
            .and_then(|s| s.model.as_ref())
            .and_then(|m| m.sha256());
        self.sink
            .record_exchange(ctx, ex, session, sha256.as_deref());
    }
}
