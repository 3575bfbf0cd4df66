//! `cargo run -p webinfer-bench --bin fidelity -- [--n 30] [--config tfjs-wasm ...]`:
//! runs the demo models in headless Chromium through the injecting proxy with a DevTools
//! trace, and prints the hook's latency, FPS and JS heap next to independent references
//! (framework timers, the trace, `Performance.getMetrics`) with the ratio and target.

use clap::Parser;
use webinfer_bench::fidelity::{self, Config, FidelityOptions};

/// Measurement fidelity: hook numbers vs ground truth.
#[derive(Parser, Debug)]
struct Args {
    /// Measured inferences per configuration.
    #[arg(long, default_value_t = 30)]
    n: usize,
    /// Warm-up inferences per configuration.
    #[arg(long, default_value_t = 3)]
    warm: usize,
    /// Idle window (ms) for FPS and heap.
    #[arg(long, default_value_t = 3000)]
    idle_ms: u64,
    /// Configurations (tfjs-wasm, tfjs-webgl, ort-wasm); default all.
    #[arg(long = "config", value_parser = Config::parse_arg)]
    configs: Vec<Config>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let opts = FidelityOptions {
        configs: Config::or_all(a.configs),
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
