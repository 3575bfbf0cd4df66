//! Trace durability across `kill -9`, with the real `webinfer proxy` and
//! `webinfer analyze` binaries.
//!
//! Posters send batches of valid records (format/trace-format.md) to the
//! trace endpoint and remember every record acknowledged with `204`. The
//! proxy is killed with SIGKILL while they post. Then:
//! - every acknowledged record is in its session file;
//! - every line parses as a record, except at most a torn last line;
//! - `webinfer analyze` reads the folder and reports exactly the torn last
//!   lines found as skipped.
//!
//! A restart then appends to the same session files after a torn last line
//! (what a crash in the middle of a write — disk full, power loss — leaves;
//! the proxy itself writes whole lines, so SIGKILL alone cannot tear one),
//! and no record acknowledged after the restart may be lost.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use http::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// Records per batch: big enough that a batch spans several writes.
const BATCH: u64 = 50;
/// Posters (sessions) per proxy run.
const POSTERS: usize = 3;

/// Acknowledged (sid, seq) pairs.
type Acked = Arc<Mutex<BTreeSet<(String, u64)>>>;

fn record(sid: &str, seq: u64) -> Value {
    json!({
        "v": 1, "sid": sid, "seq": seq, "ts": seq as f64 * 0.5, "kind": "probe",
        "start": seq as f64 * 0.5 - 0.25, "delay": 0.25,
        "note": "durability test record with some padding to make lines longer",
    })
}

/// Posts batches for `sid` from `first_seq` until the proxy stops
/// answering; records the acknowledged seqs. Returns the next seq.
async fn poster(
    proxy: SocketAddr,
    authority: String,
    sid: String,
    first_seq: u64,
    acked: Acked,
) -> u64 {
    let Ok(tcp) = TcpStream::connect(proxy).await else {
        return first_seq;
    };
    let Ok((mut send, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
    else {
        return first_seq;
    };
    tokio::spawn(conn);
    let mut seq = first_seq;
    loop {
        let batch: Vec<Value> = (seq..seq + BATCH).map(|s| record(&sid, s)).collect();
        let req = Request::post(format!("http://{authority}/__webinfer__/trace"))
            .header("host", authority.as_str())
            .header("content-type", "application/json")
            .body(full(serde_json::to_vec(&batch).unwrap()))
            .unwrap();
        if send.ready().await.is_err() {
            return seq;
        }
        let resp = match send.send_request(req).await {
            Ok(r) => r,
            Err(_) => return seq,
        };
        let status = resp.status();
        if body_bytes(resp).await.is_err() {
            return seq;
        }
        match status.as_u16() {
            204 => {
                let mut a = acked.lock().unwrap();
                for s in seq..seq + BATCH {
                    a.insert((sid.clone(), s));
                }
                seq += BATCH;
            }
            // Over the per-session rate: nothing stored, try again later.
            429 => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("unexpected answer {other} to a valid batch"),
        }
    }
}

/// What a session file holds after a crash.
struct FileCheck {
    /// (sid, seq) of every whole line.
    records: BTreeSet<(String, u64)>,
    /// The last line was unterminated and not a record.
    torn_last: bool,
    /// Terminated lines that are the old torn piece given to [`check_file_allowing`].
    old_piece_seen: usize,
}

/// Parses `path`: every line must be a record, except an unterminated,
/// unparsable last line (torn).
fn check_file(path: &Path) -> FileCheck {
    check_file_allowing(path, None)
}

/// [`check_file`], also allowing `old_piece` (the torn last line of a run
/// before) on a terminated line of its own, counted in `old_piece_seen`.
fn check_file_allowing(path: &Path, old_piece: Option<&[u8]>) -> FileCheck {
    let text = std::fs::read(path).unwrap();
    let mut records = BTreeSet::new();
    let mut torn_last = false;
    let mut old_piece_seen = 0;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let n = lines.len();
    let not_allowed = if old_piece.is_some() {
        "is neither the old torn piece nor the torn last line"
    } else {
        "is not the torn last line"
    };
    for (i, line) in lines.into_iter().enumerate() {
        if line.is_empty() {
            assert_eq!(i, n - 1, "{}: empty line {}", path.display(), i + 1);
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => {
                assert_eq!(v["v"], 1, "{}: line {} is a record", path.display(), i + 1);
                records.insert((
                    v["sid"].as_str().unwrap().to_owned(),
                    v["seq"].as_u64().unwrap(),
                ));
            }
            Err(_) if old_piece == Some(line) && i < n - 1 => old_piece_seen += 1,
            Err(e) => {
                assert_eq!(
                    i,
                    n - 1,
                    "{}: line {} does not parse ({e}) and {not_allowed}",
                    path.display(),
                    i + 1
                );
                torn_last = true;
            }
        }
    }
    FileCheck {
        records,
        torn_last,
        old_piece_seen,
    }
}

fn session_files(traces: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(traces.join("default"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".jsonl") && !n.starts_with('_')
        })
        .collect();
    v.sort();
    v
}

/// Checks every session file against `acked`; returns the number of torn
/// last lines.
fn check_all(traces: &Path, acked: &Acked) -> usize {
    let mut found: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut torn = 0;
    for f in session_files(traces) {
        let c = check_file(&f);
        torn += usize::from(c.torn_last);
        found.extend(c.records);
    }
    let acked = acked.lock().unwrap();
    let missing: Vec<_> = acked.difference(&found).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records are missing, e.g. {missing:?}",
        acked.difference(&found).count()
    );
    torn
}

