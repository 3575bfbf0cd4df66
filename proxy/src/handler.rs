//! The per-request seam: the [`Handler`] trait, with a typed per-request
//! context in the manner of pingora-proxy's `ProxyHttp` (`type CTX;
//! fn new_ctx()`), and handler methods that return `impl Future`
//! (hudsucker's handlers): the proxy is generic over its handler, so no step
//! is boxed or dispatched dynamically.
//!
//! Every request the proxy sees — plain HTTP in absolute form, and HTTP/1.1 or
//! HTTP/2 requests inside an intercepted TLS tunnel — goes through the same
//! steps:
//!
//! 1. [`Handler::new_ctx`] makes the request's context when its head
//!    arrives;
//! 2. the host policy (`--allow-host`/`--deny-host`) is checked; a refused
//!    host gets a 403 page and [`Handler::on_request`] does not run;
//! 3. [`Handler::on_request`] runs; [`RequestOutcome::Respond`] answers
//!    locally and the request is never forwarded;
//! 4. the request goes upstream; [`Handler::on_response`] runs on the
//!    response head (and may wrap the body);
//! 5. once the response body has been sent to the client (or failed),
//!    [`Handler::on_complete`] runs with one [`Exchange`] summary; then the
//!    context is dropped.
//!
//! Handlers compose: a pair `(A, B)` is a handler whose context is
//! `(A::Ctx, B::Ctx)`; `A` runs first in every step, and when `A` answers
//! locally `B`'s `on_request` is skipped (both `on_complete`s still run).
//! `Option<H>` is `H` or nothing, `Arc<H>` is `H` (keep a clone to read the
//! handler's counters). [`NoopHandler`] passes everything through.
//!
//! ```
//! use std::time::Instant;
//! use webinfer_proxy::{full, Body, Exchange, Handler, ProxyBuilder, RequestContext, RequestOutcome};
//! use http::{Request, Response, StatusCode};
//!
//! /// Answers `/ping` on every host and logs every finished exchange with
//! /// the time its `on_request` ran.
//! struct Ping;
//!
//! impl Handler for Ping {
//!     type Ctx = Option<Instant>;
//!
//!     fn new_ctx(&self) -> Self::Ctx {
//!         None
//!     }
//!
//!     async fn on_request(
//!         &self,
//!         info: &RequestContext,
//!         ctx: &mut Self::Ctx,
//!         req: Request<Body>,
//!     ) -> RequestOutcome {
//!         *ctx = Some(Instant::now());
//!         if info.uri.path() == "/ping" {
//!             let resp = Response::builder()
//!                 .status(StatusCode::OK)
//!                 .body(full("pong"))
//!                 .unwrap();
//!             RequestOutcome::Respond(resp)
//!         } else {
//!             RequestOutcome::Forward(req)
//!         }
//!     }
//!
//!     fn on_complete(&self, _info: &RequestContext, ctx: &mut Self::Ctx, ex: &Exchange) {
//!         println!("{} {} -> {} ({} bytes, asked at {ctx:?})", ex.method, ex.url, ex.status, ex.bytes);
//!     }
//! }
//!
//! // `Ping` first, then a second handler (here one that does nothing).
//! let builder = ProxyBuilder::new().handler(Ping).layer(webinfer_proxy::NoopHandler);
//! # let _ = builder;
//! ```

use std::future::Future;
use std::sync::Arc;

use http::{Request, Response};

use crate::types::{Body, Exchange, RequestContext, RequestOutcome};

