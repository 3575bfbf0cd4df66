//! The metrics: pure functions over one session's typed data (slices of
//! records), each defined once, with its formula in its doc comment.
//!
//! [`windows`] decides what is "inside an inference"; the other modules
//! compute one family of metrics each. None of them reads files or prints.

pub mod generation;
pub mod latency;
pub mod memory;
pub mod qoe;
pub mod rendering;
pub mod responsiveness;
pub mod slowdown;
pub mod smoothness;
pub mod windows;
