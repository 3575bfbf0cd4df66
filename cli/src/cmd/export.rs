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
}

/// Runs `webinfer export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.format {
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
