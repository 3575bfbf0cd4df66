//! The whole pipeline on generated traces: reports, tables, charts and the
//! Perfetto export are written, complete and self-contained.

use std::path::Path;

use polars::prelude::*;
use webinfer_analyzer::analysis::{run, Options};
use webinfer_analyzer::generate::{sample_specs, write_session};
use webinfer_analyzer::read::{read_all, ReadOptions};
use webinfer_analyzer::report::write_all;
use webinfer_analyzer::table::M;

use crate::common::{jsonl, temp_file, write};

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
    let doc = webinfer_analyzer::report::page::document(&a).unwrap();
    let names: Vec<&str> = doc.charts().map(|c| c.name.as_str()).collect();
    // two page groups (label · variant: wasm and webgl are both "default"), each with its
    // four charts, and the comparison
    assert_eq!(doc.pages.len(), 2);
    assert_eq!(doc.pages.iter().map(|p| p.sessions).sum::<u32>(), 3);
    // two sessions in a group: their session metrics carry a 95% CI
    let two = doc.pages.iter().find(|p| p.sessions == 2).unwrap();
    let fps = two
        .tiles
        .iter()
        .find(|t| t.label.starts_with("Frame rate"))
        .unwrap();
    assert_eq!(fps.value.matches(" ± ").count(), 2, "{fps:?}");
    assert!(
        doc.pages
            .iter()
            .any(|p| p.session.rows.iter().any(|r| r[1].contains(" ± "))),
        "a CI in the page metrics"
    );
    for n in [
        "cmp-p50",
        "cmp-slowdown",
        "cmp-fps",
        "cmp-probes",
        "cmp-memory",
        "p1-latency",
        "p1-fps",
        "p1-memory",
        "p1-probes",
        "p2-fps",
    ] {
        assert!(names.contains(&n), "{n} not in {names:?}");
        assert!(html.contains(&format!("id=\"{n}\"")), "{n} not in the HTML");
    }
    assert_eq!(
        html.matches("<svg").count(),
        names.len(),
        "every chart inline, once"
    );
    assert_eq!(
        html.matches("<title id=").count(),
        names.len(),
        "each with a text alternative"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<img"),
        "no external resources"
    );
    assert!(!html.contains("no data:"), "every chart has data");
    assert!(
        html.contains("<details id=\"appendix\">"),
        "full tables collapsed"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for n in &names {
        assert!(
            md.contains(&format!("({n}.svg)")),
            "{n} linked from the Markdown"
        );
        assert!(
            written.contains(&out.join(format!("{n}.svg"))),
            "{n}.svg written"
        );
    }
    // the Markdown has the same sections in the same order
    let pos = |doc: &str, s: &str| doc.find(s).unwrap_or_else(|| panic!("{s} missing"));
    let mut last = (0, 0);
    for p in &doc.pages {
        let at = (pos(&md, &p.tiles[0].line), pos(&html, &p.tiles[0].line));
        assert!(at.0 > last.0 && at.1 > last.1, "{} out of order", p.title);
        last = at;
    }
    assert!(pos(&md, "## Appendix") > last.0 && pos(&html, "Appendix: full") > last.1);
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
    let (dir, p) = temp_file(
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

#[test]
fn plain_language_lines() {
    use webinfer_analyzer::report::page::{delay_words, fps_words, memory_words, slowdown_words};
    assert_eq!(fps_words(60.0, 30.0), "inference halves the frame rate");
    assert_eq!(fps_words(60.0, 28.0), "inference halves the frame rate");
    assert_eq!(
        fps_words(60.0, 20.0),
        "inference cuts the frame rate to a third"
    );
    assert_eq!(
        fps_words(60.0, 6.0),
        "inference cuts the frame rate to a tenth"
    );
    assert_eq!(
        fps_words(60.0, 45.0),
        "inference cuts the frame rate by 25%"
    );
    assert_eq!(
        fps_words(60.0, 59.0),
        "inference barely changes the frame rate"
    );
    assert_eq!(
        fps_words(30.0, 40.0),
        "the frame rate is higher while inferring"
    );
    assert_eq!(
        delay_words(120.0, 10.0),
        "main-thread tasks wait up to 120.0 ms (p95) while a model runs, 12× as long as otherwise"
    );
    assert!(delay_words(5.0, 4.5).starts_with("inference barely delays the main thread"));
    assert_eq!(
        slowdown_words(3.46, Some(4.0)),
        "3.5× slower than native (4.0 ms natively)"
    );
    assert!(slowdown_words(1.02, None).starts_with("about native speed"));
    assert!(slowdown_words(0.5, None).starts_with("faster than native"));
    let m = memory_words(3.0 * 1048576.0, Some(1048576.0), Some(2.0 * 1048576.0));
    assert!(m.contains(": 3.0× the model's 1.0 MiB"), "{m}");
    assert!(
        m.ends_with("the page's renderer process grew by 2.0 MiB"),
        "{m}"
    );
}

/// Points of every `<polyline>` drawn in `color` (plotters writes each path so).
fn polylines(svg: &str, color: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| {
            p.split('>')
                .next()
                .unwrap()
                .contains(&format!("stroke=\"{color}\""))
        })
        .map(|p| {
            let pts = p
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            pts.split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn fps_chart_draws_one_flat_step_per_frame_interval() {
    use webinfer_analyzer::report::charts::{fps_steps, svg, Plot};
    use webinfer_analyzer::series::Timeline;
    // frames at 0, 16, 32, then a 100 ms frame under the inference [40, 120], then 16 ms again
    let t = Timeline {
        title: "s1".into(),
        frames: vec![0.0, 16.0, 32.0, 132.0, 148.0],
        windows: vec![(40.0, 120.0)],
        ..Default::default()
    };
    assert_eq!(
        fps_steps(&t),
        vec![
            (0.0, 16.0, 62.5),
            (16.0, 32.0, 62.5),
            (32.0, 132.0, 10.0),
            (132.0, 148.0, 62.5)
        ]
    );
    let doc = svg("fps", Plot::Fps(Some(&t)), "Frame rate (fps) — session s1").unwrap();
    assert!(doc.contains("Frame rate (fps) — session s1"));
    // four steps, each a horizontal segment of two points (nothing joins two intervals),
    // and the legend's sample line
    let steps: Vec<_> = polylines(&doc, "#0000FF");
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert!(
        steps.iter().all(|p| p.len() == 2 && p[0].1 == p[1].1),
        "{steps:?}"
    );
    // the long frame is a step 100 ms wide, the 16 ms ones are 16 ms wide
    let widths: Vec<f64> = steps[..4].iter().map(|p| p[1].0 - p[0].0).collect();
    assert!(
        (widths[2] / widths[0] - 100.0 / 16.0).abs() < 0.2,
        "{widths:?}"
    );
}

#[test]
fn memory_chart_has_a_panel_per_source_and_the_model_size() {
    use webinfer_analyzer::report::charts::{mem_sources, svg, Plot};
    use webinfer_analyzer::series::Timeline;
    const MB: f64 = 1048576.0;
    let t = Timeline {
        title: "s1".into(),
        mem: vec![
            (0.0, "js_heap_used", 2.0 * MB),
            (0.0, "rss", 900.0 * MB),
            (500.0, "js_heap_used", 12.0 * MB),
            (500.0, "renderer_rss", 150.0 * MB),
            (500.0, "rss", 1000.0 * MB),
        ],
        model_bytes: Some(5.0 * MB),
        ..Default::default()
    };
    assert_eq!(
        mem_sources(&t).iter().map(|s| s.0).collect::<Vec<_>>(),
        ["js_heap_used", "renderer_rss", "rss"]
    );
    let doc = svg("memory", Plot::Memory(Some(&t)), "Memory — session s1").unwrap();
    for caption in [
        "JS heap used (MiB), peak 12.0 MiB",
        "renderer process RSS (MiB), peak 150.0 MiB",
        "whole-browser RSS (all processes, context) (MiB), peak 1000.0 MiB",
    ] {
        assert!(doc.contains(caption), "{caption}");
    }
    assert_eq!(
        doc.matches("model size 5.0 MiB").count(),
        3,
        "the model size on each panel"
    );
}

/// A native run that could not run its model (`end` with `reason: "error"`) is
/// listed with the runner's reason in the Markdown and HTML reports.
#[test]
fn models_without_a_native_baseline_are_listed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    write(
        &dir.path().join("native"),
        "failed.jsonl",
        jsonl(&[
            r#"{"v":1,"sid":"nat-fail","seq":0,"ts":0,"kind":"session","source":"native","engine":"ort"}"#,
            r#"{"v":1,"sid":"nat-fail","seq":1,"ts":5,"kind":"end","reason":"error","error":"models/abc.json: cannot convert the TF.js model to ONNX: op Enter (TF control flow) is not supported"}"#,
        ]),
    );
    let opts = Options {
        inputs: vec![dir.path().join("browser")],
        baselines: vec![dir.path().join("native")],
        group_by: vec!["label".into(), "model".into(), "backend".into()],
        read: ReadOptions::default(),
    };
    let a = run(&opts).unwrap();
    assert_eq!(a.native_failures.len(), 1, "{:?}", a.native_failures);
    let out = dir.path().join("out");
    write_all(&a, &out, &["md".to_string(), "html".to_string()]).unwrap();
    for f in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(text.contains("Models without a native baseline"), "{f}");
        assert!(
            text.contains("op Enter (TF control flow) is not supported"),
            "{f}"
        );
    }
}
