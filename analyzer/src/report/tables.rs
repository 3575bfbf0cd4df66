//! The metrics as files: `metrics.csv` and `metrics.parquet` (one row per
//! session × model × backend, baselines included with source = native) and
//! `summary.csv` (the aggregate: mean, CI half-width and n per metric).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::analysis::Analysis;
use crate::table::to_frame;
use crate::Error;

fn all_rows(a: &Analysis) -> Result<DataFrame, Error> {
    let mut rows = a.rows.clone();
    rows.extend(a.baseline_rows.iter().cloned());
    Ok(to_frame(&rows)?)
}

/// Writes `metrics.csv` and `summary.csv`.
pub fn write_csv(a: &Analysis, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for (name, mut df) in [
        ("metrics.csv", all_rows(a)?),
        ("summary.csv", a.aggregate.frame.clone()),
    ] {
        let p = dir.join(name);
        let f = std::fs::File::create(&p).map_err(Error::io(&p))?;
        CsvWriter::new(f).include_header(true).finish(&mut df)?;
        out.push(p);
    }
    Ok(out)
}

/// Writes `metrics.parquet`.
pub fn write_parquet(a: &Analysis, dir: &Path) -> Result<PathBuf, Error> {
    let p = dir.join("metrics.parquet");
    let f = std::fs::File::create(&p).map_err(Error::io(&p))?;
    let mut df = all_rows(a)?;
    ParquetWriter::new(f)
        .finish(&mut df)
        .map_err(|e| Error::Parquet {
            path: p.clone(),
            message: e.to_string(),
        })?;
    Ok(p)
}
