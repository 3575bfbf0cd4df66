//! `webinfer export parquet` ([`webinfer_analyzer::parquet_out`]): every
//! record lands in its table and partition, bad lines are counted and lose
//! nothing else, small buffers and few open files still write every row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use webinfer_analyzer::parquet_out::{export, ExportOptions};

use crate::common::write;

/// Every Parquet file under `dir`, sorted.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap()
}

/// (relative folder of the file, frame) for every file of `table`.
fn table(out: &Path, table: &str) -> Vec<(String, DataFrame)> {
    parquet_files(&out.join(table))
        .into_iter()
        .map(|p| {
            let rel = p
                .parent()
                .unwrap()
                .strip_prefix(out.join(table))
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, read(&p))
        })
        .collect()
}

fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}

const A: &[&str] = &[
    r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"session","source":"page","url":"https://x.test/p?q=1","time_origin":1796146200000,"label":"run/1","variant":"no-simd","browser":{"name":"chromium","version":"156"}}"#,
    r#"{"v":1,"sid":"a","seq":1,"ts":1,"kind":"infer","framework":"ort","model":"m.onnx","backend":"wasm","api":"InferenceSession.run","start":1,"dur":5,"call":1,"input_shapes":[[1,3]],"future_field":"kept"}"#,
    r#"{"v":1,"sid":"a","seq":2,"ts":2,"kind":"frames","t":[1.0,2.5,4.0]}"#,
    "this is not a record",
    r#"{"v":1,"sid":"a","seq":3,"ts":3,"kind":"hologram","depth":7}"#,
    r#"{"v":1,"sid":"a","seq":4,"ts":4,"kind":"video_frames","t":[5.0,6.0],"presented":[10,12]}"#,
    r#"{"v":1,"sid":"a","seq":5,"ts":5,"kind":"infer","framework":"ort","model":"m.onnx","backend":"wasm","start":9,"dur":"slow","call":2}"#,
    r#"{"v":9,"sid":"a","seq":6,"ts":6,"kind":"infer"}"#,
];

