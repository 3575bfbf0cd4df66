//! The sink's file writer: one thread that owns every open trace file, so no
//! file is opened, written or flushed on the async runtime's threads
//! (issue 18, item 1), and that enforces the per-run budget.
//!
//! - Page batches ([`Cmd::Batch`]) are written, then flushed, then answered
//!   (the caller awaits the answer); a batch that would take the run over
//!   [`Budget::max_bytes`] written bytes or [`Budget::max_files`] files is
//!   refused whole ([`Answer::OverBudget`]) and nothing of it is written.
//! - The proxy's own lines ([`Cmd::Proxy`]) are written without an answer and
//!   flushed within [`FLUSH_AFTER`] + [`TICK`]; over the budget they are
//!   dropped and counted.
//! - Every [`TICK`] lines older than [`FLUSH_AFTER`] are flushed and files
//!   idle for the configured time are closed; at most [`MAX_OPEN`] files are
//!   open (least recently written closed first).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webinfer_format::TraceWriter;

use super::SinkStats;

/// How often open files are checked for flushing and closing.
pub const TICK: Duration = Duration::from_millis(200);
/// A written proxy line waits at most this long (plus one [`TICK`]) before
/// it is flushed.
pub const FLUSH_AFTER: Duration = Duration::from_millis(800);
/// Most files kept open at once.
pub const MAX_OPEN: usize = 256;

/// What one run of the sink may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of trace lines written per run (all files together).
    pub max_bytes: u64,
    /// Trace files written per run.
    pub max_files: u64,
}

/// One line to write.
#[derive(Debug)]
pub struct Line {
    /// File stem (`<sid>` or `_proxy`).
    pub stem: String,
    /// Record kind (for the counters).
    pub kind: String,
    /// The serialized record, ending in `\n`.
    pub text: String,
    /// An `end` record: close the file after the batch.
    pub end: bool,
    /// The record's `seq` for a page or worker record (a batch sent again after its answer
    /// was lost repeats them; see [`SeqSet`]); `None` for the proxy's own lines.
    pub seq: Option<u64>,
}

/// The `seq` numbers already written for one session, as sorted disjoint ranges `[a, b]`.
///
/// A hook keeps a batch until its POST is answered; when the answer is lost after the sink
/// stored it (the document is torn down, the connection drops), the hook sends the same records
/// again, by POST or beacon. The writer skips lines whose `seq` it has already written, so a
/// batch is stored once however often it arrives, and answers them as stored. A hook numbers
/// its records 0, 1, 2, … and sends them in order, so a session's set is one range or a few.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeqSet(Vec<(u64, u64)>);

impl SeqSet {
    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < seq);
        self.0.get(i).is_some_and(|&(a, _)| a <= seq)
    }

    /// Adds `seq`, merging adjacent ranges.
    pub fn insert(&mut self, seq: u64) {
        let i = self.0.partition_point(|&(_, b)| b.saturating_add(1) < seq);
        match self.0.get_mut(i) {
            Some((a, b)) if *a <= seq.saturating_add(1) => {
                *a = (*a).min(seq);
                *b = (*b).max(seq);
                if let Some(&(na, nb)) = self.0.get(i + 1) {
                    if na <= self.0[i].1.saturating_add(1) {
                        self.0[i].1 = self.0[i].1.max(nb);
                        self.0.remove(i + 1);
                    }
                }
            }
            _ => self.0.insert(i, (seq, seq)),
        }
    }
}

/// The writer's answer to a page batch.
#[derive(Debug)]
pub enum Answer {
    /// Every line written and flushed.
    Stored(u64),
    /// Nothing written: the batch would exceed the budget (the reason).
    OverBudget(String),
    /// Some lines written (the count), then a write failed.
    Failed(u64, String),
}

/// Work for the writer thread.
pub enum Cmd {
    /// A page batch; answered on the channel.
    Batch(Vec<Line>, tokio::sync::oneshot::Sender<Answer>),
    /// One line of the proxy's own.
    Proxy(Line),
    /// Flush lines older than [`FLUSH_AFTER`], close idle files.
    Tick,
    /// Flush everything now; answered when done.
    FlushAll(Sender<()>),
    /// Flush and close every file; answered when done.
    CloseAll(Sender<()>),
    /// Close everything and end the thread.
    Shutdown,
}

