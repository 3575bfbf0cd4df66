//! Appends records to a JSONL trace file: whole lines only, a per-writer
//! sequence counter, and a flush at least once a second.
//!
//! The writer buffers lines in memory between flushes; [`TraceWriter::write`]
//! flushes by itself when the previous flush is more than
//! [`FLUSH_INTERVAL`] old, and owners that may go quiet (the proxy's sink)
//! call [`TraceWriter::flush_if_due`] from a timer. Dropping the writer flushes.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Record;

/// The longest time a written line may stay in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// An I/O failure while writing a trace, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("trace file {path}: {source}")]
pub struct WriterError {
    /// The trace file.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: std::io::Error,
}

/// An append-only JSONL trace file.
pub struct TraceWriter {
    path: PathBuf,
    out: BufWriter<File>,
    next_seq: u64,
    last_flush: Instant,
    lines: u64,
}

/// Ends a torn last line (left by a crash in the middle of a write) with
/// `\n`, so the next record starts on a line of its own rather than being
/// glued onto the torn piece and lost with it.
fn end_torn_line(file: &mut File) -> std::io::Result<()> {
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

impl TraceWriter {
    /// Opens (creating parent folders) `path` for appending.
    pub fn append(path: impl AsRef<Path>) -> Result<Self, WriterError> {
        let path = path.as_ref().to_path_buf();
        let err = |source| WriterError {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(err)?;
        end_torn_line(&mut file).map_err(err)?;
        Ok(TraceWriter {
            path,
            out: BufWriter::with_capacity(64 * 1024, file),
            next_seq: 0,
            last_flush: Instant::now(),
            lines: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written so far by this writer.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Writes `record` with the next sequence number of this writer and
    /// returns that number.
    pub fn push(&mut self, mut record: Record) -> Result<u64, WriterError> {
        let seq = self.next_seq;
        record.set_seq(seq);
        self.next_seq += 1;
        self.write(&record)?;
        Ok(seq)
    }

    /// Writes `record` as it is (its own `seq` kept), as one whole line.
    pub fn write(&mut self, record: &Record) -> Result<(), WriterError> {
        let mut line = record.to_line();
        line.push('\n');
        self.write_line(&line)
    }

    /// Writes an already serialized line; it must end with `\n` and hold no
    /// other newline (the caller guarantees this).
    pub fn write_line(&mut self, line: &str) -> Result<(), WriterError> {
        debug_assert!(line.ends_with('\n'));
        self.out
            .write_all(line.as_bytes())
            .map_err(|source| WriterError {
                path: self.path.clone(),
                source,
            })?;
        self.lines += 1;
        self.flush_if_due()
    }

    /// Flushes when the last flush is older than [`FLUSH_INTERVAL`].
    pub fn flush_if_due(&mut self) -> Result<(), WriterError> {
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes buffered lines to the file now.
    pub fn flush(&mut self) -> Result<(), WriterError> {
        self.last_flush = Instant::now();
        self.out.flush().map_err(|source| WriterError {
            path: self.path.clone(),
            source,
        })
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_after_a_torn_last_line_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, "{\"v\":1,\"sid\":\"s\",\"se").unwrap();
        {
            let mut w = TraceWriter::append(&path).unwrap();
            w.push(Record::new("s", "end", 1.0)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "{\"v\":1,\"sid\":\"s\",\"se");
        assert!(serde_json::from_str::<serde_json::Value>(lines[1]).is_ok());
        // A whole file gets no extra blank line.
        drop(TraceWriter::append(&path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn push_numbers_lines_and_drop_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/s1.jsonl");
        {
            let mut w = TraceWriter::append(&path).unwrap();
            assert_eq!(w.push(Record::new("s1", "session", 0.0)).unwrap(), 0);
            assert_eq!(w.push(Record::new("s1", "end", 5.0)).unwrap(), 1);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, vec![0, 1]);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn flush_if_due_writes_after_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut w = TraceWriter::append(&path).unwrap();
        w.push(Record::new("s", "probe", 1.0)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "buffered before the interval"
        );
        std::thread::sleep(FLUSH_INTERVAL + Duration::from_millis(50));
        w.flush_if_due().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
