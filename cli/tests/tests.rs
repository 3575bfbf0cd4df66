//! The `webinfer` binary's tests in one binary, one module per area
//! (`load.rs` stays a binary of its own: its load tests measure the proxy
//! process's throughput and RSS and must have both cores to themselves).

mod common;

mod it {
    mod durability;
    mod security;
}
