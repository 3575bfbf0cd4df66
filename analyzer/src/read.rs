//! Input: finds trace files, reads `.jsonl`, `.jsonl.gz` and Parquet traces
//! line by line into [`SessionData`], and accounts for every line it skips.
//!
//! Tolerance rules (from the format contract): a torn last line is skipped
//! and counted; unknown kinds are skipped and counted; unknown fields are
//! ignored; records of one session may be spread over several files. A file
//! whose first line is not a record is an error naming the file. A `.gz`
//! that is truncated or corrupt yields the lines decoded before the break
//! (a cut last line counts as torn) and is listed in
//! [`ReadStats::truncated`] with the decoder's error.
//!
//! Memory stays bounded on large inputs: a quick first pass finds in which
//! files each session id occurs, so a session is handed to the caller (and
//! dropped) as soon as the last file holding its records has been read.
//! Files are parsed on several threads and merged in path order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rustc_hash::FxHashMap;

use crate::session::{parse_line_into, Ingest, Interner, SessionData};
use crate::Error;

/// Counts of lines read and skipped, with the reasons.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadStats {
    /// Files read.
    pub files: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Non-blank lines seen.
    pub lines: u64,
    /// Records stored.
    pub records: u64,
    /// Files whose last line was torn (unterminated and not valid JSON).
    pub torn_last: Vec<PathBuf>,
    /// Records of kinds this build does not know, by kind.
    pub unknown_kinds: BTreeMap<String, u64>,
    /// Documented kinds missing a required field, by "kind.field".
    pub missing_fields: BTreeMap<String, u64>,
    /// Records of a newer format version.
    pub newer_version: u64,
    /// Lines in the middle of a file that are not records.
    pub invalid: u64,
    /// The first invalid line, as "file:line: error".
    pub invalid_example: Option<String>,
    /// Compressed files that ended early or broke (truncated `.gz`, bad
    /// CRC), with the decoder's error: the lines before the break were read.
    pub truncated: Vec<(PathBuf, String)>,
}

impl ReadStats {
    /// Lines skipped for any reason.
    pub fn skipped(&self) -> u64 {
        self.torn_last.len() as u64
            + self.unknown_kinds.values().sum::<u64>()
            + self.missing_fields.values().sum::<u64>()
            + self.newer_version
            + self.invalid
    }

    fn add(&mut self, o: ReadStats) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.records += o.records;
        self.torn_last.extend(o.torn_last);
        for (k, v) in o.unknown_kinds {
            *self.unknown_kinds.entry(k).or_default() += v;
        }
        for (k, v) in o.missing_fields {
            *self.missing_fields.entry(k).or_default() += v;
        }
        self.newer_version += o.newer_version;
        self.invalid += o.invalid;
        if self.invalid_example.is_none() {
            self.invalid_example = o.invalid_example;
        }
        self.truncated.extend(o.truncated);
    }
}

impl fmt::Display for ReadStats {
    /// E.g. "skipped 3 lines: 1 torn last line in a.jsonl, 2 unknown kind (x)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.skipped();
        let cut = if self.truncated.is_empty() {
            String::new()
        } else {
            let (p, e) = &self.truncated[0];
            format!(
                "; {} compressed file{} cut short (first: {}: {e})",
                self.truncated.len(),
                if self.truncated.len() == 1 { "" } else { "s" },
                p.display()
            )
        };
        if n == 0 {
            return write!(f, "skipped 0 lines{cut}");
        }
        let mut parts = Vec::new();
        if !self.torn_last.is_empty() {
            let names: Vec<String> = self
                .torn_last
                .iter()
                .take(3)
                .map(|p| {
                    p.file_name()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect();
            let more = if self.torn_last.len() > 3 {
                ", …"
            } else {
                ""
            };
            let s = if self.torn_last.len() == 1 { "" } else { "s" };
            parts.push(format!(
                "{} torn last line{s} in {}{more}",
                self.torn_last.len(),
                names.join(", ")
            ));
        }
        let unknown: u64 = self.unknown_kinds.values().sum();
        if unknown > 0 {
            let kinds: Vec<&str> = self
                .unknown_kinds
                .keys()
                .map(String::as_str)
                .take(5)
                .collect();
            parts.push(format!("{unknown} unknown kind ({})", kinds.join(", ")));
        }
        for (k, v) in &self.missing_fields {
            parts.push(format!("{v} {k} missing"));
        }
        if self.newer_version > 0 {
            parts.push(format!("{} of a newer format version", self.newer_version));
        }
        if self.invalid > 0 {
            parts.push(format!(
                "{} invalid line{} (first: {})",
                self.invalid,
                if self.invalid == 1 { "" } else { "s" },
                self.invalid_example.as_deref().unwrap_or("?")
            ));
        }
        write!(
            f,
            "skipped {n} line{}: {}{cut}",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// How the reader runs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Parser threads (at least 1).
    pub jobs: usize,
    /// Keep only these session ids (all when empty).
    pub sessions: HashSet<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            sessions: HashSet::new(),
        }
    }
}

/// The file layouts the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Jsonl,
    Gzip,
    Parquet,
}

