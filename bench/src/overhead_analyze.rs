//! Analyzer throughput: records/s, records per CPU second, and peak RSS.
//!
//! The traces come from the analyzer's own generator exactly as
//! `scripts/bench-analyze.sh` makes them (`gen-traces DIR --bytes N
//! --seconds 60`: the sample sessions cycled, kernels on, seed = index + 1,
//! one page file and one proxy file per session). The analysis then runs in
//! a child process (this binary re-executed with [`CHILD_ARG`]) that does
//! what `webinfer analyze DIR --format md,csv` does with the analyzer
//! library: read and aggregate every session with all cores, write the
//! reports. The parent reaps it with `wait4`, so CPU time and peak RSS are
//! the analysis's own and not the generator's.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use webinfer_analyzer::analysis::{self, Options as AnalysisOptions};
use webinfer_analyzer::generate::{sample_specs, write_session, SessionSpec};
use webinfer_analyzer::read::ReadOptions;
use webinfer_analyzer::report;

use super::cpu::{wait_with_usage, ChildUsage};
use super::{ctx, OverheadError, Table};

/// The first argument that makes the `overhead` binary run as the analysis
/// child: `overhead __analyze-child TRACES_DIR REPORT_DIR`.
pub const CHILD_ARG: &str = "__analyze-child";

/// The analyzer's throughput goal, records per second per core.
pub const TARGET_RECORDS_S_PER_CORE: f64 = 1_000_000.0;

/// The analyzer's memory goal at 10 GB of input, bytes.
pub const TARGET_RSS_BYTES: u64 = 2_000_000_000;

/// What the generator wrote.
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    /// Sessions.
    pub sessions: u64,
    /// Records.
    pub records: u64,
    /// Bytes of JSONL.
    pub bytes: u64,
}

/// Writes about `bytes` bytes of traces into `dir` (as `gen-traces DIR
/// --bytes N --seconds S`).
pub fn generate(dir: &Path, bytes: u64, seconds: f64) -> Result<Generated, OverheadError> {
    std::fs::create_dir_all(dir).map_err(ctx(format!("creating {}", dir.display())))?;
    let write = |spec: &SessionSpec| -> std::io::Result<(u64, u64)> {
        let page_path = dir.join(format!("{}.jsonl", spec.sid));
        let mut page = BufWriter::new(File::create(&page_path)?);
        let mut proxy_buf = Vec::new();
        let n = write_session(spec, &mut page, &mut proxy_buf)?;
        page.into_inner().map_err(|e| e.into_error())?;
        let mut written = std::fs::metadata(&page_path)?.len();
        if !proxy_buf.is_empty() {
            std::fs::write(dir.join(format!("{}.proxy.jsonl", spec.sid)), &proxy_buf)?;
            written += proxy_buf.len() as u64;
        }
        Ok((n, written))
    };
    let base = sample_specs(seconds * 1000.0);
    let mut g = Generated {
        sessions: 0,
        records: 0,
        bytes: 0,
    };
    while g.bytes < bytes {
        let i = g.sessions;
        let mut spec = base[(i % base.len() as u64) as usize].clone();
        spec.sid = format!("{}-{i}", spec.sid.trim_end_matches("-1"));
        spec.seed = i + 1;
        spec.kernels = true;
        let (n, b) = write(&spec).map_err(ctx(format!("writing traces to {}", dir.display())))?;
        g.bytes += b;
        g.records += n;
        g.sessions += 1;
    }
    Ok(g)
}

/// The child's work: analyze `traces` with every core and write the md and
/// csv reports to `out`; returns the records read.
pub fn child(traces: &Path, out: &Path) -> Result<u64, OverheadError> {
    let opts = AnalysisOptions {
        inputs: vec![traces.to_path_buf()],
        baselines: Vec::new(),
        group_by: ["label", "variant", "browser", "model", "backend"]
            .map(String::from)
            .to_vec(),
        read: ReadOptions::default(),
    };
    let a = analysis::run(&opts).map_err(ctx("analyzing"))?;
    report::write_all(&a, out, &["md".to_owned(), "csv".to_owned()])
        .map_err(ctx("writing reports"))?;
    Ok(a.stats.records)
}

