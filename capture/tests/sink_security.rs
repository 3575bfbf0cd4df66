//! Issue 18 (security review), items 1, 4 and 10, through the real proxy
//! with a real HTTPS upstream on loopback and real HTTP clients:
//! - a flood of made-up session ids creates no file, other clients keep
//!   being served, and disk use stays within the run's budget;
//! - the byte and file budgets refuse whole batches with `507` (counted)
//!   and store every record below them;
//! - an `end` record does not reset its session's rate window;
//! - pages cannot forge the proxy's records (`by`, `net`) nor post from
//!   another origin (`Sec-Fetch-Site`, `Origin`, the sid's own origin);
//! - recorded URLs lose fragments and secret-looking query values;
//! - a batch sent again (its answer was lost) is acknowledged and stored once;
//! - model bytes a page hands over (`--save-models`) are stored by their
//!   checked SHA-256, from issued sessions of the page's own origin only.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every file under `dir` with its size.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len()));
            }
        }
    }
    out
}

/// The page's own records in `sid`'s file.
fn page_records(h: &Harness, sid: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(h.session_file(sid)).unwrap_or_default();
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    page_lines(&all)
}

/// A body of about 1 MiB of minimal records, each with a new made-up sid.
fn invented_sids_body(round: usize) -> (String, usize) {
    let mut body = String::from("[");
    let mut n = 0;
    while body.len() < 1024 * 1024 - 100 {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"v":1,"sid":"r{round}x{n}","seq":0,"ts":0,"kind":"k"}}"#
        ));
        n += 1;
    }
    body.push(']');
    (body, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_invented_sids_creates_no_file_and_other_clients_keep_being_served() {
    const BUDGET: u64 = 512 * 1024;
    let h = Arc::new(Harness::start(|c| c.max_bytes = BUDGET).await);
    let legit = h.issue_sid().await;
    let traces = h.dir.path().join("traces");
    // Four flooders, each posting 1 MiB bodies of ~20 000 new sids.
    const FLOODERS: usize = 4;
    const ROUNDS: usize = 4;
    let mut flood = Vec::new();
    for f in 0..FLOODERS {
        let h = h.clone();
        flood.push(tokio::spawn(async move {
            let mut invented = 0;
            for r in 0..ROUNDS {
                let (body, n) = invented_sids_body(f * ROUNDS + r);
                let (status, _, answer) = h.post(TRACE, body, "text/plain").await;
                let v: Value = serde_json::from_slice(&answer).unwrap();
                assert_eq!(status, 400, "{v}");
                assert_eq!(
                    (v["stored"].as_u64(), v["invalid"].as_u64()),
                    (Some(0), Some(n as u64))
                );
                assert!(
                    v["errors"][0]
                        .as_str()
                        .unwrap()
                        .contains("was not issued by this proxy"),
                    "{v}"
                );
                invented += n;
            }
            invented
        }));
    }
    // Meanwhile another client browses and its page posts records.
    let mut served = 0u64;
    let mut slowest = Duration::ZERO;
    let mut seq = 0u64;
    while flood.iter().any(|t| !t.is_finished()) {
        let t = Instant::now();
        h.assert_answers_other_clients().await;
        let (status, _, _) = h.post_batch(&[rec(&legit, seq, "infer")]).await;
        assert_eq!(status, 204);
        seq += 1;
        slowest = slowest.max(t.elapsed());
        served += 1;
    }
    let mut invented = 0;
    for t in flood {
        invented += t.await.unwrap();
    }
    let files = files_under(&traces);
    let disk: u64 = files.iter().map(|f| f.1).sum();
    eprintln!(
        "flood: {invented} invented sids in {} POSTs of 1 MiB; other client: {served} GET+POST pairs served (slowest {slowest:?}); {} files, {disk} bytes on disk (budget {BUDGET})",
        FLOODERS * ROUNDS,
        files.len()
    );
    assert!(invented > 15_000 * FLOODERS * ROUNDS);
    assert!(served > 0);
    // The only files: the legitimate session's and the run's `_proxy.jsonl`
    // (the unattributed GETs).
    let mut names: Vec<String> = files
        .iter()
        .map(|f| f.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec![format!("{legit}.jsonl"), "_proxy.jsonl".to_owned()];
    expected.sort();
    assert_eq!(names, expected, "no other file was made");
    assert!(disk <= BUDGET, "{disk} bytes on disk");
    assert_eq!(
        page_records(&h, &legit).len() as u64,
        seq,
        "every legitimate record is stored"
    );
    let s = h.sink.stats().snapshot();
    assert_eq!(s.unknown_sid, invented as u64);
    assert_eq!(s.records, seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_refuses_whole_batches_with_507_and_keeps_every_record_below_it() {
    const BUDGET: u64 = 64 * 1024;
    let h = Harness::start(|c| {
        c.max_bytes = BUDGET;
        c.max_records_per_sec = 100_000;
    })
    .await;
    let sid = h.issue_sid().await;
    let mut acked = 0u64;
    let mut refused_batches = 0;
    let mut answer = Value::Null;
    for b in 0..40u64 {
        let batch: Vec<Value> = (0..10)
            .map(|i| {
                let mut r = rec(&sid, b * 10 + i, "probe");
                r["pad"] = json!("p".repeat(300));
                r
            })
            .collect();
        let (status, _, body) = h.post_batch(&batch).await;
        match status.as_u16() {
            204 => {
                assert_eq!(refused_batches, 0, "once over, the budget stays spent");
                acked += 10;
            }
            507 => {
                refused_batches += 1;
                answer = serde_json::from_slice(&body).unwrap();
            }
            s => panic!("unexpected {s}"),
        }
    }
    let disk: u64 = files_under(h.sink.session_dir()).iter().map(|f| f.1).sum();
    eprintln!("byte budget: {acked} records stored, {refused_batches} batches refused, {disk} bytes on disk (budget {BUDGET})");
    assert!(acked > 0 && refused_batches > 0);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("--trace-max-bytes"),
        "{answer}"
    );
    assert_eq!(answer["stored"], 0);
    assert!(disk <= BUDGET);
    let stored = page_records(&h, &sid);
    assert_eq!(
        stored.len() as u64,
        acked,
        "every acknowledged record is in the file"
    );
    let s = h.sink.stats().snapshot();
    assert_eq!(s.over_budget, refused_batches * 10);
    assert_eq!(s.records, acked);
    assert!(s.bytes_written <= BUDGET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_budget_caps_sessions_and_answers_507() {
    // Three files: the run's `_proxy.jsonl` and two sessions.
    let h = Harness::start(|c| c.max_files = 3).await;
    let a = h.issue_sid().await;
    let b = h.issue_sid().await;
    let c = h.issue_sid().await; // injected, but no session: the budget is spent
    for sid in [&a, &b] {
        let (status, _, _) = h.post_batch(&[rec(sid, 0, "infer")]).await;
        assert_eq!(status, 204);
    }
    let (status, _, body) = h.post_batch(&[rec(&c, 0, "infer")]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 507, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("--trace-max-files"),
        "{v}"
    );
    assert!(!h.session_file(&c).exists());
    // Made-up sids get the same answer once the budget is spent.
    let (status, _, _) = h.post_batch(&[rec("madeup", 0, "infer")]).await;
    assert_eq!(status, 507);
    let files = files_under(h.sink.session_dir());
    assert!(files.len() <= 3, "{files:?}");
    let s = h.sink.stats().snapshot();
    assert_eq!((s.records, s.over_budget, s.sessions_refused), (2, 2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_record_does_not_reset_the_rate_window() {
    let h = Harness::start(|c| c.max_records_per_sec = 10).await;
    let sid = h.issue_sid().await;
    let first: Vec<Value> = (0..8)
        .map(|i| rec(&sid, i, if i == 7 { "end" } else { "probe" }))
        .collect();
    let (status, _, _) = h.post_batch(&first).await;
    assert_eq!(status, 204);
    let second: Vec<Value> = (8..13).map(|i| rec(&sid, i, "probe")).collect();
    let (status, _, _) = h.post_batch(&second).await;
    assert_eq!(status, 429, "the window still holds 8 records");
    assert_eq!(h.sink.stats().snapshot().rate_limited, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cannot_forge_proxy_records() {
    let h = Harness::start(|_| {}).await;
    let sid = h.issue_sid().await;
    let forged = json!([
        {"v": 1, "sid": sid, "seq": 0, "ts": 0, "kind": "session", "by": "proxy",
         "source": "page", "url": "https://bank.test/", "label": "forged"},
        {"v": 1, "sid": sid, "seq": 1, "ts": 0, "kind": "net", "by": "proxy",
         "url": "https://bank.test/x", "method": "GET", "status": 200, "bytes": 1},
        {"v": 1, "sid": sid, "seq": 2, "ts": 0, "kind": "net",
         "url": "https://bank.test/y", "method": "GET", "status": 200, "bytes": 1},
        {"v": 1, "sid": sid, "seq": 3, "ts": 0, "kind": "mem", "by": "audit", "rss": 1},
        {"v": 1, "sid": sid, "seq": 4, "ts": 0, "kind": "session", "source": "page",
         "user_agent": "real page"}
    ]);
    let (status, _, body) = h.post(TRACE, forged.to_string(), "application/json").await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        (v["stored"].as_u64(), v["invalid"].as_u64()),
        (Some(1), Some(4)),
        "{v}"
    );
    let errors = v["errors"].to_string();
    assert!(
        errors.contains("`by`") && errors.contains("\\\"net\\\" is written by the proxy only"),
        "{errors}"
    );
    // In the file: the proxy's own `session`/`net` records and the page's
    // own session record; no forged one.
    let lines = wait_lines(&h.session_file(&sid), |l| {
        l.iter().any(|r| r["kind"] == "net")
    })
    .await;
    for r in &lines {
        assert!(
            !r.to_string().contains("bank.test"),
            "forged record stored: {r}"
        );
        if r["by"] == "proxy" {
            assert_ne!(r["label"], "forged");
        }
    }
    assert_eq!(page_lines(&lines).len(), 1);
    assert_eq!(h.sink.stats().snapshot().forged, 4);
}

/// Sends a raw HTTP/1.1 request to the proxy and returns the status code.
async fn raw(h: &Harness, req: String) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(h.proxy.addr())
        .await
        .unwrap();
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text[9..12].parse().unwrap();
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_cannot_post_into_a_session() {
    let h = Harness::start(|_| {}).await;
    let sid = h.issue_sid().await;
    let body = json!([rec(&sid, 0, "infer")]).to_string();
    // The browser says the request is cross-site, or from another origin.
    let cases: [&[(&str, &str)]; 4] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://evil.test")],
        &[("origin", "null")],
    ];
    for headers in cases {
        let mut hs = vec![("content-type", "text/plain")];
        hs.extend_from_slice(headers);
        let (status, _, answer) = h.request("POST", TRACE, &hs, full(body.clone())).await;
        let v: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 403, "{headers:?}: {v}");
        assert!(v["error"].as_str().unwrap().contains("own origin"), "{v}");
    }
    // What the hook sends from its own page is taken.
    let own = h.url("");
    let (status, _, _) = h
        .request(
            "POST",
            TRACE,
            &[("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
            full(body.clone()),
        )
        .await;
    assert_eq!(status, 204);
    // The sid posted to another origin's endpoint (plain HTTP on the same
    // host name and port, as any local client could): refused.
    let port = h.port();
    let body2 = json!([rec(&sid, 1, "infer")]).to_string();
    let (code, text) = raw(
        &h,
        format!(
            "POST http://{HOST}:{port}{TRACE} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body2}",
            body2.len()
        ),
    )
    .await;
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("was issued to another origin"), "{text}");
    assert_eq!(page_records(&h, &sid).len(), 1);
    let s = h.sink.stats().snapshot();
    assert_eq!((s.cross_site, s.unknown_sid, s.records), (4, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_urls_lose_fragments_and_secret_query_values() {
    let h = Harness::start(|_| {}).await;
    let sid = h.issue_sid().await;
    let href = h.url("/cb?code=4%2F0Ab12&state=s1&v=2#access_token=ya29.secret&token_type=bearer");
    let batch = json!([
        {"v": 1, "sid": sid, "seq": 0, "ts": 0, "kind": "session", "source": "page", "url": href},
        {"v": 1, "sid": sid, "seq": 1, "ts": 1, "kind": "model_load", "url": "/m.onnx?X-Amz-Signature=abc&X-Amz-Credential=AKIA1",
         "artifacts": [{"url": h.url("/w.bin?api_key=k123#frag")}]}
    ]);
    let (status, _, _) = h.post(TRACE, batch.to_string(), "application/json").await;
    assert_eq!(status, 204);
    // The proxy's own `net` record of a request with a token in its query.
    let (status, _, _) = h
        .get(
            "/missing?access_token=ya29.other&page=3",
            &[("referer", &h.url("/"))],
        )
        .await;
    assert_eq!(status, 404);
    let lines = wait_lines(&h.session_file(&sid), |l| {
        l.iter()
            .any(|r| r["kind"] == "net" && r["url"].as_str().unwrap().contains("/missing"))
    })
    .await;
    let text = std::fs::read_to_string(h.session_file(&sid)).unwrap();
    for secret in [
        "ya29",
        "access_token=ya",
        "4%2F0Ab12",
        "abc&",
        "AKIA1",
        "k123",
        "#",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} is in the trace:\n{text}"
        );
    }
    let page = page_lines(&lines);
    assert_eq!(page[0]["url"], h.url("/cb?code=REDACTED&state=s1&v=2"));
    assert_eq!(
        page[1]["url"],
        "/m.onnx?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"
    );
    assert_eq!(
        page[1]["artifacts"][0]["url"],
        h.url("/w.bin?api_key=REDACTED")
    );
    let net = lines
        .iter()
        .find(|r| r["kind"] == "net" && r["url"].as_str().unwrap().contains("/missing"))
        .unwrap();
    assert_eq!(net["url"], h.url("/missing?access_token=REDACTED&page=3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_query_secrets_keeps_query_values_but_never_fragments() {
    let h = Harness::start(|c| c.keep_query_secrets = true).await;
    let sid = h.issue_sid().await;
    let href = h.url("/cb?code=c0de&v=2#access_token=ya29.secret");
    let batch = json!([{"v": 1, "sid": sid, "seq": 0, "ts": 0, "kind": "session", "source": "page", "url": href}]);
    let (status, _, _) = h.post(TRACE, batch.to_string(), "application/json").await;
    assert_eq!(status, 204);
    let lines = page_lines(&wait_lines(&h.session_file(&sid), |l| !page_lines(l).is_empty()).await);
    assert_eq!(lines[0]["url"], h.url("/cb?code=c0de&v=2"));
}

/// A hook resends a batch whose answer it did not get (the document was torn down or the
/// connection dropped after the sink stored it): each record must end up in the trace once,
/// and the resend must be answered as stored so the hook drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_again_is_stored_once() {
    let h = Harness::start(|_| {}).await;
    let sid = h.issue_sid().await;
    let batch = |r: std::ops::Range<u64>| {
        Value::Array(r.map(|i| rec(&sid, i, "probe")).collect()).to_string()
    };
    for (body, what) in [
        (batch(0..5), "first send"),
        (batch(3..8), "overlapping send"),
        (batch(0..5), "the first batch again"),
    ] {
        let (status, _, answer) = h.post(TRACE, body, "application/json").await;
        assert_eq!(status, 204, "{what}: {}", String::from_utf8_lossy(&answer));
    }
    let seqs: Vec<u64> = page_records(&h, &sid)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (0..8).collect::<Vec<_>>(),
        "each record once, in order"
    );
    let snap = h.sink.stats().snapshot();
    assert_eq!(
        snap.repeated,
        2 + 5,
        "3 and 4 of the overlapping send, then all five"
    );
    assert_eq!(snap.records, 8);
}

/// `POST <endpoint>?model=1…` with `--save-models`: the page's own model bytes
/// are stored as `<sha256>.onnx` when their digest is the one claimed, and
/// refused (nothing kept) for a wrong digest, an unissued sid, another origin,
/// a bad extension, or an oversized body; without `--save-models` it is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_hands_over_model_bytes_stored_by_their_sha256() {
    use sha2::Digest as _;
    let save = tempfile::tempdir().unwrap();
    let dir = save.path().to_path_buf();
    let h = Harness::start(|c| {
        c.save_models = Some(dir.clone());
        c.max_model_bytes = 64 * 1024;
    })
    .await;
    let sid = h.issue_sid().await;
    let bytes = binary(20_000);
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let own = h.url("");
    let post = |q: String, body: Vec<u8>, origin: &'static str| {
        let own = own.clone();
        let h = &h;
        async move {
            let origin = if origin.is_empty() {
                own
            } else {
                origin.to_owned()
            };
            let (status, _, answer) = h
                .request(
                    "POST",
                    &format!("{TRACE}?{q}"),
                    &[
                        ("content-type", "application/octet-stream"),
                        ("sec-fetch-site", "same-origin"),
                        ("origin", origin.as_str()),
                    ],
                    full(body),
                )
                .await;
            let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            (status, v)
        }
    };
    let saved = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(save.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // A wrong digest, an unknown sid, another origin, a bad extension, input
    // tensors (only with --capture-inputs, off here), too big: (case, query,
    // length of the body (of `binary`), origin, status, what the error names).
    let q = |sid: &str, sha: &str, ext: &str| format!("model=1&sid={sid}&sha256={sha}{ext}");
    let wrong = "0".repeat(64);
    let inputs = Some("--capture-inputs");
    #[rustfmt::skip]
    let refused = [
        ("wrong digest", q(&sid, &wrong, "&ext=.onnx"), 20_000, "", 400, Some(sha.as_str())),
        ("unknown sid", q("feedfacefeedface", &sha, ""), 20_000, "", 403, None),
        ("another origin", q(&sid, &sha, ""), 20_000, "https://evil.test", 403, None),
        ("bad extension", q(&sid, &sha, "&ext=.sh"), 20_000, "", 400, None),
        ("input tensors", q(&sid, &sha, "&ext=.safetensors"), 20_000, "", 403, inputs),
        ("too big", q(&sid, &sha, ""), 100_000, "", 413, None),
    ];
    for (case, query, len, origin, status, names) in refused {
        let (s, v) = post(query, binary(len), origin).await;
        assert_eq!(s, status, "{case}: {v}");
        if let Some(n) = names {
            assert!(v["error"].as_str().unwrap().contains(n), "{case}: {v}");
        }
    }
    assert!(saved().is_empty(), "{:?}", saved());
    // The real thing: stored once, by its digest; the second time it is kept as it is.
    for (status, saved_now) in [(201, true), (200, false)] {
        let (s, v) = post(q(&sid, &sha, "&ext=.onnx"), bytes.clone(), "").await;
        assert_eq!(
            (s.as_u16(), v["saved"].as_bool()),
            (status, Some(saved_now)),
            "{v}"
        );
    }
    assert_eq!(saved(), vec![format!("{sha}.onnx")]);
    assert_eq!(
        std::fs::read(save.path().join(format!("{sha}.onnx"))).unwrap(),
        bytes
    );

    // Without --save-models: 404, and the hook is told not to send (no `save_models` in its config).
    let off = Harness::start(|_| {}).await;
    let sid2 = off.issue_sid().await;
    let (status, _, answer) = off
        .request(
            "POST",
            &format!("{TRACE}?model=1&sid={sid2}&sha256={sha}"),
            &[("content-type", "application/octet-stream")],
            full(bytes.clone()),
        )
        .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&answer));
}
