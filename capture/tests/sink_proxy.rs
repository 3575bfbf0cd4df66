//! The trace sink through the real proxy, against a real HTTPS upstream on
//! loopback, with a hyper client and curl.

use std::time::Duration;

use crate::support::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_batches_land_in_the_session_file_as_whole_lines() {
    let h = Harness::start(|_| {}).await;
    let page_a = h.issue_sid().await;
    let records: Vec<Value> = (0..5)
        .map(|i| rec(&page_a, i, if i == 2 { "infer" } else { "probe" }))
        .collect();
    let (status, _, body) = h.post_batch(&records).await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    // Acknowledged records are already in the file.
    let text = std::fs::read_to_string(h.session_file(&page_a)).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(page_lines(&lines), records);

    // JSON Lines as text/plain (what a beacon would carry) via curl.
    let jsonl = format!("{}\n{}\n", rec(&page_a, 5, "infer"), rec(&page_a, 6, "end"));
    let url = h.url(TRACE);
    let (ok, _, err) = curl(
        &h,
        &[
            "-f",
            "-X",
            "POST",
            "-H",
            "Content-Type: text/plain;charset=UTF-8",
            "--data-binary",
            &jsonl,
            &url,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let lines = wait_page_lines(&h.session_file(&page_a), |l| l.len() == 7).await;
    assert_eq!(lines[6]["kind"], "end");
    let s = h.sink.stats().snapshot();
    assert_eq!((s.records, s.infer, s.invalid, s.malformed), (7, 2, 0, 0));
    assert_eq!(s.kinds.get("probe"), Some(&4));
    assert!(h.sink.files().contains(&h.session_file(&page_a)));

    // After `end` closed the file, more records still append.
    let (status, _, _) = h.post_batch(&[rec(&page_a, 7, "mem")]).await;
    assert_eq!(status, 204);
    assert_eq!(
        wait_page_lines(&h.session_file(&page_a), |l| l.len() == 8)
            .await
            .len(),
        8
    );
    assert_eq!(
        h.upstream.hits_for(TRACE),
        0,
        "the trace endpoint never reaches upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_torn_bodies_get_400_and_keep_every_valid_record() {
    let h = Harness::start(|_| {}).await;
    let torn1 = h.issue_sid().await;
    let mixed_sid = h.issue_sid().await;
    // A torn array: two complete records, the third cut.
    let full = Value::Array((0..3).map(|i| rec(&torn1, i, "probe")).collect()).to_string();
    let cut = &full[..full.len() - 20];
    let (status, _, body) = h.post(TRACE, cut.to_owned(), "application/json").await;
    assert_eq!(status, 400);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["stored"], 2);
    assert_eq!(answer["invalid"], 1);
    let lines = wait_page_lines(&h.session_file(&torn1), |l| l.len() == 2).await;
    assert_eq!(lines[1]["seq"], 1);

    // Invalid elements among valid ones: bad fields, unsafe sid, not an object.
    let mixed = format!(
        "[{}, {}, {}, 42, {}]",
        rec(&mixed_sid, 0, "probe"),
        json!({"v": 1, "sid": mixed_sid, "seq": -3, "ts": 0, "kind": "x"}),
        json!({"v": 1, "sid": "../../etc/passwd", "seq": 0, "ts": 0, "kind": "x"}),
        rec(&mixed_sid, 1, "probe")
    );
    let (status, _, body) = h.post(TRACE, mixed, "application/json").await;
    assert_eq!(status, 400);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (answer["stored"].as_u64(), answer["invalid"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        wait_page_lines(&h.session_file(&mixed_sid), |l| l.len() == 2)
            .await
            .len(),
        2
    );
    assert!(!h.dir.path().join("etc").exists());

    // Not JSON at all.
    let (status, _, _) = h
        .post(TRACE, &b"\xff\x00garbage"[..], "application/json")
        .await;
    assert_eq!(status, 400);
    let s = h.sink.stats().snapshot();
    assert_eq!(s.records, 4);
    assert_eq!(s.invalid, 1 + 3 + 1);
    assert_eq!(
        s.malformed, 1,
        "only the torn array was malformed as a whole"
    );
    assert_eq!(h.upstream.hits_for(TRACE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413_and_store_nothing() {
    let h = Harness::start(|_| {}).await;
    let pad = "x".repeat(1024 * 1024);
    let big = json!([{"v": 1, "sid": "big1", "seq": 0, "ts": 0, "kind": "probe", "pad": pad}])
        .to_string();
    assert!(big.len() > 1024 * 1024);
    let (status, _, _) = h.post(TRACE, big.clone(), "application/json").await;
    assert_eq!(status, 413);
    // The same without a Content-Length (chunked, streamed): refused while reading.
    let chunks: Vec<Result<http_body::Frame<bytes::Bytes>, std::convert::Infallible>> = big
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(http_body::Frame::data(bytes::Bytes::copy_from_slice(c))))
        .collect();
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(chunks)).boxed();
    let (status, headers, _) = h
        .request("POST", TRACE, &[("content-type", "application/json")], body)
        .await;
    assert_eq!(status, 413, "{headers:?}");
    assert!(!h.session_file("big1").exists());
    assert_eq!(h.sink.stats().snapshot().too_large, 2, "hyper and chunked");
    // curl too.
    let path = h.dir.path().join("big.json");
    std::fs::write(&path, &big).unwrap();
    let url = h.url(TRACE);
    let data = format!("@{}", path.display());
    // Plain, then HTTP/1.1 with `Expect: 100-continue` (refused before the upload).
    for extra in [&[][..], &["--http1.1", "-H", "Expect: 100-continue"]] {
        let mut args = extra.to_vec();
        args.extend(["-o", "/dev/null", "-w", "%{http_code}"]);
        args.extend(["--data-binary", data.as_str(), url.as_str()]);
        let (ok, out, err) = curl(&h, &args).await;
        assert!(ok, "{extra:?}: {err}");
        assert_eq!(String::from_utf8(out).unwrap(), "413", "{extra:?}");
    }
    assert_eq!(h.upstream.hits_for(TRACE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_paths_are_answered_locally_on_every_method() {
    let h = Harness::start(|_| {}).await;
    let (status, headers, _) = h.get(TRACE, &[]).await;
    assert_eq!(status, 405);
    assert_eq!(headers.get("allow").unwrap(), "POST");
    let (status, _, body) = h.get("/__webinfer__/ping", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["webinfer"],
        true
    );
    let (status, _, _) = h
        .post(
            TRACE,
            json!([rec(&h.issue_sid().await, 0, "probe")]).to_string(),
            "text/plain",
        )
        .await;
    assert_eq!(status, 204);
    // A path that merely starts like the endpoint is forwarded.
    let (status, _, _) = h.get("/__webinfer__/trace2", &[]).await;
    assert_eq!(status, 404);
    let hits = hit_counts(&h.upstream);
    assert_eq!(hits.get(TRACE), None);
    assert_eq!(hits.get("/__webinfer__/ping"), None);
    assert_eq!(hits.get("/__webinfer__/trace2"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_refuses_whole_batches_with_429_and_counts_them() {
    let h = Harness::start(|c| c.max_records_per_sec = 10).await;
    let (fast, slow) = (h.issue_sid().await, h.issue_sid().await);
    let first: Vec<Value> = (0..8).map(|i| rec(&fast, i, "probe")).collect();
    assert_eq!(h.post_batch(&first).await.0, 204);
    let second: Vec<Value> = (8..13).map(|i| rec(&fast, i, "probe")).collect();
    let (status, _, body) = h.post_batch(&second).await;
    assert_eq!(status, 429);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["rate_limited"],
        5
    );
    assert_eq!(h.sink.stats().snapshot().rate_limited, 5);
    // Another session is not affected.
    assert_eq!(h.post_batch(&[rec(&slow, 0, "probe")]).await.0, 204);
    // The next second the same batch is taken.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(h.post_batch(&second).await.0, 204);
    assert_eq!(
        wait_page_lines(&h.session_file(&fast), |l| l.len() == 13)
            .await
            .len(),
        13
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_records_are_flushed_within_about_a_second() {
    let h = Harness::start(|_| {}).await;
    // An exchange no page can be named for goes to `_proxy.jsonl`, written
    // by the proxy alone: only the timer flushes it.
    let (status, _, _) = h.get("/bin", &[("sec-fetch-dest", "empty")]).await;
    assert_eq!(status, 200);
    let file = h.sink.session_dir().join("_proxy.jsonl");
    let lines = wait_lines(&file, |l| !l.is_empty()).await;
    assert_eq!(lines[0]["kind"], "net");
    assert_eq!(lines[0]["by"], "proxy");
    assert_eq!(lines[0]["sid"], h.sink.run_sid());
    assert_eq!(lines[0]["url"], h.url("/bin"));
    assert_eq!(lines[0]["bytes"], 3 << 20);
    assert_eq!(lines[0]["status"], 200);
    // A page's subresource with a same-origin referrer lands in the page's file.
    let sid = h.page_sid().await;
    h.get_from_page("/bin", "empty").await;
    let lines = wait_lines(&h.session_file(&sid), |l| net_count(l) == 2).await;
    let seqs: Vec<u64> = lines.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        vec![0, 1, 2],
        "the proxy numbers its own records per session"
    );
    // An origin-only referrer (cross-origin default policy) finds the page too.
    let origin = format!("https://app.test:{}/", h.port());
    h.get("/models/m.onnx", &[("referer", origin.as_str())])
        .await;
    wait_lines(&h.session_file(&sid), |l| net_count(l) == 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_the_proxy_writes_validates_against_the_schema() {
    let h = Harness::start(|c| {
        c.label = Some("schema".into());
        c.variant = Some("default".into());
    })
    .await;
    let sid = h.page_sid().await;
    h.get_from_page("/worker.js", "worker").await;
    let referer = h.url("/");
    let r = referer.as_str();
    h.get("/models/m.onnx", &[("referer", r)]).await;
    h.get("/missing", &[("referer", r)]).await;
    h.get("/bin.gz", &[]).await;
    let (status, _, _) = h
        .post_batch(&[json!({"v": 1, "sid": sid, "seq": 0, "ts": 5.0, "kind": "probe", "start": 4.0, "delay": 1.0})])
        .await;
    assert_eq!(status, 204);
    // Wait for the last exchange's net record, then check every line.
    wait_lines(&h.sink.session_dir().join("_proxy.jsonl"), |l| {
        !l.is_empty()
    })
    .await;
    wait_lines(&h.session_file(&sid), |l| net_count(l) >= 4).await;
    let schema: Value = serde_json::from_str(webinfer_format::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    for f in h.sink.files() {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{} in {}: {errors:?}", line, f.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} records checked");
    let lines = wait_lines(&h.session_file(&sid), |_| true).await;
    assert_eq!(lines[0]["label"], "schema");
    assert_eq!(lines[0]["variant"], "default");
}
