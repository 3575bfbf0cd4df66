//! The capture layer's integration tests, one binary (ripgrep style): a
//! module per area, sharing [`support`] (test CA, HTTPS upstream, the real
//! proxy with [`webinfer_capture::install`], clients).

mod support;

mod inject_chromium;
mod inject_proxy;
mod models;
mod sink_bad_input;
mod sink_prop;
mod sink_proxy;
mod sink_security;