struct OpenFile {
    writer: TraceWriter,
    last_write: Instant,
    dirty_since: Option<Instant>,
}

/// The thread's state.
pub struct Writer {
    dir: PathBuf,
    budget: Budget,
    idle_close: Duration,
    stats: Arc<SinkStats>,
    files: Arc<Mutex<BTreeSet<PathBuf>>>,
    open: HashMap<String, OpenFile>,
    written: u64,
    warned_budget: bool,
    /// Per file stem, the page `seq`s written this run.
    seen: HashMap<String, SeqSet>,
}

impl Writer {
    /// A writer for `dir` (the label folder).
    pub fn new(
        dir: PathBuf,
        budget: Budget,
        idle_close: Duration,
        stats: Arc<SinkStats>,
        files: Arc<Mutex<BTreeSet<PathBuf>>>,
    ) -> Self {
        Writer {
            dir,
            budget,
            idle_close,
            stats,
            files,
            open: HashMap::new(),
            written: 0,
            warned_budget: false,
            seen: HashMap::new(),
        }
    }

    fn path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.jsonl"))
    }

    /// Why `lines` would take the run over the budget, if they would.
    fn over_budget(&self, lines: &[Line]) -> Option<String> {
        let bytes: u64 = lines.iter().map(|l| l.text.len() as u64).sum();
        if self.written + bytes > self.budget.max_bytes {
            return Some(format!(
                "trace budget reached: {} of {} bytes per run written, this batch needs {bytes} more (--trace-max-bytes)",
                self.written, self.budget.max_bytes
            ));
        }
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        // A batch is mostly one session: build a path only for a stem with no open file.
        let stems: BTreeSet<&str> = lines
            .iter()
            .map(|l| l.stem.as_str())
            .filter(|s| !self.open.contains_key(*s))
            .collect();
        let new: BTreeSet<PathBuf> = stems
            .into_iter()
            .map(|s| self.path(s))
            .filter(|p| !files.contains(p))
            .collect();
        if files.len() as u64 + new.len() as u64 > self.budget.max_files {
            return Some(format!(
                "trace budget reached: {} of {} files per run written, this batch needs {} more (--trace-max-files)",
                files.len(),
                self.budget.max_files,
                new.len()
            ));
        }
        None
    }

    fn write_line(&mut self, line: &Line) -> Result<(), String> {
        if !self.open.contains_key(&line.stem) {
            if self.open.len() >= MAX_OPEN {
                if let Some(oldest) = self
                    .open
                    .iter()
                    .min_by_key(|(_, o)| o.last_write)
                    .map(|(k, _)| k.clone())
                {
                    self.open.remove(&oldest);
                }
            }
            let path = self.path(&line.stem);
            let writer = TraceWriter::append(&path).map_err(|e| e.to_string())?;
            self.files
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path);
            self.open.insert(
                line.stem.clone(),
                OpenFile {
                    writer,
                    last_write: Instant::now(),
                    dirty_since: None,
                },
            );
        }
        let open = self.open.get_mut(&line.stem).expect("inserted above");
        open.writer
            .write_line(&line.text)
            .map_err(|e| e.to_string())?;
        self.written += line.text.len() as u64;
        self.stats
            .bytes_written
            .fetch_add(line.text.len() as u64, Ordering::Relaxed);
        open.last_write = Instant::now();
        open.dirty_since.get_or_insert(open.last_write);
        Ok(())
    }

    fn batch(&mut self, lines: Vec<Line>) -> Answer {
        // Lines already written (a batch sent again) are acknowledged, not written twice.
        let before = lines.len();
        let lines: Vec<Line> = lines
            .into_iter()
            .filter(|l| {
                l.seq
                    .is_none_or(|q| !self.seen.get(&l.stem).is_some_and(|s| s.contains(q)))
            })
            .collect();
        let repeated = (before - lines.len()) as u64;
        if repeated > 0 {
            self.stats.repeated.fetch_add(repeated, Ordering::Relaxed);
            tracing::debug!(records = repeated, "records sent again were already stored");
        }
        if let Some(why) = self.over_budget(&lines) {
            self.stats
                .over_budget
                .fetch_add(lines.len() as u64, Ordering::Relaxed);
            tracing::warn!(records = lines.len(), "{why}");
            return Answer::OverBudget(why);
        }
        let mut stored = 0;
        let mut failed = None;
        let mut touched = BTreeSet::new();
        for l in &lines {
            if l.seq
                .is_some_and(|q| self.seen.get(&l.stem).is_some_and(|s| s.contains(q)))
            {
                // The same record twice in one batch.
                self.stats.repeated.fetch_add(1, Ordering::Relaxed);
                stored += 1;
                continue;
            }
            match self.write_line(l) {
                Ok(()) => {
                    if let Some(q) = l.seq {
                        self.seen.entry(l.stem.clone()).or_default().insert(q);
                    }
                    stored += 1;
                    self.stats.stored(&l.kind);
                    touched.insert(l.stem.clone());
                }
                Err(e) => {
                    self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    failed = Some(e);
                }
            }
        }
        // Acknowledged lines are in the file before the answer goes out.
        for stem in &touched {
            if let Some(o) = self.open.get_mut(stem) {
                if let Err(e) = o.writer.flush() {
                    failed = Some(e.to_string());
                }
                o.dirty_since = None;
            }
        }
        for l in lines.iter().filter(|l| l.end) {
            self.open.remove(&l.stem);
        }
        match failed {
            Some(e) => Answer::Failed(stored + repeated, e),
            None => Answer::Stored(stored + repeated),
        }
    }

    fn proxy(&mut self, line: Line) {
        if let Some(why) = self.over_budget(std::slice::from_ref(&line)) {
            self.stats.over_budget_proxy.fetch_add(1, Ordering::Relaxed);
            if !self.warned_budget {
                self.warned_budget = true;
                tracing::warn!("the proxy's own records are no longer written: {why}");
            }
            return;
        }
        match self.write_line(&line) {
            Ok(()) => {
                self.stats.proxy_records.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{e}");
            }
        }
    }

    fn tick(&mut self) {
        let idle = self.idle_close;
        self.open.retain(|_, o| {
            if o.dirty_since.is_some_and(|t| t.elapsed() >= FLUSH_AFTER) {
                if let Err(e) = o.writer.flush() {
                    tracing::error!("{e}");
                }
                o.dirty_since = None;
            }
            o.last_write.elapsed() < idle
        });
    }

    fn flush_all(&mut self) {
        for o in self.open.values_mut() {
            if let Err(e) = o.writer.flush() {
                tracing::error!("{e}");
            }
            o.dirty_since = None;
        }
    }

    /// Runs until [`Cmd::Shutdown`] or every sender is gone.
    pub fn run(mut self, rx: Receiver<Cmd>) {
        let mut last_tick = Instant::now();
        loop {
            let cmd = match rx.recv_timeout(TICK) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match cmd {
                Some(Cmd::Batch(lines, reply)) => {
                    let _ = reply.send(self.batch(lines));
                }
                Some(Cmd::Proxy(line)) => self.proxy(line),
                Some(Cmd::Tick) => self.tick(),
                Some(Cmd::FlushAll(done)) => {
                    self.flush_all();
                    let _ = done.send(());
                }
                Some(Cmd::CloseAll(done)) => {
                    self.open.clear();
                    let _ = done.send(());
                }
                Some(Cmd::Shutdown) => break,
                None => {}
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.tick();
            }
        }
        // Dropping the writers flushes them.
        self.open.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::SeqSet;

    #[test]
    fn seq_set_merges_ranges_and_answers_membership() {
        let mut s = SeqSet::default();
        for q in [0, 1, 2, 5, 7, 6, 3] {
            s.insert(q);
        }
        assert_eq!(s.0, vec![(0, 3), (5, 7)]);
        s.insert(4);
        assert_eq!(s.0, vec![(0, 7)]);
        s.insert(10);
        s.insert(9);
        assert_eq!(s.0, vec![(0, 7), (9, 10)]);
        for q in 0..=7 {
            assert!(s.contains(q), "{q}");
        }
        assert!(!s.contains(8) && s.contains(9) && s.contains(10) && !s.contains(11));
        s.insert(u64::MAX);
        assert!(s.contains(u64::MAX) && !s.contains(u64::MAX - 1));
    }
}
