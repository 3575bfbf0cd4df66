//! The reader: tolerance of torn lines and unknown kinds with counted
//! reasons, clear errors for non-traces, sessions spread over files and
//! writers, sequence gaps, and the gzip and Parquet inputs.

use std::io::Write;

use webinfer_analyzer::read::{read_all, ReadOptions};
use webinfer_analyzer::table::{session_rows, M};
use webinfer_analyzer::Error;

use crate::common::{jsonl, read_one, write};

const REC: &str = r#"{"v":1,"sid":"a","seq":SEQ,"ts":1,"kind":"probe","start":1,"delay":2}"#;

fn rec(seq: u64) -> String {
    REC.replace("SEQ", &seq.to_string())
}

#[test]
fn torn_last_line_and_unknown_kinds_are_skipped_and_counted() {
    let text = format!(
        "{}\n{}\n{{\"v\":1,\"sid\":\"a\",\"seq\":2,\"ts\":1,\"kind\":\"future\",\"x\":1}}\n{}\n{{\"v\":1,\"sid\":\"a\",\"seq\":4,\"ts\":1,\"kind\":\"hologram\"}}\n{{\"v\":1,\"sid\":\"a\",\"seq\":5,\"ts\":1,\"ki",
        rec(0),
        rec(1),
        rec(3)
    );
    let (s, stats) = read_one("a.jsonl", text);
    assert_eq!(s[0].probes.len(), 3);
    assert_eq!(stats.records, 3);
    assert_eq!(stats.skipped(), 3);
    assert_eq!(
        stats.to_string(),
        "skipped 3 lines: 1 torn last line in a.jsonl, 2 unknown kind (future, hologram)"
    );
}

#[test]
fn an_unterminated_but_complete_last_line_is_kept() {
    let (s, stats) = read_one("a.jsonl", format!("{}\n{}", rec(0), rec(1)));
    assert_eq!((s[0].probes.len(), stats.skipped()), (2, 0));
}

#[test]
fn files_that_are_not_traces_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let png = write(dir.path(), "shot.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let err = read_all(std::slice::from_ref(&png), &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::NotATrace { ref path, .. } if *path == png),
        "{err}"
    );
    assert!(
        err.to_string().contains("shot.png is not a webinfer trace"),
        "{err}"
    );

    let json = write(
        dir.path(),
        "package.json",
        "{\"name\": \"x\", \"version\": \"1.0.0\"}",
    );
    let err = read_all(&[json], &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("package.json is not a webinfer trace"),
        "{err}"
    );
    assert!(err.to_string().contains("missing field `v`"), "{err}");

    let empty_dir = dir.path().join("nothing");
    std::fs::create_dir(&empty_dir).unwrap();
    let err = read_all(&[empty_dir], &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NoInput(_)), "{err}");
}

#[test]
fn an_invalid_line_in_the_middle_is_counted_with_its_place() {
    let (_, stats) = read_one("m.jsonl", format!("{}\nnot json\n{}\n", rec(0), rec(1)));
    assert_eq!(stats.invalid, 1);
    assert!(stats.to_string().contains("m.jsonl:2:"), "{stats}");
}

#[test]
fn a_session_spread_over_files_and_writers_is_merged_with_gaps_per_writer() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("run/deeper");
    std::fs::create_dir_all(&sub).unwrap();
    // page writer: seq 0, 1, 3 here and 4 in the other file → 2 is lost
    write(
        &sub,
        "a.jsonl",
        jsonl(&[
            r#"{"v":1,"sid":"s","seq":0,"ts":10,"kind":"session","source":"page","label":"from-page"}"#,
            r#"{"v":1,"sid":"s","seq":1,"ts":11,"kind":"probe","start":1,"delay":1}"#,
            r#"{"v":1,"sid":"s","seq":3,"ts":12,"kind":"probe","start":2,"delay":1}"#,
        ]),
    );
    // proxy writer: its own seq 0, 1 (no gap); an earlier session record whose label loses
    write(
        &dir.path().join("run"),
        "b.proxy.jsonl",
        jsonl(&[
            r#"{"v":1,"sid":"s","seq":0,"ts":0,"kind":"session","by":"proxy","source":"page","label":"from-proxy","variant":"no-simd","status":200}"#,
            r#"{"v":1,"sid":"s","seq":1,"ts":5,"kind":"net","by":"proxy","url":"u","method":"GET","status":200,"bytes":10,"start_unix_ms":1,"dur":1}"#,
            r#"{"v":1,"sid":"s","seq":4,"ts":13,"kind":"probe","start":3,"delay":1}"#,
            r#"{"v":1,"sid":"other","seq":0,"ts":0,"kind":"probe","start":3,"delay":1}"#,
        ]),
    );
    let (sessions, stats) = read_all(
        &[dir.path().to_path_buf()],
        &ReadOptions {
            jobs: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(sessions.len(), 2);
    let s = sessions.iter().find(|s| s.sid == "s").unwrap();
    assert_eq!(s.probes.len(), 3);
    assert_eq!(s.meta.label.as_deref(), Some("from-page"));
    assert_eq!(s.meta.variant.as_deref(), Some("no-simd"));
    assert_eq!(s.seq_gaps(), vec![("session".to_string(), 1)]);
    assert_eq!(session_rows(s)[0].get(M::LostRecords), Some(1.0));
}

#[test]
fn gzip_and_parquet_inputs_read_like_jsonl() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/page.jsonl");
    let (plain, _) = read_all(std::slice::from_ref(&fixture), &ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("page.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&fixture).unwrap()).unwrap();
    enc.finish().unwrap();
    let (from_gz, _) = read_all(&[gz], &ReadOptions::default()).unwrap();
    assert_eq!(session_rows(&from_gz[0]), session_rows(&plain[0]));

    let pq = dir.path().join("page.parquet");
    webinfer_analyzer::parquet_in::jsonl_to_parquet(&fixture, &pq).unwrap();
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let (from_pq, stats) = read_all(&[pq], &ReadOptions::default()).unwrap();
    assert_eq!(stats.skipped(), 0, "{stats}");
    assert_eq!(session_rows(&from_pq[0]), session_rows(&plain[0]));
}
