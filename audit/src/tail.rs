//! Following the trace files a run produces, while it runs.
//!
//! The proxy's sink writes one JSONL file per session under the traces
//! folder and flushes at least once a second. [`TraceTail`] remembers which
//! files existed before a run, then reads the complete lines appended to new
//! ones, so `webinfer audit` knows — from the contract alone — how many
//! inferences happened (`--until-infers`), which page sessions exist (the sids
//! its `mem` records go to), and can check at the end that no record was lost
//! (per `(sid, by)` the `seq` numbers must run 0, 1, 2, … without gaps).
//!
//! What a record is, how `session` records merge and how gaps are counted
//! are the format's rules (`webinfer-format`: [`Header`], [`SessionMerge`],
//! [`WriterSeqs`]), shared with the analyzer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;
use webinfer_format::files::{is_jsonl, walk};
use webinfer_format::{Header, Kind, SessionFields, SessionMerge, WriterSeqs};

/// What is known about one session from its `session` records (merged as
/// the format says: in `ts` order, later fields winning; the proxy writes
/// its record at `ts` 0, so the page's own `time_origin` wins over the
/// proxy's estimate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInfo {
    /// `source`: page, worker or native.
    pub source: Option<String>,
    /// `url`.
    pub url: Option<String>,
    /// `time_origin`, Unix milliseconds.
    pub time_origin: Option<f64>,
    /// `parent` (a worker's page, or a frame's parent).
    pub parent: Option<String>,
    /// The first file the session was seen in.
    pub file: PathBuf,
}

/// A hole in one writer's sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqProblem {
    /// The session.
    pub sid: String,
    /// The writer (`""` for the session itself).
    pub by: String,
    /// Numbers missing below the highest one seen.
    pub missing: u64,
    /// Numbers seen more than once.
    pub duplicates: u64,
}

#[derive(Debug, Default)]
struct FileState {
    offset: u64,
    partial: Vec<u8>,
}

/// Incremental reader of the trace files that appear under a folder.
#[derive(Debug)]
pub struct TraceTail {
    root: PathBuf,
    before: HashSet<PathBuf>,
    excluded: HashSet<PathBuf>,
    files: BTreeMap<PathBuf, FileState>,
    kinds: BTreeMap<String, u64>,
    infers: BTreeMap<String, u64>,
    sessions: BTreeMap<String, SessionInfo>,
    merges: HashMap<String, SessionMerge>,
    seqs: HashMap<String, WriterSeqs>,
    records: u64,
    bad_lines: u64,
}

/// Every `*.jsonl` file below `root` (folders that cannot be read are
/// skipped: the run may be creating them).
fn jsonl_files(root: &Path) -> Vec<PathBuf> {
    walk(root, is_jsonl, |_, _| Ok::<(), Infallible>(())).unwrap_or_else(|e| match e {})
}

impl TraceTail {
    /// Starts following `root`: files already there are not this run's.
    pub fn start(root: &Path) -> Self {
        TraceTail {
            root: root.to_path_buf(),
            before: jsonl_files(root).into_iter().collect(),
            excluded: HashSet::new(),
            files: BTreeMap::new(),
            kinds: BTreeMap::new(),
            infers: BTreeMap::new(),
            sessions: BTreeMap::new(),
            merges: HashMap::new(),
            seqs: HashMap::new(),
            records: 0,
            bad_lines: 0,
        }
    }

    /// Skips `path` until [`TraceTail::include`] (for a file this process
    /// writes itself during the run).
    pub fn exclude(&mut self, path: &Path) {
        self.excluded.insert(path.to_path_buf());
    }

    /// Stops skipping `path`.
    pub fn include(&mut self, path: &Path) {
        self.excluded.remove(path);
    }

    /// Reads the complete lines appended since the last call.
    pub fn poll(&mut self) {
        for p in jsonl_files(&self.root) {
            if self.before.contains(&p) || self.excluded.contains(&p) {
                continue;
            }
            let mut st = self.files.remove(&p).unwrap_or_default();
            let lines = read_new(&p, &mut st);
            self.files.insert(p.clone(), st);
            for line in lines {
                self.record_line(&p, &line);
            }
        }
    }