/// Runs `webinfer analyze TRACES`; asserts it succeeds and reports `torn`
/// torn last lines; returns the records it read.
fn analyze(traces: &Path, out: &Path, torn: usize) -> u64 {
    let (ok, stdout, stderr) = run_bin(
        &[
            "analyze",
            &traces.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--format",
            "md",
        ],
        &[],
    );
    assert!(ok, "webinfer analyze failed:\n{stdout}\n{stderr}");
    let read = stderr
        .lines()
        .find(|l| l.starts_with("Read "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    if torn == 0 {
        assert!(read.contains("skipped 0 lines"), "{read}");
    } else {
        let want = format!("{torn} torn last line{}", if torn == 1 { "" } else { "s" });
        assert!(read.contains(&want), "want {want:?} in {read}");
    }
    read.split(" records")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("record count in {read}"))
}

/// One proxy run: start, post from `POSTERS` sessions, SIGKILL after
/// `kill_after`; returns each session's next seq. With `sids` empty, the
/// proxy first issues `POSTERS` sessions (pages of `page`, loaded through
/// it) and `sids` gets them; otherwise the sids of the files an earlier run
/// left go on posting (a proxy restart under open pages).
async fn run_and_kill(
    ca_dir: &Path,
    traces: &Path,
    page: &Origin,
    sids: &mut Vec<String>,
    first: &BTreeMap<String, u64>,
    kill_after: Duration,
    acked: &Acked,
) -> BTreeMap<String, u64> {
    let mut setup = ProxySetup::new(ca_dir, traces);
    setup.resolve.push(("page.test".into(), page.port()));
    let mut proxy = ProxyProcess::start(setup);
    let authority = format!("page.test:{}", page.port());
    if sids.is_empty() {
        for _ in 0..POSTERS {
            sids.push(issue_sid(proxy.addr, &authority).await);
        }
    }
    let mut tasks = Vec::new();
    for sid in sids.iter() {
        let start = first.get(sid).copied().unwrap_or(0);
        tasks.push(tokio::spawn(poster(
            proxy.addr,
            authority.clone(),
            sid.clone(),
            start,
            acked.clone(),
        )));
    }
    let acked_before = acked.lock().unwrap().len();
    tokio::time::sleep(kill_after).await;
    let t = Instant::now();
    proxy.kill9();
    assert!(t.elapsed() < Duration::from_secs(5));
    let mut next = BTreeMap::new();
    for (sid, task) in sids.iter().zip(tasks) {
        let n = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("posters notice the dead proxy")
            .unwrap();
        next.insert(sid.clone(), n);
    }
    assert!(
        acked.lock().unwrap().len() > acked_before,
        "records were acknowledged before the kill (the kill landed mid-stream)"
    );
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_loses_no_acknowledged_record_and_the_analyzer_reads_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let page = start_origin(None).await;
    for (round, kill_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let traces = tmp.path().join(format!("traces-{round}"));
        let acked: Acked = Arc::default();
        let mut sids = Vec::new();
        run_and_kill(
            &ca_dir,
            &traces,
            &page,
            &mut sids,
            &BTreeMap::new(),
            Duration::from_millis(kill_ms),
            &acked,
        )
        .await;
        let torn = check_all(&traces, &acked);
        let lines: usize = session_files(&traces)
            .iter()
            .map(|f| check_file(f).records.len())
            .sum();
        let read = analyze(&traces, &tmp.path().join(format!("report-{round}")), torn);
        assert!(
            read >= lines as u64,
            "the analyzer read {read} records, the session files hold {lines}"
        );
        println!(
            "round {round}: killed after {kill_ms} ms, {} records acknowledged, {lines} in files, {torn} torn",
            acked.lock().unwrap().len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_a_torn_last_line_appends_whole_records() {
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let traces = tmp.path().join("traces");
    let acked: Acked = Arc::default();
    let page = start_origin(None).await;
    let mut sids = Vec::new();
    let next = run_and_kill(
        &ca_dir,
        &traces,
        &page,
        &mut sids,
        &BTreeMap::new(),
        Duration::from_millis(300),
        &acked,
    )
    .await;
    // The kill may itself have torn the last line of some files (a batch
    // written in several syscalls); each may hold at most that.
    let torn_by_kill = check_all(&traces, &acked);
    // A crash in the middle of a write leaves half a line behind: make sure
    // the victim ends in one, tearing it by hand unless the kill did.
    let victim = traces.join("default").join(format!("{}.jsonl", sids[0]));
    let victim_torn = check_file(&victim).torn_last;
    if !victim_torn {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&victim)
            .unwrap();
        f.write_all(format!(r#"{{"v":1,"sid":"{}","seq":99999,"ts":1.0,"ki"#, sids[0]).as_bytes())
            .unwrap();
    }
    let torn = check_all(&traces, &acked);
    assert_eq!(torn, torn_by_kill + usize::from(!victim_torn));
    analyze(&traces, &tmp.path().join("report-torn"), torn);
    let pieces = torn_pieces(&traces);
    assert_eq!(pieces.len(), torn);
    assert!(pieces.contains_key(&victim));

    // The restarted proxy appends to the same files (it accepts the sids of
    // the files it finds: the pages are still open); each torn piece stays
    // alone on its line and every record acknowledged now is whole.
    run_and_kill(
        &ca_dir,
        &traces,
        &page,
        &mut sids,
        &next,
        Duration::from_millis(300),
        &acked,
    )
    .await;
    check_all_allowing(&traces, &acked, &pieces);
}

/// The unterminated last line of every session file that ends in one.
fn torn_pieces(traces: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    session_files(traces)
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read(&f).unwrap();
            let last = text.rsplit(|&b| b == b'\n').next().unwrap_or_default();
            (!last.is_empty()).then(|| (f.clone(), last.to_vec()))
        })
        .collect()
}

/// Like [`check_all`] after a restart: in each file of `pieces` its old torn
/// piece now stands alone on a terminated line, and nothing else fails to
/// parse except (after the second kill) an unterminated last line. Every
/// acknowledged record is present. Returns the new torn last lines.
fn check_all_allowing(traces: &Path, acked: &Acked, pieces: &BTreeMap<PathBuf, Vec<u8>>) -> usize {
    let mut found: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut torn = 0;
    for f in session_files(traces) {
        let c = check_file_allowing(&f, pieces.get(&f).map(Vec::as_slice));
        torn += usize::from(c.torn_last);
        found.extend(c.records);
        let want = usize::from(pieces.contains_key(&f));
        assert_eq!(
            c.old_piece_seen,
            want,
            "{}: the old torn piece stands alone on a terminated line",
            f.display()
        );
    }
    let acked = acked.lock().unwrap();
    let missing = acked.difference(&found).count();
    assert_eq!(missing, 0, "acknowledged records missing after the restart");
    torn
}