/// A per-request hook with a typed context (see the module docs). All
/// methods but [`Handler::new_ctx`] have pass-through defaults.
pub trait Handler: Send + Sync + 'static {
    /// State of one request, shared by this handler's steps for that request.
    type Ctx: Send + Sync + 'static;

    /// A fresh context, made when the request head arrives (before the host
    /// policy check, so refused requests have one too).
    fn new_ctx(&self) -> Self::Ctx;

    /// Runs after the host policy check, before anything is sent upstream.
    /// Returning [`RequestOutcome::Respond`] answers locally: the request is
    /// never forwarded and `on_response` does not run.
    fn on_request(
        &self,
        info: &RequestContext,
        ctx: &mut Self::Ctx,
        req: Request<Body>,
    ) -> impl Future<Output = RequestOutcome> + Send {
        let _ = (info, ctx);
        std::future::ready(RequestOutcome::Forward(req))
    }

    /// Runs when the upstream response head arrived (hop-by-hop headers and
    /// `Alt-Svc` already removed). May replace headers and wrap the body for a
    /// streaming transform. Not called for local answers.
    fn on_response(
        &self,
        info: &RequestContext,
        ctx: &mut Self::Ctx,
        resp: Response<Body>,
    ) -> Response<Body> {
        let _ = (info, ctx);
        resp
    }

    /// Runs once per exchange after the response body was sent to the client
    /// (or the exchange failed), also for refused hosts and local answers.
    fn on_complete(&self, info: &RequestContext, ctx: &mut Self::Ctx, ex: &Exchange) {
        let _ = (info, ctx, ex);
    }

    /// Whether [`Handler::on_complete`] looks at the [`Exchange`]; when
    /// false (and debug logging is off) the proxy does not build the summary
    /// (its URL and method strings). Defaults to true.
    fn wants_exchange(&self) -> bool {
        true
    }
}

/// The handler of a plain proxy: passes every request and response through.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopHandler;

impl Handler for NoopHandler {
    type Ctx = ();

    fn new_ctx(&self) {}

    fn wants_exchange(&self) -> bool {
        false
    }
}

/// Implements [`Handler`] for a combinator of handlers: each step is one
/// expression, with the combinator bound to `$h` and the step's arguments
/// to the names given (`$req`, `$resp`, `$ex` for the step's own argument).
/// `on_request` is an expression of a `Send` future.
macro_rules! combine {
    (
        impl<$($g:ident),+> for $ty:ty, Ctx = $ctx:ty;
        |$h:ident, $info:ident, $c:ident|
        new_ctx => $new_ctx:expr,
        on_request($req:ident) => $on_request:expr,
        on_response($resp:ident) => $on_response:expr,
        on_complete($ex:ident) => $on_complete:expr,
        wants_exchange => $wants_exchange:expr $(,)?
    ) => {
        impl<$($g: Handler),+> Handler for $ty {
            type Ctx = $ctx;

            combine!(@step $h; new_ctx() -> Self::Ctx => $new_ctx);
            combine!(
                @step $h;
                on_request($info: &RequestContext, $c: &mut Self::Ctx, $req: Request<Body>)
                    -> impl Future<Output = RequestOutcome> + Send => $on_request
            );
            combine!(
                @step $h;
                on_response($info: &RequestContext, $c: &mut Self::Ctx, $resp: Response<Body>)
                    -> Response<Body> => $on_response
            );
            combine!(
                @step $h;
                on_complete($info: &RequestContext, $c: &mut Self::Ctx, $ex: &Exchange)
                    -> () => $on_complete
            );
            combine!(@step $h; wants_exchange() -> bool => $wants_exchange);
        }
    };
    // One step: `fn $m(&self, args) -> $ret` evaluating `$body` with `$h`
    // bound to `self`.
    (@step $h:ident; $m:ident($($arg:ident: $argty:ty),*) -> $ret:ty => $body:expr) => {
        fn $m(&self, $($arg: $argty),*) -> $ret {
            let $h = self;
            $body
        }
    };
}

