//! The trace endpoint: answers `POST` batches to
//! [`SinkConfig::endpoint`](super::SinkConfig::endpoint)
//! (checked by [`super::guard`], limited by [`super::rate`], written by
//! [`super::writer`]), model uploads ([`super::upload`]), other methods
//! (`405`) and [`PING_PATH`]; the status codes are in the
//! [module docs](super).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use webinfer_proxy::{empty, full, Body, RequestContext, RequestOutcome};

use super::guard::{self, Refusal};
use super::writer::{Answer, Cmd, Line};
use super::{batch, redact, upload, TraceSink};

/// The default endpoint path the hook posts to.
pub const TRACE_PATH: &str = "/__webinfer__/trace";
/// A path that answers `200` so a client can check it goes through the proxy.
pub const PING_PATH: &str = "/__webinfer__/ping";
/// Most bytes of a refused (too large) body read and thrown away before
/// answering; beyond that the connection may be reset.
const DRAIN_MAX: usize = 16 * 1024 * 1024;

/// Counts of a batch's records refused before the writer.
#[derive(Default)]
struct Refused {
    unknown: u64,
    forged: u64,
    budget: u64,
}

impl TraceSink {
    /// The `on_request` step of the capture filter: answers the endpoint
    /// (batches, model uploads, other methods) and [`PING_PATH`] locally;
    /// everything else is forwarded.
    pub(crate) async fn answer(&self, ctx: &RequestContext, req: Request<Body>) -> RequestOutcome {
        let path = ctx.uri.path();
        if path == self.cfg.endpoint {
            if ctx.method == Method::POST && upload::is_upload(ctx.uri.query()) {
                return RequestOutcome::Respond(self.receive_model(ctx, req).await);
            }
            if ctx.method == Method::POST {
                return RequestOutcome::Respond(self.receive(ctx, req).await);
            }
            self.stats.wrong_method.fetch_add(1, Ordering::Relaxed);
            let mut r = json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({ "error": "POST only" }),
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return RequestOutcome::Respond(r);
        }
        if path == PING_PATH {
            return RequestOutcome::Respond(json_response(
                StatusCode::OK,
                &json!({ "webinfer": true, "endpoint": self.cfg.endpoint }),
            ));
        }
        RequestOutcome::Forward(req)
    }

