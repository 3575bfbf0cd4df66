//! The proxy's integration tests in one binary, one module per area. (The
//! trace sink and injection tests, `sink_*.rs` and `inject_*.rs`, build on
//! `sink_support` and are binaries of their own.)

mod support;

mod it {
    mod ca;
    mod ca_dir;
    mod ca_page;
    mod faults;
    mod framing;
    mod host_spellings;
    mod limits;
    mod module_dag;
    mod proxy;
}
