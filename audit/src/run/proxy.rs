//! The proxy of one run: on `127.0.0.1:0`, with, in order, the [`AllowList`] (audited host
//! and what it loads), the variant's [`StripIsolation`] if any, the trace sink (label,
//! variant) and the hook injector.

use std::sync::Arc;

use webinfer_proxy::inject::{InjectConfig, InjectFilter};
use webinfer_proxy::sink::TraceSink;
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
    let traces = plan.proxy.traces.clone();

    // The proxy for this run.
    let mut sink_cfg = plan.proxy.sink_limits.config(&traces);
    sink_cfg.label = Some(plan.label.clone());
    sink_cfg.variant = Some(variant.name.clone());
    sink_cfg.save_models = plan.proxy.save_models.clone();
    let sink = TraceSink::new(sink_cfg)
        .map_err(|e| AuditError::Unsupported(format!("trace sink: {e}")))?;
    let inject = InjectFilter::new(
        webinfer_injector::Injector::new(),
        sink.clone(),
        InjectConfig {
            devtools_track: o.devtools_track,
            ..InjectConfig::default()
        },
    );
    let allow = Arc::new(AllowList::new([host]));
    let mut builder = plan.proxy.builder()?.filter(allow.clone());
    if variant.strip_isolation {
        builder = builder.filter(Arc::new(StripIsolation));
    }
    let handle = builder
        .filter(sink.clone())
        .filter(Arc::new(inject))
        .start()
        .await?;
    Ok(RunProxy {
        handle,
        sink,
        allow,
    })
}
