//! `cargo run -p webinfer-bench --bin observer -- [--n 30] [--reps 2] [--config tfjs-wasm ...]`:
//! the same bench page with the hook injected and passed through untouched, alternated,
//! measured by the page itself; prints the inference p50 ratio, the idle FPS difference and
//! whether the outputs are identical.

use clap::Parser;
use webinfer_bench::fidelity::Config;
use webinfer_bench::observer::{self, ObserverOptions};

/// Observer effect: page with vs without the hook.
#[derive(Parser, Debug)]
struct Args {
    /// Measured inferences per run.
    #[arg(long, default_value_t = 30)]
    n: usize,
    /// Warm-up inferences per run.
    #[arg(long, default_value_t = 3)]
    warm: usize,
    /// Runs of each side (hooks / no hooks), alternated.
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// Idle window (ms) for FPS.
    #[arg(long, default_value_t = 3000)]
    idle_ms: u64,
    /// A/A control: no hook on either side (the set-up's own noise floor).
    #[arg(long)]
    control: bool,
    /// Configurations (tfjs-wasm, tfjs-webgl, ort-wasm); default all.
    #[arg(long = "config", value_parser = parse_config)]
    configs: Vec<Config>,
}

fn parse_config(s: &str) -> Result<Config, String> {
    Config::parse(s).ok_or_else(|| format!("unknown config {s} (tfjs-wasm, tfjs-webgl, ort-wasm)"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let opts = ObserverOptions {
        configs: if a.configs.is_empty() {
            Config::ALL.to_vec()
        } else {
            a.configs
        },
        n: a.n,
        warm: a.warm,
        reps: a.reps,
        idle_ms: a.idle_ms,
        control: a.control,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let reports = rt.block_on(observer::run(&opts))?;
    println!(
        "webinfer observer effect: {} inferences per run after {} warm-ups, {} runs with hooks and {} without, alternated; idle window {} ms",
        opts.n, opts.warm, opts.reps, opts.reps, opts.idle_ms
    );
    if opts.control {
        println!("A/A CONTROL: the \"with hooks\" column is a second page WITHOUT hooks");
    }
    println!("{}", observer::table(&reports));
    Ok(())
}
