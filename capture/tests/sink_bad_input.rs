//! Bad input at the trace endpoint, through the real proxy with a real HTTPS
//! upstream on loopback: a flood of concurrent clients (429s, counted, no
//! acknowledged record lost, other traffic still answered), absurd records,
//! non-JSON bodies, other methods, and a chunked body that crosses the size
//! limit after many complete records. Each refusal is a 4xx and is counted in
//! `SinkStats`.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use serde_json::{json, Value};

/// The page's records of a session file (whole lines only, each one JSON
/// record; the proxy's own `by: "proxy"` records left out).
fn file_records(h: &Harness, sid: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(h.session_file(sid)).unwrap_or_default();
    assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a record"))
        .collect();
    page_lines(&all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_clients_gets_429s_counted_and_loses_no_acknowledged_record() {
    // A low per-session limit so that the flood is over it.
    let h = Arc::new(Harness::start(|c| c.max_records_per_sec = 150).await);
    const CLIENTS: u64 = 40;
    const BATCHES: u64 = 12;
    const PER_BATCH: u64 = 12;
    let sids = Arc::new(h.issue_sids(5).await);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let h = h.clone();
        let sids = sids.clone();
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per client, batches back to back.
            let mut send = h.client().await;
            let sid = sids[(c % sids.len() as u64) as usize].clone();
            let mut acked = Vec::new();
            let mut refused = 0u64;
            for b in 0..BATCHES {
                let records: Vec<Value> = (0..PER_BATCH)
                    .map(|i| {
                        let seq = c * 10_000 + b * 100 + i;
                        json!({"v": 1, "sid": sid, "seq": seq, "ts": 1.0, "kind": "infer", "client": c})
                    })
                    .collect();
                let req = Request::post(TRACE)
                    .header("host", format!("{HOST}:{}", h.port()))
                    .header("content-type", "application/json")
                    .body(full(Value::Array(records.clone()).to_string()))
                    .unwrap();
                send.ready().await.unwrap();
                let resp = send.send_request(req).await.unwrap();
                let status = resp.status();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                match status {
                    StatusCode::NO_CONTENT => {
                        acked.extend(records.iter().map(|r| (sid.clone(), r["seq"].as_u64().unwrap())))
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        let v: Value = serde_json::from_slice(&body).unwrap();
                        assert_eq!(v["rate_limited"], PER_BATCH);
                        refused += PER_BATCH;
                    }
                    s => panic!("client {c}: unexpected {s}: {}", String::from_utf8_lossy(&body)),
                }
            }
            (acked, refused)
        }));
    }
    // Meanwhile the proxy still answers other traffic.
    let mut other = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        h.assert_answers_other_clients().await;
        other += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut acked: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut refused = 0;
    for t in tasks {
        let (a, r) = t.await.unwrap();
        acked.extend(a);
        refused += r;
    }
    let sent = CLIENTS * BATCHES * PER_BATCH;
    eprintln!(
        "flood: {sent} records from {CLIENTS} clients: {} acknowledged, {refused} refused (429), {other} other requests answered meanwhile",
        acked.len()
    );
    assert_eq!(acked.len() as u64 + refused, sent);
    assert!(refused > 0, "the flood went over the limit");
    assert!(!acked.is_empty(), "the first batch of each window is taken");
    assert!(other > 0);
    // Exactly the acknowledged records are in the files: none lost, none of
    // the refused batches stored.
    let mut stored: BTreeSet<(String, u64)> = BTreeSet::new();
    for sid in sids.iter() {
        for r in file_records(&h, sid) {
            assert!(
                stored.insert((sid.clone(), r["seq"].as_u64().unwrap())),
                "duplicate {r}"
            );
        }
    }
    assert_eq!(stored, acked);
    let s = h.sink.stats().snapshot();
    assert_eq!(s.records, acked.len() as u64);
    assert_eq!(s.infer, acked.len() as u64);
    assert_eq!(s.rate_limited, refused);
    assert_eq!(s.batches, CLIENTS * BATCHES);
    assert_eq!((s.invalid, s.malformed, s.too_large), (0, 0, 0));
    // After the flood a quiet session is taken at once.
    let after = h.issue_sid().await;
    let (status, _, _) = h.post_batch(&[rec(&after, 0, "infer")]).await;
    assert_eq!(status, 204);
    assert_eq!(h.upstream.hits_for(TRACE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_records_and_non_json_bodies_get_4xx_and_are_counted() {
    let h = Harness::start(|_| {}).await;
    let absurd = h.issue_sid().await;
    let absurd = absurd.as_str();
    let post = |body: Vec<u8>, ct: &'static str| {
        let h = &h;
        async move { h.post(TRACE, body, ct).await }
    };
    // One record over the body limit on its own.
    let huge = json!([{"v": 1, "sid": absurd, "seq": 0, "ts": 0, "kind": "mem", "x": "y".repeat(1 << 21)}]);
    assert_eq!(
        post(huge.to_string().into_bytes(), "application/json")
            .await
            .0,
        413
    );
    // Absurd values: each is one invalid record; the valid one beside them is stored.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let long_sid = "s".repeat(300_000);
    let inf_ts = format!(r#"{{"v":1,"sid":"{absurd}","seq":0,"ts":1e999,"kind":"mem"}}"#);
    let body = format!(
        "[{}, {}, {}, {}, {}, {}, {}]",
        json!({"v": 1, "sid": absurd, "seq": 1e300, "ts": 0, "kind": "mem"}),
        json!({"v": 1, "sid": absurd, "seq": 0, "ts": "NaN", "kind": "mem"}),
        inf_ts,
        json!({"v": 1, "sid": long_sid, "seq": 0, "ts": 0, "kind": "mem"}),
        deep,
        json!({"v": 18446744073709551615u64, "sid": absurd, "seq": 0, "ts": 0, "kind": "mem"}),
        rec(absurd, 7, "mem"),
    );
    assert!(body.len() < 1 << 20);
    let (status, _, answer) = post(body.into_bytes(), "application/json").await;
    assert_eq!(status, 400);
    assert!(
        answer.len() < 4096,
        "the answer does not echo the body: {} bytes",
        answer.len()
    );
    let v: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        (v["stored"].as_u64(), v["invalid"].as_u64()),
        (Some(1), Some(6)),
        "{v}"
    );
    let lines = file_records(&h, absurd);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["seq"], 7);
    // Huge but legal values are stored as they are.
    let odd = json!({"v": 1, "sid": absurd, "seq": u64::MAX, "ts": -1.7976931348623157e308, "kind": "k".repeat(500), "n": 1e300});
    assert_eq!(
        post(json!([odd]).to_string().into_bytes(), "application/json")
            .await
            .0,
        204
    );
    assert_eq!(file_records(&h, absurd)[1], odd);
    // Non-JSON content types with non-JSON bodies: 400, nothing stored.
    let multipart =
        b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--xyz--\r\n".to_vec();
    assert_eq!(
        post(multipart, "multipart/form-data; boundary=xyz").await.0,
        400
    );
    assert_eq!(
        post(b"a=1&b=2".to_vec(), "application/x-www-form-urlencoded")
            .await
            .0,
        400
    );
    assert_eq!(
        post(vec![0x89, b'P', b'N', b'G', 0, 0xff], "image/png")
            .await
            .0,
        400
    );
    assert_eq!(post(Vec::new(), "text/plain").await.0, 400);
    // Other methods: 405, counted.
    for m in ["GET", "PUT", "DELETE"] {
        let (status, headers, _) = h.request(m, TRACE, &[], full(Bytes::new())).await;
        assert_eq!(status, 405);
        assert_eq!(headers["allow"], "POST");
    }
    assert_eq!(file_records(&h, absurd).len(), 2);
    let s = h.sink.stats().snapshot();
    assert_eq!(s.too_large, 1);
    // Six absurd records; the non-JSON bodies count per line (read as JSON
    // Lines): four non-blank multipart lines, one form line, one PNG line.
    assert_eq!(s.invalid, 6 + 4 + 1 + 1);
    assert_eq!(s.malformed, 1, "the empty body");
    assert_eq!(s.wrong_method, 3);
    assert_eq!(s.records, 2);
    assert_eq!(
        s.kinds.get(&"k".repeat(500)),
        None,
        "an absurd kind is not a counter name"
    );
    assert_eq!(s.kinds.get(webinfer_capture::sink::OTHER_KINDS), Some(&1));
    assert_eq!(h.upstream.hits_for(TRACE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_crossing_the_limit_stores_none_of_its_complete_records() {
    let h = Harness::start(|c| c.max_body = 256 * 1024).await;
    let chunky = h.issue_sid().await;
    // JSON Lines, sent in 8 KiB chunks with pauses: the first 256 KiB are
    // complete valid records, then the body goes on.
    let mut body = String::new();
    let mut seq = 0;
    while body.len() < 400 * 1024 {
        body.push_str(&rec(&chunky, seq, "infer").to_string());
        body.push('\n');
        seq += 1;
    }
    let chunks: Vec<Bytes> = body
        .as_bytes()
        .chunks(8 * 1024)
        .map(Bytes::copy_from_slice)
        .collect();
    let n = chunks.len();
    let chunks = futures_util::stream::iter(chunks.into_iter().enumerate());
    let stream = futures_util::StreamExt::then(chunks, |(i, c)| async move {
        if i % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok::<_, Infallible>(http_body::Frame::data(c))
    });
    let (status, _, answer) = h
        .request(
            "POST",
            TRACE,
            &[("content-type", "text/plain")],
            BodyExt::boxed(StreamBody::new(stream)),
        )
        .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&answer));
    assert!(n > 32);
    assert!(
        file_records(&h, &chunky).is_empty(),
        "nothing of a refused body is stored"
    );
    let s = h.sink.stats().snapshot();
    assert_eq!((s.too_large, s.records), (1, 0));
    // The endpoint still takes a normal batch.
    let (status, _, _) = h.post_batch(&[rec(&chunky, 0, "infer")]).await;
    assert_eq!(status, 204);
    assert_eq!(file_records(&h, &chunky).len(), 1);
}
