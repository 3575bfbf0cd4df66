//! [`Capture`]: the one proxy handler of the capture layer, with its typed
//! per-request context [`CaptureCtx`]. It runs the capture's steps in a
//! fixed order on each request, so no step depends on the order handlers
//! were put on the proxy:
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

use http::{Request, Response};
use webinfer_proxy::{Body, Exchange, Handler, RequestContext, RequestOutcome};

use crate::artifact::artifact_extension;
use crate::inject::Injection;
use crate::model::{ModelDigest, ModelTap};
use crate::sink::TraceSink;

/// What the capture knows about one exchange between its steps.
#[derive(Debug, Default, Clone)]
pub struct CaptureCtx {
    /// The trace session the exchange belongs to (set for injected documents
    /// and workers).
    pub session: Option<String>,
    /// The digest of a model artifact's body.
    pub model: Option<Arc<ModelDigest>>,
}

/// The capture layer as one proxy handler (see the module docs).
pub struct Capture {
    sink: Arc<TraceSink>,
    inject: Arc<Injection>,
    save_models: Option<PathBuf>,
}

impl Capture {
    /// The handler driving `sink` and `inject`; model artifacts are saved in
    /// the sink's `save_models` folder when it has one.
    pub fn new(sink: Arc<TraceSink>, inject: Arc<Injection>) -> Self {
        let save_models = sink.config().save_models.clone();
        Capture {
            sink,
            inject,
            save_models,
        }
    }
}

impl Handler for Capture {
    type Ctx = CaptureCtx;

    fn new_ctx(&self) -> CaptureCtx {
        CaptureCtx::default()
    }

    async fn on_request(
        &self,
        info: &RequestContext,
        _ctx: &mut CaptureCtx,
        req: Request<Body>,
    ) -> RequestOutcome {
        match self.sink.answer(info, req).await {
            RequestOutcome::Forward(mut req) => {
                self.inject.prepare_request(info, &mut req);
                RequestOutcome::Forward(req)
            }
            answered => answered,
        }
    }

    fn on_response(
        &self,
        info: &RequestContext,
        ctx: &mut CaptureCtx,
        resp: Response<Body>,
    ) -> Response<Body> {
        let ext = resp
            .status()
            .is_success()
            .then(|| artifact_extension(info.uri.path()))
            .flatten();
        let resp = match ext {
            Some(ext) => {
                let save = self.save_models.as_deref().map(|d| (d, ext));
                let (parts, body) = resp.into_parts();
                let (body, digest) = ModelTap::wrap(body, save, info.id);
                ctx.model = Some(digest);
                Response::from_parts(parts, http_body_util::BodyExt::boxed(body))
            }
            None => resp,
        };
        let (resp, session) = self.inject.rewrite(info, resp);
        ctx.session = session;
        resp
    }

    fn on_complete(&self, info: &RequestContext, ctx: &mut CaptureCtx, ex: &Exchange) {
        let sha256 = ctx.model.as_ref().and_then(|m| m.sha256());
        self.sink
            .record_exchange(info, ex, ctx.session.as_deref(), sha256.as_deref());
    }
}