/// One measured analysis.
#[derive(Debug, Clone)]
pub struct Row {
    /// Input size asked for, bytes.
    pub target_bytes: u64,
    /// What was generated.
    pub generated: Generated,
    /// Records the analyzer reported reading.
    pub records_read: u64,
    /// Wall time of the child.
    pub wall: Duration,
    /// Its CPU time and peak RSS.
    pub usage: ChildUsage,
    /// Cores available.
    pub cores: usize,
}

impl Row {
    /// Records per wall second.
    pub fn records_s(&self) -> f64 {
        self.records_read as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Records per CPU second (user + system): per core actually used.
    pub fn records_per_cpu_s(&self) -> f64 {
        self.records_read as f64 / self.usage.cpu().as_secs_f64().max(1e-9)
    }

    /// Records per wall second divided by the cores available (how
    /// `scripts/bench-analyze.sh` and the README count "per core").
    pub fn records_s_per_core_wall(&self) -> f64 {
        self.records_s() / self.cores.max(1) as f64
    }
}

/// Generates `bytes` of traces under `tmp`, analyzes them in a child
/// process (`exe CHILD_ARG DIR OUT`), deletes them, and returns the row.
pub fn run(exe: &Path, tmp: &Path, bytes: u64) -> Result<Row, OverheadError> {
    let work = tempfile::Builder::new()
        .prefix("webinfer-overhead-")
        .tempdir_in(tmp)
        .map_err(ctx(format!("temp dir in {}", tmp.display())))?;
    let traces: PathBuf = work.path().join("traces");
    let out = work.path().join("report");
    let generated = generate(&traces, bytes, 60.0)?;
    let started = Instant::now();
    let child = Command::new(exe)
        .arg(CHILD_ARG)
        .arg(&traces)
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(ctx(format!("running {}", exe.display())))?;
    let (usage, text) = wait_and_read(child)?;
    let wall = started.elapsed();
    if !usage.success {
        return Err(OverheadError::new(
            "the analysis child",
            "failed (see stderr)",
        ));
    }
    let records_read = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("records="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| OverheadError::new("the analysis child", format!("printed {text:?}")))?;
    Ok(Row {
        target_bytes: bytes,
        generated,
        records_read,
        wall,
        usage,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

/// Reads the child's stdout to the end, then reaps it with its usage.
fn wait_and_read(mut child: std::process::Child) -> Result<(ChildUsage, String), OverheadError> {
    use std::io::Read as _;
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut text)
            .map_err(ctx("reading the child's output"))?;
    }
    let usage = wait_with_usage(child).map_err(ctx("waiting for the child"))?;
    Ok((usage, text))
}

/// The table of analyzer rows with ratios against the goals.
pub fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(&[
        "input",
        "records",
        "wall s",
        "CPU s",
        "records/s",
        "records per CPU s",
        "records/s ÷ cores",
        "peak RSS MB",
        "per CPU s / 1 M goal",
        "÷ cores / 1 M goal",
    ]);
    for r in rows {
        t.row(vec![
            format!("{:.2} GB", r.generated.bytes as f64 / 1e9),
            r.records_read.to_string(),
            format!("{:.2}", r.wall.as_secs_f64()),
            format!("{:.2}", r.usage.cpu().as_secs_f64()),
            format!("{:.0}", r.records_s()),
            format!("{:.0}", r.records_per_cpu_s()),
            format!("{:.0}", r.records_s_per_core_wall()),
            format!("{:.0}", r.usage.max_rss as f64 / 1e6),
            super::ratio(r.records_per_cpu_s(), TARGET_RECORDS_S_PER_CORE),
            super::ratio(r.records_s_per_core_wall(), TARGET_RECORDS_S_PER_CORE),
        ]);
    }
    t
}
