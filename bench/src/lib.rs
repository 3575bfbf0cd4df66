//! webinfer's benchmarks as a library: each module runs one benchmark and
//! returns its rows; the binaries in `src/bin/` print them as tables of
//! ratios, and the tests in `tests/` run short versions with loose bounds.

pub mod abrupt;
pub mod fidelity;
pub mod harness;
pub mod observer;
pub mod overhead;