fn is_trace_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    n.ends_with(".jsonl") || n.ends_with(".jsonl.gz") || n.ends_with(".parquet")
}

/// Expands `paths` into trace files: files are taken as given (whatever
/// their name: a non-trace is reported when read), folders are searched
/// recursively for `.jsonl`, `.jsonl.gz` and `.parquet`. Sorted, deduplicated.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(Error::io(p))?;
        if meta.is_dir() {
            let found =
                webinfer_format::files::walk(p, is_trace_name, |at, e| Err(Error::io(at)(e)))?;
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    if out.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::NoInput(names.join(", ")));
    }
    Ok(out)
}

fn layout(path: &Path) -> Result<Layout, Error> {
    let mut f = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(Error::io(path))?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Layout::Gzip,
        b"PAR1" => Layout::Parquet,
        _ => Layout::Jsonl,
    })
}

/// What reading one file's lines came to.
pub(crate) struct Streamed {
    /// Bytes read (after decompression).
    pub(crate) bytes: u64,
    /// The decoder error that ended a compressed file early, if any.
    pub(crate) cut_short: Option<String>,
}

/// Calls `each` with every line (without the newline) of a JSONL stream and
/// whether it was newline-terminated. With `compressed`, a read error (the
/// decoder's: truncated or corrupt data) ends the stream instead of failing
/// it: the bytes decoded before it are handed out (the last ones as an
/// unterminated line) and the error is returned in [`Streamed::cut_short`].
fn for_each_line(
    mut r: impl BufRead,
    path: &Path,
    compressed: bool,
    mut each: impl FnMut(&[u8], bool),
) -> Result<Streamed, Error> {
    // Lines are handed out where they lie in the reader's buffer; only a
    // line that crosses the end of the buffer is copied (into `carry`).
    let mut carry: Vec<u8> = Vec::new();
    let mut bytes = 0u64;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if compressed => {
                // The bytes decoded before the error: the last ones as an
                // unterminated line.
                if !carry.is_empty() {
                    each(&carry, false);
                }
                tracing::warn!(file = %path.display(), "compressed trace cut short: {e}");
                return Ok(Streamed {
                    bytes,
                    cut_short: Some(e.to_string()),
                });
            }
            Err(e) => return Err(Error::io(path)(e)),
        };
        if avail.is_empty() {
            if !carry.is_empty() {
                each(&carry, false);
            }
            return Ok(Streamed {
                bytes,
                cut_short: None,
            });
        }
        let len = avail.len();
        bytes += len as u64;
        let mut start = 0;
        if !carry.is_empty() {
            match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    carry.extend_from_slice(&avail[..i]);
                    each(&carry, true);
                    carry.clear();
                    start = i + 1;
                }
                None => {
                    carry.extend_from_slice(avail);
                    r.consume(len);
                    continue;
                }
            }
        }
        let base = start;
        for i in memchr::memchr_iter(b'\n', &avail[base..]) {
            each(&avail[start..base + i], true);
            start = base + i + 1;
        }
        carry.extend_from_slice(&avail[start..]);
        r.consume(len);
    }
}

