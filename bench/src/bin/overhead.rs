//! `overhead`: prints webinfer's overhead benchmarks as tables of ratios.
//!
//! ```text
//! cargo run --release -p webinfer-bench --bin overhead               # all three
//! cargo run --release -p webinfer-bench --bin overhead -- rewrite    # MB/s per core
//! cargo run --release -p webinfer-bench --bin overhead -- ttfb       # slow 5 MB page
//! cargo run --release -p webinfer-bench --bin overhead -- analyze --gb 1
//! ```
//!
//! See `bench/README.md` for what each measures, its baseline and target.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use webinfer_bench::overhead::{analyze, ratio, rewrite, ttfb, OverheadError, Table};

#[derive(Parser)]
#[command(about = "webinfer overhead benchmarks (release builds only give meaningful numbers)")]
struct Cli {
    #[command(subcommand)]
    what: Option<What>,
}

#[derive(Subcommand)]
enum What {
    /// HTML rewrite throughput, MB/s per core, vs a copy and a full lol_html parse.
    Rewrite(RewriteArgs),
    /// Time to first byte of a slowly delivered page: direct, injected, passed through.
    Ttfb(TtfbArgs),
    /// Analyzer records/s, records per CPU second and peak RSS on generated traces.
    Analyze(AnalyzeArgs),
    /// All three with default settings (the default).
    All,
}

#[derive(clap::Args)]
struct RewriteArgs {
    /// Page size in MB (10^6 bytes).
    #[arg(long, default_value_t = 5.0)]
    page_mb: f64,
    /// Bytes each case processes at least, in MB.
    #[arg(long, default_value_t = 500.0)]
    min_mb: f64,
}

#[derive(clap::Args)]
struct TtfbArgs {
    /// Page size in MB (10^6 bytes).
    #[arg(long, default_value_t = 5.0)]
    page_mb: f64,
    /// Bytes the origin writes at a time, KiB.
    #[arg(long, default_value_t = 64)]
    chunk_kib: usize,
    /// Pause between the origin's writes, ms.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// Fetches per path (medians are printed).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Input sizes in GB (10^9 bytes), one run each.
    #[arg(long, num_args = 1.., default_values_t = [1.0])]
    gb: Vec<f64>,
    /// Where the generated traces go (deleted afterwards).
    #[arg(long, env = "BENCH_TMP", default_value = "/var/tmp")]
    tmp: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(analyze::CHILD_ARG) {
        return analyze_child(&args[2..]);
    }
    let cli = Cli::parse();
    let res = match cli.what.unwrap_or(What::All) {
        What::Rewrite(a) => bench_rewrite(&a),
        What::Ttfb(a) => bench_ttfb(&a),
        What::Analyze(a) => bench_analyze(&a),
        What::All => bench_rewrite(&RewriteArgs {
            page_mb: 5.0,
            min_mb: 500.0,
        })
        .and_then(|()| {
            bench_ttfb(&TtfbArgs {
                page_mb: 5.0,
                chunk_kib: 64,
                interval_ms: 20,
                repeats: 3,
            })
        })
        .and_then(|()| {
            bench_analyze(&AnalyzeArgs {
                gb: vec![1.0],
                tmp: PathBuf::from(std::env::var("BENCH_TMP").unwrap_or("/var/tmp".into())),
            })
        }),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

fn analyze_child(args: &[String]) -> ExitCode {
    let [traces, out] = args else {
        eprintln!(
            "usage: overhead {} TRACES_DIR REPORT_DIR",
            analyze::CHILD_ARG
        );
        return ExitCode::from(2);
    };
    match analyze::child(traces.as_ref(), out.as_ref()) {
        Ok(n) => {
            println!("records={n}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cores} cores, load average {}", load.join(" "))
}

fn runtime_current_thread() -> Result<tokio::runtime::Runtime, OverheadError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OverheadError::new("starting a runtime", e))
}

fn bench_rewrite(a: &RewriteArgs) -> Result<(), OverheadError> {
    let opts = rewrite::Options {
        page_bytes: (a.page_mb * 1e6) as usize,
        min_bytes: (a.min_mb * 1e6) as usize,
    };
    eprintln!("rewrite: {} ...", machine());
    let rows = runtime_current_thread()?.block_on(rewrite::run(&opts))?;
    let copy = rows.first().map_or(0.0, rewrite::Row::mb_s_per_core);
    let mut t = Table::new(&[
        "case",
        "MB/s per core (thread CPU)",
        "MB/s wall",
        "vs copy",
        "vs 300 MB/s/core goal",
    ]);
    for r in &rows {
        t.row(vec![
            r.case.clone(),
            format!("{:.0}", r.mb_s_per_core()),
            format!("{:.0}", r.mb_s_wall()),
            ratio(r.mb_s_per_core(), copy),
            ratio(r.mb_s_per_core(), rewrite::TARGET_MB_S_PER_CORE),
        ]);
    }
    println!(
        "\n## HTML rewrite throughput ({:.1} MB pages, 64 KiB chunks, >= {:.0} MB per case; {})\n",
        a.page_mb,
        a.min_mb,
        machine()
    );
    print!("{}", t.markdown());
    Ok(())
}

fn bench_ttfb(a: &TtfbArgs) -> Result<(), OverheadError> {
    let opts = ttfb::Options {
        page_bytes: (a.page_mb * 1e6) as usize,
        pace: ttfb::Pace {
            chunk: a.chunk_kib * 1024,
            interval: Duration::from_millis(a.interval_ms),
            hold_after: None,
        },
        repeats: a.repeats,
    };
    eprintln!("ttfb: {} ...", machine());
    let rt = tokio::runtime::Runtime::new().map_err(|e| OverheadError::new("runtime", e))?;
    let report = rt.block_on(ttfb::run(&opts))?;
    println!(
        "\n## Time to first byte, {:.1} MB page sent {} KiB every {} ms (medians of {}; {})\n",
        report.page_len as f64 / 1e6,
        a.chunk_kib,
        a.interval_ms,
        a.repeats,
        machine()
    );
    print!("{}", report.table().markdown());
    if let Some((extra, send)) = report.held_back() {
        let verdict = if extra < send / 2.0 {
            "not held back"
        } else {
            "HELD BACK"
        };
        println!(
            "\nfirst byte through the rewriter minus pass-through: {extra:.1} ms, vs {send:.0} ms \
             for the origin to send the whole page ({} of it): {verdict}",
            ratio(extra, send)
        );
    }
    Ok(())
}

fn bench_analyze(a: &AnalyzeArgs) -> Result<(), OverheadError> {
    let exe = std::env::current_exe().map_err(|e| OverheadError::new("current exe", e))?;
    let mut rows = Vec::new();
    for gb in &a.gb {
        eprintln!("analyze: generating {gb} GB in {} ...", a.tmp.display());
        let r = analyze::run(&exe, &a.tmp, (gb * 1e9) as u64)?;
        eprintln!(
            "analyze: {} records in {:.2} s",
            r.records_read,
            r.wall.as_secs_f64()
        );
        rows.push(r);
    }
    println!(
        "\n## Analyzer throughput (generated traces, md+csv reports; {})\n",
        machine()
    );
    print!("{}", analyze::table(&rows).markdown());
    println!(
        "\ngoals: >= 1 M records/s per core; peak RSS < {:.0} GB at 10 GB of input",
        analyze::TARGET_RSS_BYTES as f64 / 1e9
    );
    Ok(())
}
