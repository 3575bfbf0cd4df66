//! The integration tests of `webinfer-native`, one test binary (`--test
//! integration`); each module is one former test file, so a filter such as
//! `cargo test -p webinfer-native --test integration engines::` runs one.

mod common;
mod dtypes;
mod engines;
mod litert;
mod runner;
