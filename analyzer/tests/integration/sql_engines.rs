//! Every table of [`webinfer_analyzer::sql_metrics`] run on real engines
//! (DuckDB and DataFusion from PyPI, `scripts/setup.sh` installs them) over
//! the Parquet export of the sample traces and of a seeded fixture that
//! exercises every metric family (`scripts/sql_fixture.py`), compared value
//! by value with the analyzer's own `metrics.csv` (`scripts/sql_check.py`:
//! rows equal, values within 1e-9 relative). Fails if any query is wrong.
//! The export itself is read back by pyarrow, polars, DuckDB and DataFusion
//! (`scripts/parquet_read_check.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use webinfer_analyzer::parquet_out::{export, ExportOptions};
use webinfer_analyzer::{report, sql_metrics};

use crate::common::analyze;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Analyzes `inputs` to `dir/report/metrics.csv`, exports them to
/// `dir/parquet` with `keys`, writes each dialect's SQL and runs the check.
fn check(inputs: Vec<PathBuf>, dir: &Path, keys: &[&str]) {
    let a = analyze(inputs.clone());
    let rep = dir.join("report");
    report::write_all(&a, &rep, &["csv".to_owned()]).unwrap();
    let pq = dir.join("parquet");
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let st = export(
        &inputs,
        &pq,
        &ExportOptions {
            partition_by: keys.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(st.records.values().sum::<u64>() > 0, "{st}");
    // every table reads as it is in pyarrow, polars, DuckDB and DataFusion
    let out = Command::new("python3")
        .arg(repo().join("scripts/parquet_read_check.py"))
        .arg(&pq)
        .arg(serde_json::to_string(&st.rows).unwrap())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for dialect in ["duckdb", "datafusion"] {
        let sql = dir.join(format!("sql-{dialect}"));
        std::fs::create_dir_all(&sql).unwrap();
        let setup = sql_metrics::setup_sql(dialect, pq.to_str().unwrap(), &keys).unwrap();
        std::fs::write(sql.join("setup.sql"), setup).unwrap();
        for (t, _) in sql_metrics::TABLES {
            std::fs::write(
                sql.join(format!("{t}.sql")),
                sql_metrics::table_sql(t, dialect).unwrap(),
            )
            .unwrap();
        }
        let out = Command::new("python3")
            .arg(repo().join("scripts/sql_check.py"))
            .arg(dialect)
            .arg(&sql)
            .arg(rep.join("metrics.csv"))
            .output()
            .expect("python3 runs (scripts/setup.sh installs duckdb and datafusion)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{stdout}");
        assert!(out.status.success(), "{dialect}:\n{stdout}\n{stderr}");
        assert!(stdout.contains("every table matches"), "{stdout}");
    }
}

#[test]
fn every_table_matches_the_analyzer_on_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    check(
        vec![repo().join("traces/samples")],
        dir.path(),
        &["label", "variant"],
    );
}

#[test]
fn every_table_matches_the_analyzer_on_every_metric_family() {
    let dir = tempfile::tempdir().unwrap();
    let fx = dir.path().join("traces");
    let st = Command::new("python3")
        .arg(repo().join("scripts/sql_fixture.py"))
        .arg(&fx)
        .status()
        .unwrap();
    assert!(st.success());
    check(
        vec![fx],
        dir.path(),
        &["label", "variant", "browser", "day"],
    );
}
