//! webinfer analyzer: reads webinfer traces (`.jsonl`, `.jsonl.gz`,
//! Parquet), computes the metrics, aggregates them across sessions and
//! repeats, and writes reports, charts and Perfetto timelines.
//!
//! Statistics are kept apart from I/O: [`read`] is the input side,
//! [`metrics`] and [`stats`] are pure functions, [`table`] and
//! [`aggregate`] build the tables, [`report`] and [`perfetto`] write output.

pub mod aggregate;
pub mod analysis;
pub mod attribution;
mod error;
pub mod export_schema;
pub mod generate;
pub mod identity;
pub mod line_scan;
pub mod metrics;
pub mod parquet_in;
pub mod parquet_out;
pub mod perfetto;
pub mod read;
pub mod report;
pub mod series;
pub mod session;
pub mod sql;
pub mod sql_metrics;
pub mod stats;
pub mod table;

pub use error::Error;