    fn record_line(&mut self, file: &Path, line: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            self.bad_lines += 1;
            return;
        };
        let Some(h) = Header::of(&v) else {
            self.bad_lines += 1;
            return;
        };
        let session = match h.kind {
            Kind::Session => match SessionFields::of(&v) {
                Some(f) => Some(f),
                None => {
                    self.bad_lines += 1;
                    return;
                }
            },
            _ => None,
        };
        self.records += 1;
        *self.kinds.entry(h.kind.as_str().to_owned()).or_insert(0) += 1;
        self.seqs
            .entry(h.sid.to_string())
            .or_default()
            .push(&h.by, h.seq);
        if h.kind == Kind::Infer {
            let fw = v["framework"].as_str().unwrap_or("unknown").to_owned();
            *self.infers.entry(fw).or_insert(0) += 1;
        }
        if let Some(fields) = session {
            let merge = self.merges.entry(h.sid.to_string()).or_default();
            merge.push(h.ts, self.records, fields);
            let m = merge.merged();
            let s = self
                .sessions
                .entry(h.sid.to_string())
                .or_insert_with(|| SessionInfo {
                    file: file.to_path_buf(),
                    ..Default::default()
                });
            s.source = m.source.map(|x| x.as_str().to_owned());
            s.url = m.url;
            s.time_origin = m.time_origin;
            s.parent = m.parent;
        }
    }

    /// The files of this run read so far.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files.keys().cloned().collect()
    }

    /// Records per kind.
    pub fn kinds(&self) -> &BTreeMap<String, u64> {
        &self.kinds
    }

    /// `infer` records per framework.
    pub fn infers(&self) -> &BTreeMap<String, u64> {
        &self.infers
    }

    /// All `infer` records.
    pub fn infer_total(&self) -> u64 {
        self.infers.values().sum()
    }

    /// Lines that were not records: not JSON, without the common fields
    /// of the format's [`Header`], or a `session` record whose documented
    /// fields have the wrong types.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Sessions by sid.
    pub fn sessions(&self) -> &BTreeMap<String, SessionInfo> {
        &self.sessions
    }

    /// Top-level page sessions (source `page`, known time origin, no
    /// parent), oldest first.
    pub fn page_sessions(&self) -> Vec<(String, SessionInfo)> {
        let mut v: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.source.as_deref() == Some("page") && s.time_origin.is_some() && s.parent.is_none()
            })
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| {
            a.1.time_origin
                .partial_cmp(&b.1.time_origin)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }

    /// Every `(sid, by)` whose sequence numbers are not exactly 0..=max.
    pub fn seq_problems(&self) -> Vec<SeqProblem> {
        let mut out: Vec<SeqProblem> = self
            .seqs
            .iter()
            .flat_map(|(sid, w)| {
                w.problems().into_iter().map(|(by, s)| SeqProblem {
                    sid: sid.clone(),
                    by: by.as_field().unwrap_or_default().to_owned(),
                    missing: s.missing,
                    duplicates: s.duplicates,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.sid, &a.by).cmp(&(&b.sid, &b.by)));
        out
    }

    /// Number of `(sid, by)` writers seen.
    pub fn writers(&self) -> usize {
        self.seqs.values().map(WriterSeqs::len).sum()
    }
}

/// Reads what was appended to `path` since `st.offset`; returns the complete
/// lines and keeps an unterminated tail for the next call.
fn read_new(path: &Path, st: &mut FileState) -> Vec<Vec<u8>> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return Vec::new();
    };
    if len < st.offset {
        // Truncated or replaced: start over.
        st.offset = 0;
        st.partial.clear();
    }
    if len == st.offset || f.seek(SeekFrom::Start(st.offset)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::with_capacity((len - st.offset) as usize);
    if f.by_ref()
        .take(len - st.offset)
        .read_to_end(&mut buf)
        .is_err()
    {
        return Vec::new();
    }
    st.offset += buf.len() as u64;
    st.partial.extend_from_slice(&buf);
    let mut lines = Vec::new();
    while let Some(i) = st.partial.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = st.partial.drain(..=i).collect();
        let line = &line[..line.len() - 1];
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push(line.to_vec());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn follows_new_files_and_checks_sequences() {
        let d = tempfile::tempdir().unwrap();
        let old = d.path().join("old.jsonl");
        std::fs::write(
            &old,
            "{\"v\":1,\"sid\":\"o\",\"seq\":0,\"ts\":0,\"kind\":\"infer\"}\n",
        )
        .unwrap();
        let mut t = TraceTail::start(d.path());
        let sub = d.path().join("label");
        std::fs::create_dir_all(&sub).unwrap();
        let p = sub.join("s1.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        writeln!(f, r#"{{"v":1,"sid":"s1","seq":0,"ts":0,"kind":"session","source":"page","url":"https://a/","time_origin":1000.5}}"#).unwrap();
        writeln!(
            f,
            r#"{{"v":1,"sid":"s1","seq":0,"ts":0,"kind":"session","by":"proxy","source":"page"}}"#
        )
        .unwrap();
        write!(
            f,
            r#"{{"v":1,"sid":"s1","seq":1,"ts":5,"kind":"infer","framework":"tfjs"}}"#
        )
        .unwrap();
        f.flush().unwrap();
        t.poll();
        // The unterminated line waits.
        assert_eq!(t.infer_total(), 0);
        writeln!(f).unwrap();
        writeln!(
            f,
            r#"{{"v":1,"sid":"s1","seq":3,"ts":6,"kind":"infer","framework":"ort"}}"#
        )
        .unwrap();
        writeln!(f, "not json").unwrap();
        f.flush().unwrap();
        t.poll();
        assert_eq!(t.infer_total(), 2);
        assert_eq!(t.infers()["ort"], 1);
        assert_eq!(t.bad_lines(), 1);
        assert_eq!(t.files(), vec![p.clone()]);
        let pages = t.page_sessions();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].1.time_origin, Some(1000.5));
        let probs = t.seq_problems();
        assert_eq!(
            probs,
            vec![SeqProblem {
                sid: "s1".into(),
                by: String::new(),
                missing: 1,
                duplicates: 0
            }]
        );
        assert_eq!(t.writers(), 2);
    }

    #[test]
    fn excluded_files_wait_until_included() {
        let d = tempfile::tempdir().unwrap();
        let mut t = TraceTail::start(d.path());
        let p = d.path().join("audit.jsonl");
        t.exclude(&p);
        std::fs::write(
            &p,
            "{\"v\":1,\"sid\":\"s\",\"seq\":0,\"ts\":0,\"kind\":\"mem\",\"by\":\"audit\"}\n",
        )
        .unwrap();
        t.poll();
        assert!(t.kinds().is_empty());
        t.include(&p);
        t.poll();
        assert_eq!(t.kinds()["mem"], 1);
    }

    #[test]
    fn session_records_merge_in_ts_order_and_bad_ones_are_counted() {
        let d = tempfile::tempdir().unwrap();
        let mut t = TraceTail::start(d.path());
        let p = d.path().join("s.jsonl");
        // The page's record is read first; the proxy's (ts 0, its own
        // estimate of the time origin) is earlier in time, so it loses.
        std::fs::write(
            &p,
            [
                r#"{"v":1,"sid":"s","seq":0,"ts":3.5,"kind":"session","source":"page","url":"https://a/","time_origin":1000.5}"#,
                r#"{"v":1,"sid":"s","seq":0,"ts":0,"kind":"session","by":"proxy","source":"page","url":"https://a/?x","time_origin":999,"status":200}"#,
                r#"{"v":1,"sid":"s","seq":1,"ts":4,"kind":"session","parent":5}"#,
                r#"{"sid":"s","seq":2,"kind":"infer"}"#,
                r#"{"v":1,"sid":"s","seq":1,"ts":4,"kind":"dropped","count":3}"#,
                "",
            ]
            .join("\n"),
        )
        .unwrap();
        t.poll();
        let s = &t.sessions()["s"];
        assert_eq!(s.time_origin, Some(1000.5));
        assert_eq!(s.url.as_deref(), Some("https://a/"));
        assert_eq!(
            (s.source.as_deref(), s.parent.as_deref()),
            (Some("page"), None)
        );
        assert_eq!(s.file, p);
        // a session record with a non-string parent, a line without v/ts
        assert_eq!(t.bad_lines(), 2);
        assert_eq!(t.kinds()["dropped"], 1);
        assert!(t.seq_problems().is_empty(), "{:?}", t.seq_problems());
        assert_eq!(t.writers(), 2);
    }
}
