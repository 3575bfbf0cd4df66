//! The webinfer trace format, version 1: the contract between the page hooks,
//! the proxy, the native baseline runner and the analyzer.
//!
//! The human-readable contract is `trace-format.md` beside this crate and the
//! machine-checkable one is `trace.schema.json`; both are embedded here so
//! every part of the workspace ships the same copy.
//!
//! This crate holds what more than one part needs, so that every writer and
//! reader of traces follows one contract:
//!
//! - the version number, the list of kinds and the schema text;
//! - writing: [`record::Record`] and [`writer::TraceWriter`], which appends
//!   whole lines with per-session sequence numbers and a bounded flush
//!   interval;
//! - reading: [`header::Header`] (the common fields of a line, typed:
//!   [`kind::Kind`], [`kind::By`]), [`files::walk`] (finding trace files),
//!   [`session::SessionMerge`] (merging a sid's `session` records from
//!   several files and writers), [`seq::WriterSeqs`] (lost, duplicated and
//!   reordered records per writer);
//! - [`percentile::percentile`], the one percentile definition behind every
//!   p50/p99 the project prints.

pub mod files;
pub mod header;
pub mod kind;
pub mod percentile;
pub mod record;
pub mod seq;
pub mod session;
pub mod writer;

pub use header::Header;
pub use kind::{By, Kind};
pub use record::{Record, RecordError};
pub use seq::{SeqRuns, SeqSummary, WriterSeqs};
pub use session::{SessionFields, SessionMerge, Source};
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
    "gen",
    "end",
];
