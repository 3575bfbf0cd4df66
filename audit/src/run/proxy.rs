//! The proxy of one run: on `127.0.0.1:0`, with, in order, the [`AllowList`] (audited host
//! and what it loads), the variant's [`StripIsolation`] if any, the trace sink (label,
//! variant) and the hook injector.

use std::sync::Arc;

use webinfer_capture::sink::TraceSink;
use webinfer_proxy::ProxyHandle;

use super::plan::Plan;
use crate::allow::AllowList;
use crate::error::AuditError;
use crate::isolation::StripIsolation;
use crate::variant::Variant;

/// A run's running proxy and the filters the run reads back.
pub(crate) struct RunProxy {
    /// The proxy (address, CA, counters, shutdown).
    pub(crate) handle: ProxyHandle,
    /// The trace sink (counters, flush, close).
    pub(crate) sink: Arc<TraceSink>,
    /// The allow-list (refused, forwarded and failed hosts).
    pub(crate) allow: Arc<AllowList>,
}

/// Starts the proxy for a run of `variant` auditing `host`.
pub(crate) async fn start_proxy(
    plan: &Plan,
    variant: &Variant,
    host: &str,
) -> Result<RunProxy, AuditError> {
    let o = &plan.opts;
    let allow = Arc::new(AllowList::new([host]));
    let strip = variant.strip_isolation.then_some(StripIsolation);
    let builder = plan.proxy.builder()?.handler((allow.clone(), strip));
    let mut capture = plan.capture.clone();
    capture.sink.label = Some(plan.label.clone());
    capture.sink.variant = Some(variant.name.clone());
    capture.inject.devtools_track = o.devtools_track;
    let (builder, capture) = webinfer_capture::install(builder, &capture).map_err(|e| {
        let why = std::error::Error::source(&e).map(|s| format!(": {s}"));
        AuditError::Unsupported(format!("trace sink: {e}{}", why.unwrap_or_default()))
    })?;
    let sink = capture.sink().clone();
    let handle = builder.start().await?;
    Ok(RunProxy {
        handle,
        sink,
        allow,
    })
}