/// Opens a trace and streams its lines (Parquet rows are turned into JSON
/// lines through polars, 64 Ki rows at a time).
pub(crate) fn stream_lines(path: &Path, each: impl FnMut(&[u8], bool)) -> Result<Streamed, Error> {
    match layout(path)? {
        Layout::Jsonl => {
            let f = std::fs::File::open(path).map_err(Error::io(path))?;
            for_each_line(BufReader::with_capacity(256 * 1024, f), path, false, each)
        }
        Layout::Gzip => {
            let f = std::fs::File::open(path).map_err(Error::io(path))?;
            let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, f));
            for_each_line(BufReader::with_capacity(256 * 1024, gz), path, true, each)
        }
        Layout::Parquet => {
            crate::parquet_in::for_each_row_as_json(path, each).map(|bytes| Streamed {
                bytes,
                cut_short: None,
            })
        }
    }
}

/// The session ids occurring in one file.
fn scan_sids(path: &Path) -> Result<HashSet<String>, Error> {
    let mut sids = HashSet::new();
    let mut last: Vec<u8> = Vec::new();
    stream_lines(path, |line, _| {
        let Some(sid) = webinfer_format::header::sid_of(line) else {
            return;
        };
        if sid.as_bytes() != last.as_slice() {
            last.clear();
            last.extend_from_slice(sid.as_bytes());
            if !sids.contains(sid.as_ref()) {
                sids.insert(sid.into_owned());
            }
        }
    })?;
    Ok(sids)
}

/// The sessions found in one file and what reading it cost.
struct FilePart {
    sessions: FxHashMap<String, SessionData>,
    stats: ReadStats,
}

/// The line counters of a trace reader's stats, which [`FileLines::finish`] adds a file's
/// counts to.
pub(crate) struct LineCounters<'a> {
    /// Non-blank lines seen.
    pub(crate) lines: &'a mut u64,
    /// Lines in the middle of a file that are not records.
    pub(crate) invalid: &'a mut u64,
    /// The first invalid line, as "file:line: error".
    pub(crate) invalid_example: &'a mut Option<String>,
    /// Files whose last line was torn.
    pub(crate) torn_last: &'a mut Vec<PathBuf>,
    /// Compressed files that ended early, with the decoder's error.
    pub(crate) truncated: &'a mut Vec<(PathBuf, String)>,
}

/// The [`LineCounters`] of a stats value with the fields `lines`, `invalid`,
/// `invalid_example`, `torn_last` and `truncated` ([`ReadStats`], the Parquet export's).
macro_rules! line_counters {
    ($stats:expr) => {
        $crate::read::LineCounters {
            lines: &mut $stats.lines,
            invalid: &mut $stats.invalid,
            invalid_example: &mut $stats.invalid_example,
            torn_last: &mut $stats.torn_last,
            truncated: &mut $stats.truncated,
        }
    };
}
pub(crate) use line_counters;

/// One file's line bookkeeping, shared by [`parse_file`] and the Parquet export: line
/// numbers, blank lines skipped, a first line that is no record (the file is then
/// [`Error::NotATrace`]), invalid lines in the middle (counted once a later non-blank line
/// shows they are not the last) and a torn last line.
pub(crate) struct FileLines<'a> {
    path: &'a Path,
    line_no: u64,
    seen_record: bool,
    first_error: Option<String>,
    pending_invalid: Option<(u64, String)>,
    lines: u64,
    invalid: u64,
    invalid_example: Option<String>,
    torn: bool,
}

impl<'a> FileLines<'a> {
    /// No lines seen yet of the file at `path`.
    pub(crate) fn new(path: &'a Path) -> Self {
        FileLines {
            path,
            line_no: 0,
            seen_record: false,
            first_error: None,
            pending_invalid: None,
            lines: 0,
            invalid: 0,
            invalid_example: None,
            torn: false,
        }
    }

