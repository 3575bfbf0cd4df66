//! `webinfer analyze`: traces in, metrics, charts and reports out.

use std::collections::HashSet;
use std::path::PathBuf;

use webinfer_analyzer::analysis::{self, Options};
use webinfer_analyzer::read::ReadOptions;
use webinfer_analyzer::{report, sql};

/// Arguments of `webinfer analyze`.
#[derive(clap::Args)]
pub struct Args {
    /// Trace files (.jsonl, .jsonl.gz, .parquet) or folders (searched recursively).
    #[arg(required_unless_present = "print_sql")]
    pub paths: Vec<PathBuf>,
    /// Native baseline traces (session.source = "native") for the slowdown ×native.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub baseline: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Grouping keys: sid, label, variant, browser, browser_version, source, framework, model, backend, sha256, page, role.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "label,variant,browser,model,backend"
    )]
    pub group_by: Vec<String>,
    /// Outputs: md, html, csv, parquet, svg, png.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "md,html,csv,parquet,svg,png"
    )]
    pub format: Vec<String>,
    /// Parser threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print the core aggregation as SQL (for DuckDB, Spark SQL or DataFusion on partitioned Parquet) and exit.
    #[arg(long)]
    pub print_sql: bool,
    /// SQL dialect for --print-sql: duckdb, spark, datafusion.
    #[arg(long, default_value = "duckdb")]
    pub sql_dialect: String,
}

/// Runs `webinfer analyze`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.print_sql {
        print!("{}", sql::latency_sql(&args.sql_dialect)?);
        return Ok(());
    }
    let mut read = ReadOptions {
        sessions: HashSet::new(),
        ..Default::default()
    };
    if let Some(j) = args.jobs {
        read.jobs = j.max(1);
    }
    let group_by: Vec<String> = args
        .group_by
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let opts = Options {
        inputs: args.paths,
        baselines: args.baseline,
        group_by,
        read,
    };
    let started = std::time::Instant::now();
    let a = analysis::run(&opts)?;
    let secs = started.elapsed().as_secs_f64();
    for line in report::summary_lines(&a) {
        eprintln!("{line}");
    }
    let written = report::write_all(&a, &args.out, &args.format)?;
    eprintln!(
        "analyzed {} records in {secs:.2} s ({:.0} records/s); wrote {} files to {}",
        a.stats.records,
        a.stats.records as f64 / secs.max(1e-9),
        written.len(),
        args.out.display()
    );
    Ok(())
}
