//! `cargo run -p webinfer-bench --bin abrupt -- [--linger 0 --linger 200] [--reps 2]
//! [--browser chromium --browser firefox] [--hook-js FILE]`: how many `infer` records are lost
//! when the browser is closed the moment an e2e page reports DONE (Chromium: its context is
//! disposed; Firefox: SIGTERM), per time the page stayed after its last call. Builds the e2e
//! assets first (`node web/e2e/build.mjs`).

use clap::Parser;
use webinfer_bench::abrupt::{self, AbruptOptions};

/// Abrupt-close loss.
#[derive(Parser, Debug)]
struct Args {
    /// Inferences per page.
    #[arg(long, default_value_t = 20)]
    n: usize,
    /// ms the page stays after its last call before DONE (repeatable).
    #[arg(long = "linger")]
    lingers: Vec<u64>,
    /// Repetitions per case.
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// Browsers: chromium, firefox (repeatable; default both).
    #[arg(long = "browser")]
    browsers: Vec<String>,
    /// Pages under web/ (repeatable; default the ORT page and the TF.js strict-CSP page).
    #[arg(long = "page")]
    pages: Vec<String>,
    /// Inject this hook source (e.g. an older hook, its MANIFEST files concatenated) instead
    /// of the embedded one.
    #[arg(long)]
    hook_js: Option<std::path::PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let build = std::process::Command::new("node")
        .arg(webinfer_bench::harness::repo_root().join("web/e2e/build.mjs"))
        .status()?;
    if !build.success() {
        return Err("node web/e2e/build.mjs failed".into());
    }
    let mut browsers = Vec::new();
    for b in if a.browsers.is_empty() {
        vec!["chromium".into(), "firefox".into()]
    } else {
        a.browsers.clone()
    } {
        browsers.push(match b.as_str() {
            "chromium" => "chromium",
            "firefox" => "firefox",
            other => return Err(format!("unknown browser {other} (chromium, firefox)").into()),
        });
    }
    let opts = AbruptOptions {
        pages: if a.pages.is_empty() {
            vec![
                "/e2e/ort.html".into(),
                "/e2e/csp-meta.html?backend=wasm".into(),
            ]
        } else {
            a.pages.clone()
        },
        n: a.n,
        lingers: if a.lingers.is_empty() {
            vec![0, 200]
        } else {
            a.lingers.clone()
        },
        reps: a.reps,
        browsers,
        hook_js: a.hook_js.clone(),
    };
    let rt = tokio::runtime::Runtime::new()?;
    let rows = rt.block_on(abrupt::run(&opts))?;
    println!(
        "webinfer abrupt close: {} inferences per page, {} repetitions per case, hook {}",
        opts.n,
        opts.reps,
        a.hook_js
            .as_ref()
            .map_or("embedded".to_owned(), |p| p.display().to_string())
    );
    println!("{}", abrupt::table(&rows));
    Ok(())
}
