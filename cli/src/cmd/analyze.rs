//! `webinfer analyze`: traces in, metrics, charts and reports out. [`analyze`] is the
//! analysis with typed [`AnalyzeOptions`] (its `Default` is the flags' defaults), called by
//! this subcommand and by `webinfer audit --out`.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use webinfer_analyzer::analysis::{self, Options};
use webinfer_analyzer::read::ReadOptions;
use webinfer_analyzer::{report, sql, sql_metrics};

/// `--out`'s default.
const DEFAULT_OUT: &str = "report";
/// `--group-by`'s default.
const DEFAULT_GROUP_BY: &str = "label,variant,browser,model,backend";
/// `--format`'s default.
const DEFAULT_FORMATS: &str = "md,html,csv,parquet,svg,png";

/// What to analyze and what to write: the analysis flags of `webinfer analyze`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Trace files or folders.
    pub paths: Vec<PathBuf>,
    /// Native baseline traces.
    pub baselines: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Grouping keys (blank ones are ignored).
    pub group_by: Vec<String>,
    /// Outputs (md, html, csv, parquet, svg, png).
    pub formats: Vec<String>,
    /// Parser threads (`None`: all cores).
    pub jobs: Option<usize>,
}

impl Default for AnalyzeOptions {
    /// No inputs; `--out report`, `--group-by label,variant,browser,model,backend`, every
    /// format, all cores.
    fn default() -> Self {
        let list = |s: &str| s.split(',').map(str::to_owned).collect();
        AnalyzeOptions {
            paths: Vec::new(),
            baselines: Vec::new(),
            out: PathBuf::from(DEFAULT_OUT),
            group_by: list(DEFAULT_GROUP_BY),
            formats: list(DEFAULT_FORMATS),
            jobs: None,
        }
    }
}

impl From<Args> for AnalyzeOptions {
    fn from(a: Args) -> Self {
        AnalyzeOptions {
            paths: a.paths,
            baselines: a.baseline,
            out: a.out,
            group_by: a.group_by,
            formats: a.format,
            jobs: a.jobs,
        }
    }
}

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
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Grouping keys: sid, label, variant, browser, browser_version, source, framework, model, backend, sha256, page, role.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = DEFAULT_GROUP_BY
    )]
    pub group_by: Vec<String>,
    /// Outputs: md, html, csv, parquet, svg, png.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = DEFAULT_FORMATS
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

/// Runs `webinfer analyze`: the SQL printers, or [`analyze`].
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.print_sql || args.sql_dir.is_some() {
        return sql_out(&args);
    }
    analyze(&AnalyzeOptions::from(args))
}

/// Reads the traces, computes the metrics, prints the summary lines and the timing to
/// stderr and writes the reports to `opts.out`.
pub fn analyze(opts: &AnalyzeOptions) -> anyhow::Result<()> {
    let mut read = ReadOptions {
        sessions: HashSet::new(),
        ..Default::default()
    };
    if let Some(j) = opts.jobs {
        read.jobs = j.max(1);
    }
    let group_by: Vec<String> = opts
        .group_by
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let analysis_opts = Options {
        inputs: opts.paths.clone(),
        baselines: opts.baselines.clone(),
        group_by,
        read,
    };
    let started = std::time::Instant::now();
    let a = analysis::run(&analysis_opts)?;
    let secs = started.elapsed().as_secs_f64();
    for line in report::summary_lines(&a) {
        eprintln!("{line}");
    }
    let written = report::write_all(&a, &opts.out, &opts.formats)?;
    eprintln!(
        "analyzed {} records in {secs:.2} s ({:.0} records/s); wrote {} files to {}",
        a.stats.records,
        a.stats.records as f64 / secs.max(1e-9),
        written.len(),
        opts.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, FromArgMatches as _};

    fn parse(argv: &[&str]) -> Args {
        let cmd = Args::augment_args(clap::Command::new("analyze"));
        Args::from_arg_matches(&cmd.try_get_matches_from(argv).unwrap()).unwrap()
    }

    #[test]
    fn default_options_are_the_flags_defaults() {
        assert_eq!(
            AnalyzeOptions::from(parse(&["analyze", "traces/x"])),
            AnalyzeOptions {
                paths: vec!["traces/x".into()],
                ..AnalyzeOptions::default()
            }
        );
        let o = AnalyzeOptions::from(parse(&[
            "analyze",
            "t",
            "--baseline",
            "n.jsonl",
            "--out",
            "r2",
            "--group-by",
            "model",
            "--format",
            "md,csv",
            "--jobs",
            "2",
        ]));
        assert_eq!(
            o,
            AnalyzeOptions {
                paths: vec!["t".into()],
                baselines: vec!["n.jsonl".into()],
                out: "r2".into(),
                group_by: vec!["model".into()],
                formats: vec!["md".into(), "csv".into()],
                jobs: Some(2),
            }
        );
    }
}