#[test]
fn every_record_lands_in_its_table_and_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut text: String = A.iter().map(|l| format!("{l}\n")).collect();
    text.push_str(r#"{"v":1,"sid":"a","seq":7,"ts":7,"kind":"mem","js_he"#); // torn last line
    let f = write(dir.path(), "a.jsonl", text);
    // a second session in another file, no session record: attributes are ""
    let g = write(
        dir.path(),
        "b.jsonl",
        r#"{"v":1,"sid":"b","seq":0,"ts":0,"kind":"mem","js_heap_used":5,"by":"audit"}"#.to_owned()
            + "\n",
    );
    let out = dir.path().join("out");
    let opts = ExportOptions {
        partition_by: vec!["label".into(), "day".into()],
        ..Default::default()
    };
    let st = export(&[f, g], &out, &opts).unwrap();
    assert_eq!(st.torn_last.len(), 1, "{st}");
    assert_eq!(st.invalid, 1, "{st}");
    assert_eq!(st.newer_version, 1, "{st}");
    assert_eq!(st.sessions, 2);
    let want: BTreeMap<String, u64> = [
        ("calls", 2),
        ("frames", 2),
        ("mem", 1),
        ("other", 1),
        ("session", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(st.records, want, "{st}");
    assert_eq!(st.rows["frames"], 5, "3 + 2 timestamps");

    // the label is escaped in the folder name and not a column of the file
    let calls = table(&out, "calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "label=run%2F1/day=2026-12-01");
    let df = &calls[0].1;
    assert!(df.column("label").is_err() && df.column("day").is_err());
    assert_eq!(strs(df, "variant"), vec![Some("no-simd".into()); 2]);
    assert_eq!(strs(df, "browser"), vec![Some("chromium".into()); 2]);
    assert_eq!(strs(df, "page"), vec![Some("https://x.test/p".into()); 2]);
    assert_eq!(strs(df, "input_shapes")[0].as_deref(), Some("[[1,3]]"));
    // an unknown field and a value of the wrong type go to `extra`
    assert_eq!(
        strs(df, "extra"),
        vec![
            Some(r#"{"future_field":"kept"}"#.into()),
            Some(r#"{"dur":"slow"}"#.into())
        ]
    );
    let dur: Vec<Option<f64>> = df.column("dur").unwrap().f64().unwrap().iter().collect();
    assert_eq!(dur, vec![Some(5.0), None]);

    // frames: one row per timestamp, `presented` beside its `t`
    let frames = &table(&out, "frames")[0].1;
    let t: Vec<Option<f64>> = frames.column("t").unwrap().f64().unwrap().iter().collect();
    assert_eq!(t, [1.0, 2.5, 4.0, 5.0, 6.0].map(Some).to_vec());
    let p: Vec<Option<i64>> = frames
        .column("presented")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(p, vec![None, None, None, Some(10), Some(12)]);
    let i: Vec<Option<i64>> = frames.column("i").unwrap().i64().unwrap().iter().collect();
    assert_eq!(i, [0, 1, 2, 0, 1].map(Some).to_vec());

    // the unknown kind keeps all its fields
    let other = &table(&out, "other")[0].1;
    assert_eq!(strs(other, "extra"), vec![Some(r#"{"depth":7}"#.into())]);
    // the session without a session record: empty attributes, null partitions
    let mem = table(&out, "mem");
    assert_eq!(
        mem[0].0,
        "label=__HIVE_DEFAULT_PARTITION__/day=__HIVE_DEFAULT_PARTITION__"
    );
    assert_eq!(strs(&mem[0].1, "by"), vec![Some("audit".into())]);
    // tables without records exist, empty
    let net = table(&out, "net");
    assert_eq!(net.len(), 1);
    assert_eq!(net[0].1.height(), 0);
    assert!(net[0].1.column("start_unix_ms").is_ok());

    // exporting again into the same folder adds part files; another partitioning is refused
    export(&[dir.path().join("b.jsonl")], &out, &opts).unwrap();
    assert_eq!(table(&out, "mem").len(), 2);
    let other_keys = ExportOptions {
        partition_by: vec!["variant".into()],
        ..Default::default()
    };
    let e = export(&[dir.path().join("b.jsonl")], &out, &other_keys).unwrap_err();
    assert!(
        e.to_string().contains("another schema or partitioning"),
        "{e}"
    );
    let e = export(
        &[dir.path().join("b.jsonl")],
        &dir.path().join("x"),
        &ExportOptions {
            partition_by: vec!["model".into()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("unknown partition key `model`"),
        "{e}"
    );
}

#[test]
fn small_buffers_and_few_open_files_write_every_row() {
    let dir = tempfile::tempdir().unwrap();
    // 3 sessions in 3 labels, records interleaved so partitions alternate
    let mut text = String::new();
    for s in 0..3 {
        text.push_str(&format!(
            "{{\"v\":1,\"sid\":\"s{s}\",\"seq\":0,\"ts\":0,\"kind\":\"session\",\"label\":\"L{s}\"}}\n"
        ));
    }
    for i in 1..=50 {
        for s in 0..3 {
            text.push_str(&format!(
                "{{\"v\":1,\"sid\":\"s{s}\",\"seq\":{i},\"ts\":{i},\"kind\":\"probe\",\"start\":{i},\"delay\":{s}}}\n"
            ));
        }
    }
    let f = write(dir.path(), "t.jsonl", text);
    let out = dir.path().join("out");
    let opts = ExportOptions {
        partition_by: vec!["label".into()],
        batch_rows: 7,
        max_open: 2,
    };
    let st = export(&[f], &out, &opts).unwrap();
    assert_eq!(st.records["events"], 150);
    let files = table(&out, "events");
    assert!(
        files.len() > 3,
        "files closed and reopened: {}",
        files.len()
    );
    for s in 0..3 {
        let rows: usize = files
            .iter()
            .filter(|(rel, _)| *rel == format!("label=L{s}"))
            .map(|(_, df)| {
                let d = df.column("delay").unwrap().f64().unwrap();
                assert!(d.iter().all(|x| x == Some(s as f64)));
                df.height()
            })
            .sum();
        assert_eq!(rows, 50, "label L{s}");
    }
}

#[test]
fn the_documented_schema_is_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../format/parquet-export.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let md = webinfer_analyzer::export_schema::markdown();
    if !doc.contains(&md) {
        let _ = std::fs::write(std::env::temp_dir().join("parquet-export-tables.md"), &md);
    }
    assert!(doc.contains(&md), "format/parquet-export.md must list the tables as the code does (see $TMPDIR/parquet-export-tables.md)");
}
