//! The `webinfer` command line: a thin layer that parses arguments and calls
//! into the library crates. Each subcommand lives in its own module under
//! `cmd/`.

use clap::{Parser, Subcommand};

mod cmd;

/// Measure deep-learning inference inside web browsers as users feel it.
#[derive(Parser)]
#[command(name = "webinfer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTPS proxy that injects the hooks and collects traces.
    Proxy(cmd::proxy::Args),
    /// Manage the proxy's certificate authority.
    Ca(cmd::ca::Args),
    /// Drive a real browser through the proxy and collect traces.
    Audit(cmd::audit::Args),
    /// Turn traces into metrics, charts and reports.
    Analyze(cmd::analyze::Args),
    /// Export traces to other tools' formats.
    Export(cmd::export::Args),
    /// Run a model natively to get a baseline for the same bytes.
    Native(cmd::native::Args),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEBINFER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Proxy(a) => cmd::proxy::run(a),
        Command::Ca(a) => cmd::ca::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Native(a) => cmd::native::run(a),
    };
    if let Err(e) = result {
        eprintln!("webinfer: error: {e:#}");
        std::process::exit(1);
    }
}
