//! `webinfer export`: traces to other tools' formats.

use std::collections::HashSet;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use webinfer_analyzer::read::{read_all, ReadOptions};

/// Arguments of `webinfer export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    format: Format,
}

#[derive(clap::Subcommand)]
enum Format {
    /// Chrome trace-event JSON for ui.perfetto.dev and chrome://tracing.
    Perfetto(PerfettoArgs),
    /// Record-level Parquet, one table per kind family, hive-partitioned
    /// (`<table>/label=…/variant=…/part-….parquet`), for DuckDB, Spark,
    /// DataFusion, polars and pyarrow (schema: format/parquet-export.md).
    Parquet(ParquetArgs),
}

#[derive(clap::Args)]
struct ParquetArgs {
    /// Trace files (.jsonl, .jsonl.gz, .parquet) or folders (searched recursively).
    #[arg(required = true)]
    traces: Vec<PathBuf>,
    /// Output folder (new, or an earlier export with the same partition keys).
    #[arg(short, long)]
    out: PathBuf,
    /// Partition keys, in folder order: any of label, variant, browser, day
    /// (`none` for no partition folders).
    #[arg(long, value_delimiter = ',', default_value = "label")]
    partition_by: Vec<String>,
    /// Rows per row group (memory is bounded by open files × this).
    #[arg(long, default_value_t = 16 * 1024)]
    batch_rows: usize,
    /// Part files open at once.
    #[arg(long, default_value_t = 32)]
    max_open: usize,
}

#[derive(clap::Args)]
struct PerfettoArgs {
    /// Session trace files or folders.
    #[arg(required = true)]
    sessions: Vec<PathBuf>,
    /// Output file (.json).
    #[arg(short, long)]
    out: PathBuf,
    /// Only these session ids (repeatable; default all).
    #[arg(long = "sid")]
    sids: Vec<String>,
    /// A Chrome trace of the same run (`webinfer audit --devtools-trace`, or one saved from
    /// the DevTools Performance panel): the output is that trace with the sessions merged in,
    /// on the browser's clock and renderer processes.
    #[arg(long, value_name = "FILE")]
    browser_trace: Option<PathBuf>,
}

/// Runs `webinfer export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.format {
        Format::Parquet(a) => {
            let partition_by: Vec<String> = a
                .partition_by
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && s != "none")
                .collect();
            let opts = webinfer_analyzer::parquet_out::ExportOptions {
                partition_by,
                batch_rows: a.batch_rows,
                max_open: a.max_open,
            };
            let st = webinfer_analyzer::parquet_out::export(&a.traces, &a.out, &opts)?;
            eprintln!("{st}; wrote {}", a.out.display());
            Ok(())
        }
        Format::Perfetto(a) => {
            let opts = ReadOptions {
                sessions: a.sids.iter().cloned().collect::<HashSet<_>>(),
                ..Default::default()
            };
            let (sessions, stats) = read_all(&a.sessions, &opts)?;
            if sessions.is_empty() {
                anyhow::bail!(
                    "no sessions found{}",
                    if a.sids.is_empty() {
                        String::new()
                    } else {
                        format!(" with id {}", a.sids.join(", "))
                    }
                );
            }
            if let Some(bt) = &a.browser_trace {
                let file =
                    std::fs::File::open(bt).with_context(|| format!("opening {}", bt.display()))?;
                let (events, meta) = webinfer_analyzer::perfetto::read_chrome_trace_from(
                    std::io::BufReader::new(file),
                )
                .map_err(|e| anyhow::anyhow!("{}: {e}", bt.display()))?;
                let f = std::fs::File::create(&a.out)
                    .with_context(|| format!("creating {}", a.out.display()))?;
                let mut w = BufWriter::new(f);
                let st = webinfer_analyzer::perfetto::merge(&sessions, events, meta, &mut w)
                    .with_context(|| format!("writing {}", a.out.display()))?;
                std::io::Write::flush(&mut w)?;
                if st.placed.is_empty() {
                    anyhow::bail!(
                        "no session matches a navigation in {} (a page session is placed by its URL's navigationStart)",
                        bt.display()
                    );
                }
                for sid in &st.unplaced {
                    eprintln!(
                        "warning: session {sid}: no navigation of its page in {}, left out",
                        bt.display()
                    );
                }
                eprintln!(
                    "{stats}; merged {} events of {} sessions into {} browser events, wrote {}",
                    st.webinfer_events,
                    st.placed.len(),
                    st.browser_events,
                    a.out.display()
                );
                return Ok(());
            }
            let f = std::fs::File::create(&a.out)
                .with_context(|| format!("creating {}", a.out.display()))?;
            let mut w = BufWriter::new(f);
            let n = webinfer_analyzer::perfetto::write(&sessions, &mut w)
                .with_context(|| format!("writing {}", a.out.display()))?;
            std::io::Write::flush(&mut w)?;
            eprintln!(
                "{stats}; wrote {n} events of {} sessions to {}",
                sessions.len(),
                a.out.display()
            );
            Ok(())
        }
    }
}