// `A` first in every step; `B`'s `on_request` is skipped when `A` answers.
combine! {
    impl<A, B> for (A, B), Ctx = (A::Ctx, B::Ctx);
    |h, info, ctx|
    new_ctx => (h.0.new_ctx(), h.1.new_ctx()),
    on_request(req) => async move {
        match h.0.on_request(info, &mut ctx.0, req).await {
            RequestOutcome::Forward(req) => h.1.on_request(info, &mut ctx.1, req).await,
            answered => answered,
        }
    },
    on_response(resp) => {
        let resp = h.0.on_response(info, &mut ctx.0, resp);
        h.1.on_response(info, &mut ctx.1, resp)
    },
    on_complete(ex) => {
        h.0.on_complete(info, &mut ctx.0, ex);
        h.1.on_complete(info, &mut ctx.1, ex);
    },
    wants_exchange => h.0.wants_exchange() || h.1.wants_exchange(),
}

// `H`, or nothing: every step passes through.
combine! {
    impl<H> for Option<H>, Ctx = Option<H::Ctx>;
    |h, info, ctx|
    new_ctx => h.as_ref().map(H::new_ctx),
    on_request(req) => async move {
        match (h, ctx) {
            (Some(h), Some(c)) => h.on_request(info, c, req).await,
            _ => RequestOutcome::Forward(req),
        }
    },
    on_response(resp) => match (h, ctx) {
        (Some(h), Some(c)) => h.on_response(info, c, resp),
        _ => resp,
    },
    on_complete(ex) => {
        if let (Some(h), Some(c)) = (h, ctx) {
            h.on_complete(info, c, ex);
        }
    },
    wants_exchange => h.as_ref().is_some_and(H::wants_exchange),
}

