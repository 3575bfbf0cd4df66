//! `cargo run -p webinfer-bench --bin observer -- [--n 30] [--reps 2] [--config tfjs-wasm ...]`:
//! the same bench page with the hook injected and passed through untouched, alternated,
//! measured by the page itself; prints the inference p50 ratio, the idle FPS difference and
//! whether the outputs are identical.

use clap::Parser;
use webinfer_bench::fidelity::BenchArgs;
use webinfer_bench::observer::{self, ObserverOptions};

/// Observer effect: page with vs without the hook.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    bench: BenchArgs,
    /// Runs of each side (hooks / no hooks), alternated.
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// A/A control: no hook on either side (the set-up's own noise floor).
    #[arg(long)]
    control: bool,
    /// JSON object merged into the hook's config on the hooked side, e.g.
    /// '{"off":["kernel_wrap"]}' (hook parts switched off: injector/js/RULES.md, "Switches").
    #[arg(long, value_parser = parse_json)]
    hook_config: Option<serde_json::Value>,
    /// Cost breakdown: A/A control, the full hook and the hook with each part switched off
    /// in turn (`--part` to choose), `--rounds` times each, pooled.
    #[arg(long)]
    parts: bool,
    /// With `--parts`: only these parts (default: all of them).
    #[arg(long = "part")]
    part: Vec<String>,
    /// With `--parts`: how many times every variant runs (in turn).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// In-page costs of each hook part per inference (one hooked page per configuration).
    #[arg(long)]
    micro: bool,
    /// In-page A/B of the parts that can be switched at run time, `--n` pairs each.
    #[arg(long)]
    toggles: bool,
}

fn parse_json(s: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(s) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("--hook-config must be a JSON object".into()),
        Err(e) => Err(format!("--hook-config: {e}")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let opts = ObserverOptions {
        configs: a.bench.configs(),
        n: a.bench.n,
        warm: a.bench.warm,
        reps: a.reps,
        idle_ms: a.bench.idle_ms,
        control: a.control,
        hook_config: a.hook_config.clone(),
    };
    let rt = tokio::runtime::Runtime::new()?;
    if a.toggles {
        println!("In-page A/B, {} pairs per part (on, off | off, on alternated), one hooked page per configuration", opts.n);
        println!("| config | part | p50 on ms | p50 off ms | per-pair p50 ratio on/off | cost |");
        println!("| --- | --- | ---: | ---: | ---: | ---: |");
        for c in &opts.configs {
            let v = rt.block_on(observer::toggles(*c, opts.warm, opts.n))?;
            if let Some(o) = v.as_object() {
                for (part, r) in o {
                    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
                    println!(
                        "| {} | `{part}` | {:.2} | {:.2} | {:.4} | {:+.2} % |",
                        c.name(),
                        f("on_p50"),
                        f("off_p50"),
                        f("pair_ratio"),
                        (f("pair_ratio") - 1.0) * 100.0
                    );
                }
            }
        }
        return Ok(());
    }
    if a.micro {
        println!("| config | kernels / inference | op scopes / inference | tidies / inference | performance.memory µs | W.sampleMem() µs | eager record µs | lazy emit µs | performance.now() µs | wrapper call µs |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for c in &opts.configs {
            let v = rt.block_on(observer::micro(*c, opts.warm))?;
            let f = |k: &str| v[k].as_f64().map(|x| format!("{x:.3}")).unwrap_or_default();
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.name(),
                v["kernels"],
                v["op_scopes"],
                v["tidies"],
                f("perf_memory"),
                f("sample_mem"),
                f("eager_record"),
                f("lazy_emit"),
                f("now"),
                f("wrapper_call")
            );
        }
        return Ok(());
    }
    if a.parts {
        let mut variants = observer::part_variants();
        if !a.part.is_empty() {
            variants.retain(|v| {
                v.hook_config.is_none()
                    || a.part.iter().any(|p| v.label.contains(&format!("`{p}`")))
            });
        }
        if let Some(h) = &a.hook_config {
            // a common base: every hooked variant gets these fields too
            for v in variants.iter_mut().filter(|v| !v.control) {
                let mut merged = h.clone();
                if let (Some(m), Some(serde_json::Value::Object(o))) =
                    (merged.as_object_mut(), v.hook_config.take())
                {
                    for (k, x) in o {
                        m.insert(k, x);
                    }
                }
                v.hook_config = Some(merged);
            }
        }
        let rows = rt.block_on(observer::parts(&opts, &variants, a.rounds))?;
        println!(
            "webinfer observer cost breakdown: {} inferences per run after {} warm-ups, {} reps per run, {} rounds of every variant in turn",
            opts.n, opts.warm, opts.reps, a.rounds
        );
        println!("{}", observer::parts_table(&rows));
        return Ok(());
    }
    let reports = rt.block_on(observer::run(&opts))?;
    println!(
        "webinfer observer effect: {} inferences per run after {} warm-ups, {} runs with hooks and {} without, alternated; idle window {} ms",
        opts.n, opts.warm, opts.reps, opts.reps, opts.idle_ms
    );
    if let Some(h) = &a.hook_config {
        println!("hook config on the hooked side: {h}");
    }
    if opts.control {
        println!("A/A CONTROL: the \"with hooks\" column is a second page WITHOUT hooks");
    }
    println!("{}", observer::table(&reports));
    Ok(())
}
