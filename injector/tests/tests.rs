//! The injector's integration tests in one binary, one module per area
//! (`huge.rs` stays a binary of its own: its counting global allocator
//! must see no other test's allocations).

mod common;

mod it {
    mod bombs;
    mod csp_endpoint;
    mod document;
    mod encoding;
    mod prop_csp;
    mod prop_rewrite;
}