// The shared handler itself (its own future, not wrapped).
combine! {
    impl<H> for Arc<H>, Ctx = H::Ctx;
    |h, info, ctx|
    new_ctx => H::new_ctx(h),
    on_request(req) => H::on_request(h, info, ctx, req),
    on_response(resp) => H::on_response(h, info, ctx, resp),
    on_complete(ex) => H::on_complete(h, info, ctx, ex),
    wants_exchange => H::wants_exchange(h),
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use http::{HeaderValue, StatusCode};

    use super::*;
    use crate::types::{empty, Scheme};

    /// Notes every step it runs in a shared log, under its name; answers
    /// locally when `answers`; counts its own requests in its context.
    struct Step {
        name: &'static str,
        answers: bool,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Step {
        fn note(&self, what: &str) {
            self.log
                .lock()
                .unwrap()
                .push(format!("{} {what}", self.name));
        }
    }

    impl Handler for Step {
        type Ctx = u32;

        fn new_ctx(&self) -> u32 {
            0
        }

        async fn on_request(
            &self,
            _info: &RequestContext,
            ctx: &mut u32,
            mut req: Request<Body>,
        ) -> RequestOutcome {
            *ctx += 1;
            self.note("request");
            let seen = req.headers().get("x-seen").is_some();
            req.headers_mut()
                .append("x-seen", HeaderValue::from_static(self.name));
            if seen {
                self.note("saw the earlier handler's header");
            }
            if self.answers {
                let mut resp = Response::new(empty());
                *resp.status_mut() = StatusCode::NO_CONTENT;
                return RequestOutcome::Respond(resp);
            }
            RequestOutcome::Forward(req)
        }

        fn on_response(
            &self,
            _info: &RequestContext,
            ctx: &mut u32,
            mut resp: Response<Body>,
        ) -> Response<Body> {
            self.note(&format!("response (ctx {ctx})"));
            resp.headers_mut()
                .append("x-order", HeaderValue::from_static(self.name));
            resp
        }

        fn on_complete(&self, _info: &RequestContext, ctx: &mut u32, ex: &Exchange) {
            self.note(&format!("complete {} (ctx {ctx})", ex.status));
        }
    }

    fn step(name: &'static str, answers: bool, log: &Arc<Mutex<Vec<String>>>) -> Step {
        Step {
            name,
            answers,
            log: log.clone(),
        }
    }

    fn info() -> RequestContext {
        RequestContext {
            id: 1,
            scheme: Scheme::Https,
            host: "a.test".into(),
            port: 443,
            uri: "https://a.test/".parse().unwrap(),
            method: http::Method::GET,
            request_headers: http::HeaderMap::new(),
            client_version: http::Version::HTTP_11,
            started: Instant::now(),
            started_unix_ms: 0.0,
            client_addr: "127.0.0.1:1".parse().unwrap(),
        }
    }

    fn exchange(status: u16) -> Exchange {
        Exchange {
            url: "https://a.test/".into(),
            method: "GET".into(),
            status,
            content_type: None,
            bytes: 0,
            start_unix_ms: 0.0,
            dur_ms: 0.0,
            error: None,
            forwarded: true,
        }
    }

    /// Runs one exchange through `h` as the pipeline does: the outcome of
    /// `on_request`, the response after `on_response` (when forwarded) and
    /// the context after `on_complete`.
    async fn run<H: Handler>(h: &H) -> (RequestOutcome, Option<Response<Body>>, H::Ctx) {
        let info = info();
        let mut ctx = h.new_ctx();
        let outcome = h.on_request(&info, &mut ctx, Request::new(empty())).await;
        let resp = match &outcome {
            RequestOutcome::Forward(_) => {
                let resp = h.on_response(&info, &mut ctx, Response::new(empty()));
                h.on_complete(&info, &mut ctx, &exchange(200));
                Some(resp)
            }
            RequestOutcome::Respond(_) => {
                h.on_complete(&info, &mut ctx, &exchange(204));
                None
            }
        };
        (outcome, resp, ctx)
    }

    #[tokio::test]
    async fn a_pair_runs_its_first_handler_first_in_every_step() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let pair = (step("a", false, &log), step("b", false, &log));
        let (outcome, resp, ctx) = run(&pair).await;
        assert_eq!(ctx, (1, 1), "each handler has its own context");
        let RequestOutcome::Forward(req) = outcome else {
            panic!("forwarded")
        };
        let seen: Vec<_> = req.headers().get_all("x-seen").iter().collect();
        assert_eq!(seen, ["a", "b"]);
        let resp = resp.unwrap();
        let order: Vec<_> = resp.headers().get_all("x-order").iter().collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "a request",
                "b request",
                "b saw the earlier handler's header",
                "a response (ctx 1)",
                "b response (ctx 1)",
                "a complete 200 (ctx 1)",
                "b complete 200 (ctx 1)",
            ]
        );
    }

    #[tokio::test]
    async fn a_local_answer_skips_the_later_on_request_but_not_its_on_complete() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let pair = (step("a", true, &log), step("b", false, &log));
        let (outcome, after, ctx) = run(&pair).await;
        assert!(after.is_none(), "no on_response for a local answer");
        let RequestOutcome::Respond(resp) = outcome else {
            panic!("answered locally")
        };
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(ctx, (1, 0), "b's on_request never ran");
        assert_eq!(
            *log.lock().unwrap(),
            [
                "a request",
                "a complete 204 (ctx 1)",
                "b complete 204 (ctx 0)"
            ]
        );
    }

    #[tokio::test]
    async fn option_arc_and_noop_pass_through_or_delegate() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let none: Option<Step> = None;
        let (outcome, _, ctx) = run(&none).await;
        assert!(matches!(outcome, RequestOutcome::Forward(_)));
        assert!(ctx.is_none());
        assert!(!none.wants_exchange());
        let some = Some(Arc::new(step("s", false, &log)));
        let (_, _, ctx) = run(&some).await;
        assert_eq!(ctx, Some(1));
        assert!(some.wants_exchange());
        assert_eq!(
            *log.lock().unwrap(),
            ["s request", "s response (ctx 1)", "s complete 200 (ctx 1)"]
        );
        let (outcome, _, ()) = run(&NoopHandler).await;
        assert!(matches!(outcome, RequestOutcome::Forward(_)));
        assert!(!NoopHandler.wants_exchange());
        assert!(!(NoopHandler, NoopHandler).wants_exchange());
        assert!((NoopHandler, step("x", false, &log)).wants_exchange());
    }
}
