//! `webinfer analyze`: traces in, metrics, charts and reports out.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use webinfer_analyzer::analysis::{self, Options};
use webinfer_analyzer::read::ReadOptions;
use webinfer_analyzer::{report, sql, sql_metrics};

/// Arguments of `webinfer analyze`.
#[derive(clap::Args)]
pub struct Args {
    /// Trace files (.jsonl, .jsonl.gz, .parquet) or folders (searched recursively).
    #[arg(required_unless_present_any = ["print_sql", "sql_dir"])]
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
    /// Print every metric table as SQL over a `webinfer export parquet` folder (setup
    /// statements first) for DuckDB, Spark SQL or DataFusion, and exit.
    #[arg(long)]
    pub print_sql: bool,
    /// Write the setup and one file per table (`<table>.sql`) into this folder, and exit.
    #[arg(long, value_name = "DIR")]
    pub sql_dir: Option<PathBuf>,
    /// SQL dialect: duckdb, spark, datafusion.
    #[arg(long, default_value = "duckdb")]
    pub sql_dialect: String,
    /// The `webinfer export parquet` folder the SQL reads (its partition keys come from its
    /// manifest when it exists).
    #[arg(long, value_name = "DIR", default_value = "webinfer-parquet")]
    pub sql_source: String,
    /// Only this table (latency, memory, smoothness, responsiveness, rendering, qoe,
    /// generation, slowdown; `core` = the latency aggregation over one `records` table of
    /// JSON lines, as the benchmark runs it).
    #[arg(long, value_name = "NAME")]
    pub sql_table: Option<String>,
}

fn sql_out(args: &Args) -> anyhow::Result<()> {
    let d = &args.sql_dialect;
    if args.sql_table.as_deref() == Some("core") {
        print!("{}", sql::latency_sql(d)?);
        return Ok(());
    }
    let keys =
        webinfer_analyzer::parquet_out::partition_keys_of(std::path::Path::new(&args.sql_source))?;
    let setup = sql_metrics::setup_sql(d, &args.sql_source, &keys)?;
    let tables: Vec<&str> = match &args.sql_table {
        Some(t) => vec![t.as_str()],
        None => sql_metrics::TABLES.iter().map(|t| t.0).collect(),
    };
    let mut texts = Vec::new();
    for t in &tables {
        texts.push((*t, sql_metrics::table_sql(t, d)?));
    }
    if let Some(dir) = &args.sql_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("setup.sql"), &setup)?;
        for (t, q) in &texts {
            std::fs::write(dir.join(format!("{t}.sql")), q)?;
        }
        eprintln!(
            "wrote setup.sql and {} table files ({d}) to {}",
            texts.len(),
            dir.display()
        );
    } else {
        print!("{setup}");
        for (_, q) in &texts {
            print!("\n{q}");
        }
    }
    Ok(())
}

/// Runs `webinfer analyze`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.print_sql || args.sql_dir.is_some() {
        return sql_out(&args);
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
