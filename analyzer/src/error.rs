//! The analyzer's error type.

use std::path::PathBuf;

/// What can go wrong while reading traces or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a webinfer trace (its first line is no record).
    #[error("{path} is not a webinfer trace: {reason}")]
    NotATrace {
        /// The file.
        path: PathBuf,
        /// Why, e.g. the JSON error of its first line.
        reason: String,
    },
    /// No trace files under the given paths.
    #[error("no trace files (.jsonl, .jsonl.gz, .parquet) under {0}")]
    NoInput(String),
    /// A Parquet input or output failed.
    #[error("parquet {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The polars error text.
        message: String,
    },
    /// A table operation failed.
    #[error("table: {0}")]
    Table(#[from] polars::error::PolarsError),
    /// Drawing a chart failed.
    #[error("chart {name}: {message}")]
    Chart {
        /// The chart file name.
        name: String,
        /// What failed.
        message: String,
    },
    /// A bad option value.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
