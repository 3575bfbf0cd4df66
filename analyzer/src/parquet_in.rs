//! Parquet traces: one row per record, one column per field (as DuckDB's
//! `COPY (SELECT * FROM read_ndjson(...)) TO 'x.parquet'` or polars write
//! them). Rows are turned back into JSON lines through polars' JSON writer
//! and fed to the same line parser as `.jsonl`, so both inputs obey the
//! same rules.

use std::path::Path;

use polars::prelude::*;

use crate::Error;

/// Rows per batch converted to JSON.
const BATCH: usize = 64 * 1024;

fn perr(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Streams every row of a Parquet trace as a JSON line (always terminated).
/// Null columns are written as `null`, which the parser treats as absent.
pub fn for_each_row_as_json(path: &Path, mut each: impl FnMut(&[u8], bool)) -> Result<u64, Error> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let df = ParquetReader::new(file).finish().map_err(perr(path))?;
    let mut bytes = 0u64;
    let mut offset = 0usize;
    while offset < df.height() {
        let mut batch = df.slice(offset as i64, BATCH);
        offset += BATCH;
        let mut buf = Vec::new();
        JsonWriter::new(&mut buf)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut batch)
            .map_err(perr(path))?;
        bytes += buf.len() as u64;
        for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            each(line, true);
        }
    }
    Ok(bytes)
}

/// Converts JSON-lines trace files to one Parquet file (used by tests and
/// the benchmark to make Parquet inputs).
pub fn jsonl_to_parquet(jsonl: &Path, out: &Path) -> Result<(), Error> {
    let file = std::fs::File::open(jsonl).map_err(Error::io(jsonl))?;
    let mut df = JsonReader::new(file)
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .map_err(perr(jsonl))?;
    let f = std::fs::File::create(out).map_err(Error::io(out))?;
    ParquetWriter::new(f).finish(&mut df).map_err(perr(out))?;
    Ok(())
}
