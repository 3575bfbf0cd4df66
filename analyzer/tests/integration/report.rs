//! The whole pipeline on generated traces: reports, tables, charts and the
//! Perfetto export are written, complete and self-contained.

use std::path::Path;

use polars::prelude::*;
use webinfer_analyzer::analysis::{run, Options};
use webinfer_analyzer::generate::{sample_specs, write_session};
use webinfer_analyzer::read::{read_all, ReadOptions};
use webinfer_analyzer::report::write_all;
use webinfer_analyzer::table::M;

use crate::common::{jsonl, write};

fn generate(dir: &Path) {
    for spec in sample_specs(3000.0) {
        let sub = if spec.native() {
            dir.join("native")
        } else {
            dir.join("browser")
        };
        std::fs::create_dir_all(&sub).unwrap();
        let mut page = Vec::new();
        let mut proxy = Vec::new();
        write_session(&spec, &mut page, &mut proxy).unwrap();
        std::fs::write(sub.join(format!("{}.jsonl", spec.sid)), page).unwrap();
        if !proxy.is_empty() {
            std::fs::write(sub.join(format!("{}.proxy.jsonl", spec.sid)), proxy).unwrap();
        }
    }
}

fn formats() -> Vec<String> {
    ["md", "html", "csv", "parquet", "svg", "png"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn analyze_writes_every_output_with_slowdown_from_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let opts = Options {
        inputs: vec![dir.path().join("browser")],
        baselines: vec![dir.path().join("native")],
        group_by: vec![
            "label".into(),
            "variant".into(),
            "model".into(),
            "backend".into(),
        ],
        read: ReadOptions::default(),
    };
    let a = run(&opts).unwrap();
    // three browser sessions, page + proxy file each; the proxy's variant is merged in
    assert_eq!(a.stats.files, 6);
    assert_eq!(a.rows.len(), 3);
    assert!(a.gaps.is_empty());
    let nosimd = a
        .rows
        .iter()
        .find(|r| r.key("variant") == "no-simd")
        .unwrap();
    let webgl = a.rows.iter().find(|r| r.key("backend") == "webgl").unwrap();
    // the generator's medians are 95 ms (no-simd), 14 ms (webgl) and 9 ms native
    let (s1, s2) = (
        nosimd.get(M::SlowdownX).unwrap(),
        webgl.get(M::SlowdownX).unwrap(),
    );
    assert!(s1 > 6.0 && s1 < 16.0, "no-simd slowdown {s1}");
    assert!(s2 > 1.0 && s2 < 2.5, "webgl slowdown {s2}");
    // a main-thread wasm inference blocks frames; the webgl one mostly does not
    assert!(nosimd.get(M::FrameTimeIncrease).unwrap() > 1.0);

    let out = dir.path().join("report");
    let written = write_all(&a, &out, &formats()).unwrap();
    for name in [
        "report.md",
        "report.html",
        "metrics.csv",
        "summary.csv",
        "metrics.parquet",
        "latency.svg",
        "slowdown.svg",
        "fps-timeline.svg",
        "memory-timeline.svg",
        "responsiveness-cdf.svg",
        "latency.png",
    ] {
        assert!(
            written.contains(&out.join(name)),
            "{name} missing from {written:?}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 5, "five inline charts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external resources"
    );
    assert!(!html.contains("no data:"), "every chart has data");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## Slowdown ×native") && md.contains("![Slowdown vs native](slowdown.svg)")
    );
    assert!(md.contains("no-simd"));
    // the CSV and Parquet tables hold browser and baseline rows
    let df = ParquetReader::new(std::fs::File::open(out.join("metrics.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.csv"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    let png = std::fs::read(out.join("latency.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn charts_without_data_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.jsonl",
        jsonl(&[r#"{"v":1,"sid":"x","seq":0,"ts":0,"kind":"session","source":"page"}"#]),
    );
    let opts = Options {
        inputs: vec![p],
        baselines: vec![],
        group_by: vec!["label".into()],
        read: ReadOptions::default(),
    };
    let a = run(&opts).unwrap();
    let out = dir.path().join("r");
    write_all(&a, &out, &["svg".to_string()]).unwrap();
    for name in [
        "latency",
        "slowdown",
        "fps-timeline",
        "memory-timeline",
        "responsiveness-cdf",
    ] {
        let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("no data:"), "{name} should say it has no data");
    }
    let bad = write_all(&a, &out, &["pdf".to_string()]).unwrap_err();
    assert!(bad.to_string().contains("unknown --format `pdf`"));
}

#[test]
fn perfetto_export_is_trace_event_json_with_named_tracks() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let (sessions, _) = read_all(&[dir.path().join("browser")], &ReadOptions::default()).unwrap();
    let mut buf = Vec::new();
    let n = webinfer_analyzer::perfetto::write(&sessions[..1], &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).expect("valid JSON");
    let ev = v["traceEvents"].as_array().unwrap();
    assert_eq!(ev.len() as u64, n);
    let names: Vec<&str> = ev
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    for t in ["inference", "kernels", "long tasks", "frames"] {
        assert!(names.contains(&t), "track {t}");
    }
    let s = &sessions[0];
    // every inference is an X event whose ts/dur are its start/dur in µs
    let infers: Vec<&serde_json::Value> = ev.iter().filter(|e| e["cat"] == "inference").collect();
    assert_eq!(infers.len(), s.infers.len());
    assert_eq!(infers[0]["ph"], "X");
    assert!((infers[0]["dur"].as_f64().unwrap() - s.infers[0].dur * 1000.0).abs() < 0.01);
    assert!(ev.iter().any(|e| e["ph"] == "C" && e["cat"] == "memory"));
    assert!(ev.iter().any(|e| e["name"] == "process_name"));
}
