//! Helpers shared by the injector's integration tests: the empty hook,
//! config and chunked bodies of the encoding and bomb tests (the proptest
//! configuration is the test kit's, `webinfer_testkit::prop::config`).

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use webinfer_injector::{ByteStream, Hook, HookConfig, Injector, Scope};

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