    /// Numbers the next line; false when it is to be skipped: blank, or after a first line
    /// that was no record.
    pub(crate) fn next(&mut self, line: &[u8]) -> bool {
        self.line_no += 1;
        if self.first_error.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            return false;
        }
        // an invalid line followed by more lines is in the middle
        if let Some(p) = self.pending_invalid.take() {
            self.count_invalid(p);
        }
        self.lines += 1;
        true
    }

    /// The number (from 1) of the current line.
    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The current line is a record.
    pub(crate) fn record(&mut self) {
        self.seen_record = true;
    }

    /// The current line is no record, for `reason`; `complete` tells whether it is
    /// complete JSON (asked only of an unterminated line starting with `{` before any record).
    pub(crate) fn not_a_record(
        &mut self,
        line: &[u8],
        terminated: bool,
        complete: impl FnOnce() -> bool,
        reason: String,
    ) {
        if !terminated && (self.seen_record || (line.first() == Some(&b'{') && !complete())) {
            self.torn = true;
        } else if !self.seen_record {
            self.first_error = Some(format!(
                "line {} is not a trace record ({reason})",
                self.line_no
            ));
        } else {
            self.pending_invalid = Some((self.line_no, reason));
        }
    }

    fn count_invalid(&mut self, (n, e): (u64, String)) {
        self.invalid += 1;
        if self.invalid_example.is_none() {
            self.invalid_example = Some(format!("{}:{n}: {e}", self.path.display()));
        }
    }

    /// The end of the file: a first line that was no record makes it
    /// [`Error::NotATrace`]; a last non-blank line that was newline-terminated but invalid
    /// counts as invalid. Adds the file's counts to `to` (its invalid example when there
    /// is none yet; `streamed`'s early end).
    pub(crate) fn finish(mut self, streamed: Streamed, to: LineCounters<'_>) -> Result<(), Error> {
        if let Some(reason) = self.first_error {
            return Err(Error::NotATrace {
                path: self.path.to_path_buf(),
                reason,
            });
        }
        if let Some(p) = self.pending_invalid.take() {
            self.count_invalid(p);
        }
        *to.lines += self.lines;
        *to.invalid += self.invalid;
        if to.invalid_example.is_none() {
            *to.invalid_example = self.invalid_example;
        }
        if self.torn {
            to.torn_last.push(self.path.to_path_buf());
        }
        if let Some(e) = streamed.cut_short {
            to.truncated.push((self.path.to_path_buf(), e));
        }
        Ok(())
    }
}

fn short(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.chars().take(120).collect()
}

/// Parses one file. The first non-blank line must be a record unless it is
/// also a torn last line.
fn parse_file(path: &Path, idx: usize, keep: &HashSet<String>) -> Result<FilePart, Error> {
    tracing::debug!(file = %path.display(), "reading trace");
    // looked up once per line: an Fx hash, not SipHash
    let mut sessions: FxHashMap<String, SessionData> = FxHashMap::default();
    let mut stats = ReadStats {
        files: 1,
        ..Default::default()
    };
    let mut strings = Interner::default();
    let mut fl = FileLines::new(path);
    let streamed = stream_lines(path, |line, terminated| {
        if !fl.next(line) {
            return;
        }
        let mut rec = crate::line_scan::empty();
        let session = match parse_line_into(line, &mut rec) {
            Ok(s) => s,
            Err(e) => {
                let complete_json = || serde_json::from_slice::<serde_json::Value>(line).is_ok();
                fl.not_a_record(line, terminated, complete_json, short(&e));
                return;
            }
        };
        fl.record();
        if rec.v > webinfer_format::VERSION {
            stats.newer_version += 1;
            return;
        }
        if !keep.is_empty() && !keep.contains(rec.sid.as_ref()) {
            return;
        }
        let order = ((idx as u64) << 32) | fl.line_no();
        let s = match sessions.get_mut(rec.sid.as_ref()) {
            Some(s) => s,
            None => sessions
                .entry(rec.sid.to_string())
                .or_insert_with(|| SessionData::new(&rec.sid)),
        };
        match s.ingest(&rec, session, order, &mut strings) {
            Ingest::Used => stats.records += 1,
            Ingest::UnknownKind => {
                *stats
                    .unknown_kinds
                    .entry(rec.kind.as_str().to_owned())
                    .or_default() += 1
            }
            Ingest::MissingField(field) => {
                *stats
                    .missing_fields
                    .entry(format!("{}.{field}", rec.kind))
                    .or_default() += 1
            }
        }
    })?;
    stats.bytes = streamed.bytes;
    fl.finish(streamed, line_counters!(stats))?;
    sessions.retain(|_, s| s.records > 0);
    Ok(FilePart { sessions, stats })
}

