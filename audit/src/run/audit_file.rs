//! The audit's own trace file of one run, `<traces>/<label>/audit-<run>.jsonl`: `session`
//! records (`by:"audit"`) and the `mem` samples, held until a page session with a time
//! origin exists and then written relative to it.

use std::collections::HashMap;
use std::path::PathBuf;

use webinfer_format::{Record, TraceWriter};

use crate::error::AuditError;

/// One memory sample: when (Unix ms), tree RSS, process count, renderer RSS.
type Sample = (f64, u64, usize, Option<u64>);

/// Memory samples waiting for a page session, and the per-sid writer state.
pub(crate) struct AuditFile {
    /// The file (created on the first record).
    pub(crate) path: PathBuf,
    writer: Option<TraceWriter>,
    seq: HashMap<String, u64>,
    pending: Vec<Sample>,
    /// `mem` records written.
    pub(crate) written: u64,
    /// Highest tree RSS sampled, bytes.
    pub(crate) peak: u64,
}

impl AuditFile {
    /// A file at `path`, not created yet.
    pub(crate) fn new(path: PathBuf) -> Self {
        AuditFile {
            path,
            writer: None,
            seq: HashMap::new(),
            pending: Vec::new(),
            written: 0,
            peak: 0,
        }
    }

    /// Holds a memory sample taken at `at` (Unix ms) until [`AuditFile::drain_to`].
    pub(crate) fn sample(&mut self, at: f64, rss: u64, procs: usize, renderer: Option<u64>) {
        self.pending.push((at, rss, procs, renderer));
        self.peak = self.peak.max(rss);
    }

    /// Writes `rec` for `sid` with `by:"audit"` and the next `seq` of that sid.
    pub(crate) fn push(&mut self, sid: &str, rec: Record) -> Result<(), AuditError> {
        if self.writer.is_none() {
            self.writer = Some(TraceWriter::append(&self.path)?);
        }
        let seq = self.seq.entry(sid.to_owned()).or_insert(0);
        let mut rec = rec.set("by", "audit");
        rec.set_seq(*seq);
        *seq += 1;
        if let Some(w) = self.writer.as_mut() {
            w.write(&rec)?;
        }
        Ok(())
    }

    /// Writes the pending samples to `sid` (time origin `origin`, Unix ms).
    pub(crate) fn drain_to(&mut self, sid: &str, origin: f64) -> Result<(), AuditError> {
        for (at, rss, procs, renderer) in std::mem::take(&mut self.pending) {
            let mut rec = Record::new(sid, "mem", at - origin)
                .set("rss", rss)
                .set("processes", procs as u64);
            if let Some(r) = renderer {
                rec = rec.set("renderer_rss", r);
            }
            self.push(sid, rec)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Flushes what was written.
    pub(crate) fn flush(&mut self) -> Result<(), AuditError> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
        }
        Ok(())
    }

    /// Flushes and closes the file (a later record would reopen it for append).
    pub(crate) fn close(&mut self) -> Result<(), AuditError> {
        self.flush()?;
        drop(self.writer.take());
        Ok(())
    }
}
