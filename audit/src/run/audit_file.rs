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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_wait_for_a_page_and_go_relative_to_its_origin() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("audit-x.jsonl");
        let mut f = AuditFile::new(path.clone());
        f.sample(1_000.0, 300, 4, Some(100));
        f.sample(1_500.0, 500, 5, None);
        f.flush().unwrap();
        assert!(!path.exists(), "nothing is written before a page session");
        assert_eq!((f.written, f.peak), (0, 500));
        f.push("p", Record::new("p", "session", 0.0)).unwrap();
        f.drain_to("p", 1_200.0).unwrap();
        f.close().unwrap();
        assert_eq!(f.written, 2);
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["seq"], i as u64);
            assert_eq!(l["by"], "audit");
            assert_eq!(l["sid"], "p");
        }
        assert_eq!(lines[1]["kind"], "mem");
        assert_eq!(lines[1]["ts"], -200.0);
        assert_eq!(lines[1]["rss"], 300);
        assert_eq!(lines[1]["processes"], 4);
        assert_eq!(lines[1]["renderer_rss"], 100);
        assert_eq!(lines[2]["ts"], 300.0);
        assert!(lines[2].get("renderer_rss").is_none());
    }
}
