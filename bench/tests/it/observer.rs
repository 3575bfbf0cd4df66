//! Observer effect, short and with loose bounds: the TF.js BlazeFace bench page on wasm,
//! through the proxy with the hook injected and through the same proxy passing everything
//! through untouched, alternated A, B, A, B; both sides timed by the page itself
//! (`webinfer_bench::observer`). Asserts
//! - the hook was on exactly in the injected runs (checked by the benchmark itself),
//! - the outputs are identical, inference by inference, with and without the hook,
//! - inference latency with hooks within 25 % of without (p50 of the per-pair ratios), idle
//!   FPS within 25 %.
//!
//! The tight targets (≤ 1 % latency, ≤ 0.5 FPS) are the benchmark's business:
//! `cargo run -p webinfer-bench --bin observer`.
//!
//! Needs /usr/bin/chromium (or `$CHROMIUM`) and `npm ci` in web/.

use webinfer_bench::fidelity::Config;
use webinfer_bench::observer::{self, ObserverOptions};

#[test]
fn hook_changes_no_output_and_adds_little_latency_or_frame_loss() {
    let opts = ObserverOptions {
        configs: vec![Config::TfjsWasm],
        n: 10,
        warm: 2,
        reps: 2,
        idle_ms: 1500,
        control: false,
        hook_config: None,
    };
    let reports = crate::alone(observer::run(&opts)).unwrap_or_else(|e| panic!("{e}"));
    let table = observer::table(&reports);
    let r = &reports[0];
    assert_eq!(r.hooked.latencies.len(), 20, "{table}");
    assert_eq!(r.plain.latencies.len(), 20, "{table}");
    assert!(
        r.outputs_identical(),
        "outputs differ with and without the hook\n{table}"
    );
    // The p50 of the per-pair ratios (the i-th inferences of both pages ran back to back):
    // the pooled p50 ratio also swings with the shared machine's load between pairs.
    let ratio = r.pair_ratio();
    assert!(
        (ratio - 1.0).abs() <= 0.25,
        "inference p50 of per-pair ratios with hooks / without = {ratio:.3}, not within 25 %\n{table}"
    );
    let plain_fps = r.plain.idle_fps.iter().sum::<f64>() / r.plain.idle_fps.len() as f64;
    assert!(
        r.fps_diff().abs() <= 0.25 * plain_fps,
        "idle FPS differs by {:.2} (of {plain_fps:.1})\n{table}",
        r.fps_diff()
    );
}