    /// Checks, charges and writes a parsed batch posted to `target` (the
    /// request's origin); returns the answer.
    async fn store(&self, parsed: batch::Parsed, target: &str) -> Response<Body> {
        // Bad input is counted whatever the answer (400, 429, 503 or 507).
        self.stats
            .invalid
            .fetch_add(parsed.invalid as u64, Ordering::Relaxed);
        if parsed.malformed {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
        let mut errors = parsed.errors;
        let mut refused = Refused::default();
        let mut budget_why = None;
        let mut records = Vec::with_capacity(parsed.records.len());
        {
            let mut reg = self.registry();
            for r in parsed.records {
                match reg.admit(&r, target) {
                    Ok(()) => records.push(r),
                    Err(why) => {
                        let msg = match why {
                            Refusal::Unknown(m) => {
                                refused.unknown += 1;
                                m
                            }
                            Refusal::Forged(m) => {
                                refused.forged += 1;
                                m
                            }
                            Refusal::Budget(m) => {
                                refused.budget += 1;
                                budget_why.get_or_insert_with(|| m.clone());
                                m
                            }
                        };
                        if errors.len() < 8 {
                            errors.push(msg);
                        }
                    }
                }
            }
            self.stats
                .unknown_sid
                .fetch_add(refused.unknown, Ordering::Relaxed);
            self.stats
                .forged
                .fetch_add(refused.forged, Ordering::Relaxed);
            if refused.budget > 0 {
                // Whole batch or nothing: a 507 batch is sent again later.
                drop(reg);
                let n = refused.budget + records.len() as u64;
                self.stats.over_budget.fetch_add(n, Ordering::Relaxed);
                let why = budget_why.unwrap_or_default();
                tracing::warn!(records = n, "{why}");
                return json_response(
                    StatusCode::INSUFFICIENT_STORAGE,
                    &json!({ "stored": 0, "error": why, "errors": errors }),
                );
            }
            // Rate limit per session, all or nothing per batch.
            let mut per_sid: HashMap<&str, u64> = HashMap::new();
            for r in &records {
                *per_sid.entry(r.sid()).or_default() += 1;
            }
            let limit = u64::from(self.cfg.max_records_per_sec);
            if let Err(over) = reg.rate.charge(&per_sid, limit) {
                let n = records.len() as u64;
                drop(reg);
                self.stats.rate_limited.fetch_add(n, Ordering::Relaxed);
                tracing::warn!(sessions = ?over, records = n, "trace batch refused: over {limit} records/s");
                return json_response(StatusCode::TOO_MANY_REQUESTS, &json!({ "rate_limited": n }));
            }
        }
        let redact_query = !self.cfg.keep_query_secrets;
        let lines: Vec<Line> = records
            .into_iter()
            .map(|r| {
                let r = redact::scrub_record(r, redact_query);
                let mut text = r.to_line();
                text.push('\n');
                Line {
                    stem: r.sid().to_owned(),
                    kind: r.kind().to_owned(),
                    text,
                    end: r.kind() == "end",
                    seq: Some(r.seq()),
                }
            })
            .collect();
        let invalid = parsed.invalid as u64 + refused.unknown + refused.forged;
        let answer = if lines.is_empty() {
            Answer::Stored(0)
        } else {
            let (reply, wait) = tokio::sync::oneshot::channel();
            if !self.send(Cmd::Batch(lines, reply)) {
                Answer::Failed(0, "the trace writer has stopped".into())
            } else {
                wait.await
                    .unwrap_or_else(|_| Answer::Failed(0, "the trace writer has stopped".into()))
            }
        };
        let stored = match answer {
            Answer::Stored(n) => n,
            Answer::OverBudget(why) => {
                return json_response(
                    StatusCode::INSUFFICIENT_STORAGE,
                    &json!({ "stored": 0, "invalid": invalid, "error": why, "errors": errors }),
                );
            }
            Answer::Failed(stored, e) => {
                tracing::error!("{e}");
                return json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({ "stored": stored, "error": e }),
                );
            }
        };
        if invalid > 0 || parsed.malformed {
            tracing::warn!(stored, invalid, unknown_sid = refused.unknown, forged = refused.forged, errors = ?errors, "bad trace batch");
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "stored": stored, "invalid": invalid, "errors": errors }),
            );
        }
        empty_response(StatusCode::NO_CONTENT)
    }

    /// Handles one `POST` to the endpoint.
    async fn receive(&self, ctx: &RequestContext, req: Request<Body>) -> Response<Body> {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let target = guard::origin_of_url(&format!("{}/", ctx.origin())).unwrap_or_default();
        let limit = self.cfg.max_body;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // A client waiting for `100 Continue` has sent nothing yet: answer
        // without asking for the body.
        let expects_continue = req
            .headers()
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let refusal = guard::check_headers(req.headers(), &target).err();
        let mut body = req.into_body();
        if let Some(why) = refusal {
            if !expects_continue {
                drain(&mut body).await;
            }
            self.stats.cross_site.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("trace batch refused: {why}");
            return json_response(StatusCode::FORBIDDEN, &json!({ "error": why }));
        }
        if declared.is_some_and(|n| n > limit as u64) {
            if !expects_continue {
                drain(&mut body).await;
            }
            return self.too_large();
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut torn = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(data) = f.into_data() {
                        self.stats
                            .bytes
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                        if buf.len() + data.len() > limit {
                            drop(buf);
                            drain(&mut body).await;
                            return self.too_large();
                        }
                        buf.extend_from_slice(&data);
                    }
                }
                Err(e) => {
                    torn = Some(e.to_string());
                    break;
                }
            }
        }
        // A large body is parsed off the async threads, so a flood of large
        // POSTs does not hold up other clients.
        let mut parsed = if buf.len() > 64 * 1024 {
            tokio::task::spawn_blocking(move || batch::parse(&buf))
                .await
                .unwrap_or_else(|e| batch::Parsed {
                    malformed: true,
                    errors: vec![format!("parsing failed: {e}")],
                    ..Default::default()
                })
        } else {
            batch::parse(&buf)
        };
        if let Some(e) = torn {
            parsed.malformed = true;
            parsed.errors.push(format!("body cut short: {e}"));
        }
        self.store(parsed, &target).await
    }

    /// A model the page hands over ([`upload`]): checked like a batch (sender,
    /// sid), then streamed to the save folder.
    async fn receive_model(&self, ctx: &RequestContext, req: Request<Body>) -> Response<Body> {
        match self.admit_model(ctx, &req) {
            Ok((dir, q)) => {
                self.stats.uploads_in_flight.fetch_add(1, Ordering::Relaxed);
                let r = upload::store(&dir, &q, req, self.cfg.max_model_bytes).await;
                self.stats.uploads_in_flight.fetch_sub(1, Ordering::Relaxed);
                r
            }
            Err(refused) => {
                // Read the body the client is still sending (up to
                // DRAIN_MAX), so it gets the answer, not a broken pipe.
                drain(&mut req.into_body()).await;
                *refused
            }
        }
    }

    /// The folder and the parsed query of a model upload the sink takes, or
    /// the answer refusing it.
    fn admit_model(
        &self,
        ctx: &RequestContext,
        req: &Request<Body>,
    ) -> Result<(std::path::PathBuf, upload::UploadQuery), Box<Response<Body>>> {
        let Some(dir) = self.cfg.save_models.clone() else {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                &json!({ "error": "saving models is off (webinfer proxy --save-models DIR)" }),
            ));
        };
        let target = guard::origin_of_url(&format!("{}/", ctx.origin())).unwrap_or_default();
        if let Err(why) = guard::check_headers(req.headers(), &target) {
            self.stats.cross_site.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("model upload refused: {why}");
            return Err(refusal(StatusCode::FORBIDDEN, &json!({ "error": why })));
        }
        let q = match upload::parse_query(ctx.uri.query().unwrap_or("")) {
            Ok(q) => q,
            Err(why) => return Err(refusal(StatusCode::BAD_REQUEST, &json!({ "error": why }))),
        };
        if q.ext == ".safetensors" && !self.cfg.capture_inputs {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                &json!({ "error": "input capture is off (--capture-inputs)" }),
            ));
        }
        if !self.registry().is_issued_to(&q.sid, &target) {
            self.stats.unknown_sid.fetch_add(1, Ordering::Relaxed);
            let why = format!("sid {:?} was not issued by this proxy to {target}", q.sid);
            tracing::warn!("model upload refused: {why}");
            return Err(refusal(StatusCode::FORBIDDEN, &json!({ "error": why })));
        }
        Ok((dir, q))
    }

    fn too_large(&self) -> Response<Body> {
        self.stats.too_large.fetch_add(1, Ordering::Relaxed);
        let limit = self.cfg.max_body;
        tracing::warn!("trace batch refused: body over {limit} bytes");
        json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({ "error": format!("body over {limit} bytes") }),
        )
    }
}

/// Reads and discards up to [`DRAIN_MAX`] more bytes of a refused body, so
/// the client (HTTP/2 especially) gets the answer rather than a reset stream.
pub(super) async fn drain(body: &mut Body) {
    let mut seen = 0usize;
    while seen < DRAIN_MAX {
        match body.frame().await {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

/// [`json_response`], boxed (a refusal in a `Result`).
fn refusal(status: StatusCode, v: &Value) -> Box<Response<Body>> {
    Box::new(json_response(status, v))
}

pub(super) fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn empty_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(empty());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}
