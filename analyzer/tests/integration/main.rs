//! The integration tests of `webinfer-analyzer`, one test binary (`--test
//! integration`); each module is one former test file, so a filter such as
//! `cargo test -p webinfer-analyzer --test integration prop_read::` runs one.

mod attribution;
mod common;
mod export;
mod metrics;
mod perfetto_merge;
mod prop_read;
mod read;
mod report;
mod sql_engines;
