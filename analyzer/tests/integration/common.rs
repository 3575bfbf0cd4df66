//! Helpers shared by the modules of this test binary (and, through
//! `#[path]`, by the audit crate's HTML report test): writing trace files,
//! reading one back, and the analysis with the CLI's default grouping.

use std::path::{Path, PathBuf};

use webinfer_analyzer::analysis::{run, Analysis, Options};
use webinfer_analyzer::read::{read_all, ReadOptions, ReadStats};
use webinfer_analyzer::session::SessionData;

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The records `lines` as JSONL text: one a line, each ending in `\n`.
pub fn jsonl(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A fresh temporary folder holding `bytes` as `name`: the folder (deleted
/// on drop) and the file's path.
pub fn temp_file(name: &str, bytes: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, bytes);
    (dir, p)
}

/// [`temp_file`] read with the default options.
pub fn read_one(name: &str, bytes: impl AsRef<[u8]>) -> (Vec<SessionData>, ReadStats) {
    let (_dir, p) = temp_file(name, bytes);
    read_all(&[p], &ReadOptions::default()).unwrap()
}

/// The analysis of `inputs` grouped by the CLI's default keys (`label`,
/// `variant`, `browser`, `model`, `backend`), no baselines.
pub fn analyze(inputs: Vec<PathBuf>) -> Analysis {
    run(&Options {
        inputs,
        baselines: vec![],
        group_by: ["label", "variant", "browser", "model", "backend"]
            .map(String::from)
            .to_vec(),
        read: ReadOptions::default(),
    })
    .unwrap()
}
