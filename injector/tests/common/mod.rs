//! Helpers shared by the injector's integration tests (each test file is
//! its own binary and uses a part of them, hence the `dead_code` allowance):
//! the proptest case count, and the empty hook, config and chunked bodies of
//! the encoding and bomb tests.
#![allow(dead_code)]

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use proptest::test_runner::Config as ProptestConfig;
use webinfer_injector::{ByteStream, Hook, HookConfig, Injector, Scope};

/// Cases unless `PROPTEST_CASES` says otherwise.
pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An injector with an empty hook script.
pub fn injector() -> Injector {
    Injector::with_hook(Hook::from_source("(function(){})();"))
}

/// A document hook config (session `s1`, time origin 0).
pub fn cfg() -> HookConfig {
    HookConfig::new("s1", Scope::Document, 0.0)
}

/// `data` as a body of `size`-byte chunks.
pub fn chunked(data: Vec<u8>, size: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).boxed()
}
