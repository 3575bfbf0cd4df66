//! The audit crate's integration tests in one binary, one module per area.
//! Browser tests take one lock ([`common_audit::BROWSER`], also behind
//! [`common::browser_lock`]) so two browsers never run at once.

/// The analyzer tests' helpers (the analysis with the CLI's default grouping), shared as they are.
#[path = "../../analyzer/tests/integration/common.rs"]
#[allow(dead_code)]
mod analyzer_common;
mod common;
mod common_audit;

mod it {
    mod audit_chromium;
    mod audit_firefox;
    mod browser_kill;
    mod demo_app;
    mod fidelity_e2e;
    mod frameworks_e2e;
    mod hooks_e2e;
    mod site;
    mod variants;
    mod webgpu_variant;
}
