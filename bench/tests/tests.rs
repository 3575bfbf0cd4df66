//! The bench crate's behaviour tests in one binary, one module per area.

mod it {
    mod fidelity;
    mod observer;
    mod overhead;
}

/// One test at a time: the fidelity and observer tests time real Chromium
/// runs, and a concurrent test (another browser, or the overhead tests'
/// proxy and rewriter) would be measured with them. Sync tests take it
/// with `blocking_lock` before starting their runtime.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `fut` on a two-worker runtime while holding [`ONE_AT_A_TIME`] (for sync tests).
pub fn alone<F: std::future::Future>(fut: F) -> F::Output {
    let _one = ONE_AT_A_TIME.blocking_lock();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(fut)
}
