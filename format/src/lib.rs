//! The webinfer trace format, version 1: the contract between the page hooks,
//! the proxy, the native baseline runner and the analyzer.
//!
//! The human-readable contract is `trace-format.md` beside this crate and the
//! machine-checkable one is `trace.schema.json`; both are embedded here so
//! every part of the workspace ships the same copy.
//!
//! This crate holds only what more than one part needs: the version number,
//! the list of kinds, the schema text, and [`writer::TraceWriter`], which
//! appends whole lines with per-session sequence numbers and a bounded flush
//! interval.

pub mod record;
pub mod writer;

pub use record::{Record, RecordError};
pub use writer::{TraceWriter, WriterError};

/// Format version written into every record's `v` field.
pub const VERSION: u64 = 1;

/// The contract as Markdown (the project's copy of the shared document).
pub const DOC: &str = include_str!("../trace-format.md");

/// The JSON Schema (draft 2020-12) every record validates against.
pub const SCHEMA: &str = include_str!("../trace.schema.json");

/// Every `kind` documented in version 1 (readers skip anything else).
pub const KINDS: &[&str] = &[
    "session",
    "env",
    "model_load",
    "infer",
    "kernel",
    "mem",
    "frames",
    "video_frames",
    "longtask",
    "loaf",
    "input",
    "probe",
    "paint",
    "nav",
    "net",
    "end",
];