/// Runs `work(i)` for every index on `jobs` threads, handing results to
/// `sink` in index order.
fn run_ordered<T: Send>(
    n: usize,
    jobs: usize,
    work: impl Fn(usize) -> Result<T, Error> + Sync,
    mut sink: impl FnMut(usize, T) -> Result<(), Error>,
) -> Result<(), Error> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, n.max(1));
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<T, Error>)>(jobs);
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if tx.send((i, work(i))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, T> = BTreeMap::new();
        let mut expect = 0;
        for (i, r) in rx.iter() {
            let v = match r {
                Ok(v) => v,
                Err(e) => {
                    next.store(n, Ordering::Relaxed);
                    return Err(e);
                }
            };
            waiting.insert(i, v);
            while let Some(v) = waiting.remove(&expect) {
                if let Err(e) = sink(expect, v) {
                    next.store(n, Ordering::Relaxed);
                    return Err(e);
                }
                expect += 1;
            }
        }
        Ok(())
    })
}

/// Reads every file and calls `done` once per session, as soon as the last
/// file holding records of it has been read (sessions come out finished:
/// `session` records merged, series sorted). Returns the read counts.
pub fn read_sessions(
    files: &[PathBuf],
    opts: &ReadOptions,
    mut done: impl FnMut(SessionData),
) -> Result<ReadStats, Error> {
    // pass 1: the last file index of every session
    let mut last_file: HashMap<String, usize> = HashMap::new();
    if files.len() > 1 {
        run_ordered(
            files.len(),
            opts.jobs,
            |i| scan_sids(&files[i]),
            |i, sids| {
                for s in sids {
                    last_file.insert(s, i);
                }
                Ok(())
            },
        )?;
    }
    let mut closing: Vec<Vec<String>> = vec![Vec::new(); files.len()];
    for (sid, i) in &last_file {
        closing[*i].push(sid.clone());
    }
    // pass 2: parse and hand out finished sessions
    let mut open: HashMap<String, SessionData> = HashMap::new();
    let mut stats = ReadStats::default();
    let keep = &opts.sessions;
    run_ordered(
        files.len(),
        opts.jobs,
        |i| parse_file(&files[i], i, keep),
        |i, part| {
            stats.add(part.stats);
            for (sid, s) in part.sessions {
                match open.get_mut(&sid) {
                    Some(o) => o.merge(s),
                    None => {
                        open.insert(sid, s);
                    }
                }
            }
            for sid in std::mem::take(&mut closing[i]) {
                if let Some(mut s) = open.remove(&sid) {
                    s.finish();
                    done(s);
                }
            }
            Ok(())
        },
    )?;
    let mut rest: Vec<SessionData> = open.into_values().collect();
    rest.sort_by(|a, b| a.sid.cmp(&b.sid));
    for mut s in rest {
        s.finish();
        done(s);
    }
    Ok(stats)
}

/// Reads every session into memory (for small inputs, exports and tests).
pub fn read_all(
    paths: &[PathBuf],
    opts: &ReadOptions,
) -> Result<(Vec<SessionData>, ReadStats), Error> {
    let files = discover(paths)?;
    let mut out = Vec::new();
    let stats = read_sessions(&files, opts, |s| out.push(s))?;
    out.sort_by(|a, b| a.sid.cmp(&b.sid));
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `for_each_line` hands out, with a reader buffer of `cap` bytes.
    fn lines(data: &[u8], cap: usize) -> (Vec<(String, bool)>, u64) {
        let mut out = Vec::new();
        let r = BufReader::with_capacity(cap, data);
        let s = for_each_line(r, Path::new("t.jsonl"), false, |l, t| {
            out.push((String::from_utf8(l.to_vec()).unwrap(), t))
        })
        .unwrap();
        (out, s.bytes)
    }

    #[test]
    fn lines_are_the_same_whatever_the_buffer_size() {
        let data = b"{\"a\":1}\n\n{\"bb\":22}\nx\n{\"ccc\":333} tail";
        let want: Vec<(String, bool)> = [
            ("{\"a\":1}", true),
            ("", true),
            ("{\"bb\":22}", true),
            ("x", true),
            ("{\"ccc\":333} tail", false),
        ]
        .iter()
        .map(|(l, t)| (l.to_string(), *t))
        .collect();
        for cap in [1, 2, 3, 5, 7, 8, 9, 16, 64 * 1024] {
            let (got, bytes) = lines(data, cap);
            assert_eq!(got, want, "buffer of {cap} bytes");
            assert_eq!(bytes, data.len() as u64);
        }
        let (got, _) = lines(b"a\nb\n", 1);
        assert_eq!(got, vec![("a".into(), true), ("b".into(), true)]);
        assert!(lines(b"", 4).0.is_empty());
    }
}
