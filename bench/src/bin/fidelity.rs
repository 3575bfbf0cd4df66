//! `cargo run -p webinfer-bench --bin fidelity -- [--n 30] [--config tfjs-wasm ...]`:
//! runs the demo models in headless Chromium through the injecting proxy with a DevTools
//! trace, and prints the hook's latency, FPS and JS heap next to independent references
//! (framework timers, the trace, `Performance.getMetrics`) with the ratio and target.

use clap::Parser;
use webinfer_bench::fidelity::{self, BenchArgs, FidelityOptions};

/// Measurement fidelity: hook numbers vs ground truth.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    bench: BenchArgs,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse().bench;
    let opts = FidelityOptions {
        configs: a.configs(),
        n: a.n,
        warm: a.warm,
        idle_ms: a.idle_ms,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let rows = rt.block_on(fidelity::run(&opts))?;
    println!(
        "webinfer measurement fidelity: {} inferences per config after {} warm-ups, idle window {} ms",
        opts.n, opts.warm, opts.idle_ms
    );
    println!("{}", fidelity::table(&rows));
    Ok(())
}
