//! The audit crate's integration tests in one binary, one module per area.
//! Browser tests take one lock ([`common_audit::BROWSER`], also behind
//! [`common::browser_lock`]) so two browsers never run at once.

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
