//! The one proptest configuration of the workspace's property tests.

use proptest::test_runner::Config;

/// `default_cases` cases unless `PROPTEST_CASES` says otherwise (the other
/// `PROPTEST_*` variables apply as proptest reads them), and no failure
/// files: a failing case is printed with its seed instead.
pub fn config(default_cases: u32) -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = None;
    c
}
