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
        let new: BTreeSet<PathBuf> = lines
            .iter()
            .map(|l| self.path(&l.stem))
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
            match self.write_line(l) {
                Ok(()) => {
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
            Some(e) => Answer::Failed(stored, e),
            None => Answer::Stored(stored),
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
