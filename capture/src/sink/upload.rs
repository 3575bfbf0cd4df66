//! Model bytes a page hands to the proxy, for models that never cross the
//! wire as a file (an `ArrayBuffer` given to `InferenceSession.create`, a
//! model from the Cache API or IndexedDB): with `--save-models` the hook
//! sends them as `POST <endpoint>?model=1&sid=<sid>&sha256=<hex>&ext=<.onnx>`
//! (`application/octet-stream`), and they are stored content-addressed like
//! network artifacts, as `<save dir>/<sha256><ext>`.
//!
//! Checks, each with its own answer (JSON `{"error"}`):
//! - saving is off (no `--save-models`): `404`;
//! - a cross-site sender (`Sec-Fetch-Site`, `Origin`): `403`;
//! - a sid this proxy did not issue to the page's origin: `403`;
//! - a malformed `sha256` (not 64 lower-case hex digits) or an extension
//!   outside [`EXTENSIONS`]: `400`;
//! - a body over [`SinkConfig::max_model_bytes`]: `413` (nothing kept);
//! - bytes whose SHA-256 is not the claimed one: `400` (nothing kept).
//!
//! The body streams to `<dir>/.upload-*` while it is hashed, then is renamed
//! into place; a file already there is kept (`200 {"saved": false}`), a new
//! one answers `201 {"saved": true}`.
//!
//! [`SinkConfig::max_model_bytes`]: super::SinkConfig::max_model_bytes

use std::path::{Path, PathBuf};

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use webinfer_proxy::Body;

/// File extensions a page may store models under.
/// `.safetensors` (captured input tensors) only with `--capture-inputs`.
pub const EXTENSIONS: &[&str] = &[".onnx", ".ort", ".tflite", ".json", ".bin", ".safetensors"];

/// What an upload request names, from its query.
#[derive(Debug, PartialEq, Eq)]
pub struct UploadQuery {
    /// The session that sends it.
    pub sid: String,
    /// The claimed SHA-256 (lower-case hex).
    pub sha256: String,
    /// The extension to save under (with the dot).
    pub ext: String,
}

/// Whether a request to the endpoint is a model upload (`model=1` in the query).
pub fn is_upload(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|kv| kv == "model=1"))
}

/// Parses and checks the upload query.
pub fn parse_query(query: &str) -> Result<UploadQuery, String> {
    let (mut sid, mut sha, mut ext) = (None, None, None);
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = percent_decode(v);
        match k {
            "sid" => sid = Some(v),
            "sha256" => sha = Some(v),
            "ext" => ext = Some(v),
            _ => {}
        }
    }
    let sid = sid
        .filter(|s| !s.is_empty())
        .ok_or("the upload names no sid")?;
    let sha = sha.ok_or("the upload names no sha256")?;
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("sha256 {sha:?} is not 64 lower-case hex digits"));
    }
    let ext = ext.unwrap_or_else(|| ".onnx".into());
    if !EXTENSIONS.contains(&ext.as_str()) {
        return Err(format!(
            "extension {ext:?} is not one of {}",
            EXTENSIONS.join(" ")
        ));
    }
    Ok(UploadQuery {
        sid,
        sha256: sha,
        ext,
    })
}

/// `%XX` decoding of a query value (`+` stays `+`); invalid escapes stay as they are.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let pair = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(x) = pair.and_then(|p| u8::from_str_radix(p, 16).ok()) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON answer.
fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    super::endpoint::json_response(status, &body)
}

/// Streams the upload's body into `dir` (checked against `q.sha256`, at most
/// `max` bytes) and answers. The caller has checked the sender and the sid.
pub async fn store(dir: &Path, q: &UploadQuery, req: Request<Body>, max: u64) -> Response<Body> {
    if let Err(e) = tokio::fs::create_dir_all(dir).await {
        tracing::warn!(dir = %dir.display(), "cannot save an uploaded model: {e}");
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": format!("cannot create {}: {e}", dir.display())}),
        );
    }
    let target = dir.join(format!("{}{}", q.sha256, q.ext));
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = req.into_body();
    if declared.is_some_and(|n| n > max) {
        // Read what the client is still sending, so it gets the 413, not a broken pipe.
        super::endpoint::drain(&mut body).await;
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("model over {max} bytes")}),
        );
    }
    let partial = dir.join(format!(".upload-{}-{}", std::process::id(), rand_suffix()));
    let result = stream_to(&partial, &mut body, max).await;
    if matches!(&result, Err((StatusCode::PAYLOAD_TOO_LARGE, _))) {
        super::endpoint::drain(&mut body).await;
    }
    match result {
        Ok((sha, n)) if sha == q.sha256 => {
            if target.exists() {
                let _ = tokio::fs::remove_file(&partial).await;
                return answer(StatusCode::OK, json!({"saved": false, "bytes": n}));
            }
            match tokio::fs::rename(&partial, &target).await {
                Ok(()) => {
                    tracing::info!(file = %target.display(), bytes = n, sid = %q.sid, "saved a model the page handed over");
                    answer(StatusCode::CREATED, json!({"saved": true, "bytes": n}))
                }
                Err(e) => {
                    let _ = tokio::fs::remove_file(&partial).await;
                    answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"error": format!("cannot save {}: {e}", target.display())}),
                    )
                }
            }
        }
        Ok((sha, _)) => {
            let _ = tokio::fs::remove_file(&partial).await;
            answer(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("the bytes' sha256 is {sha}, not the claimed {}", q.sha256)}),
            )
        }
        Err((status, why)) => {
            let _ = tokio::fs::remove_file(&partial).await;
            answer(status, json!({ "error": why }))
        }
    }
}

/// Writes `body` to `path` while hashing it; at most `max` bytes.
async fn stream_to(
    path: &PathBuf,
    body: &mut Body,
    max: u64,
) -> Result<(String, u64), (StatusCode, String)> {
    let io = |e: std::io::Error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{}: {e}", path.display()),
        )
    };
    let mut f = tokio::fs::File::create(path).await.map_err(io)?;
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (StatusCode::BAD_REQUEST, format!("body cut short: {e}")))?;
        if let Ok(data) = frame.into_data() {
            n += data.len() as u64;
            if n > max {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("model over {max} bytes"),
                ));
            }
            h.update(&data);
            f.write_all(&data).await.map_err(io)?;
        }
    }
    f.flush().await.map_err(io)?;
    Ok((hex(&h.finalize()), n))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A per-upload suffix for the partial file name.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let sha = "a".repeat(64);
        assert!(is_upload(Some("model=1&sid=x")));
        assert!(!is_upload(Some("models=1")));
        assert!(!is_upload(None));
        let q = parse_query(&format!("model=1&sid=ab%2Dc&sha256={sha}&ext=.onnx")).unwrap();
        assert_eq!(q.sid, "ab-c");
        assert_eq!(q.ext, ".onnx");
        assert!(parse_query(&format!("sid=x&sha256={sha}&ext=.exe"))
            .unwrap_err()
            .contains(".exe"));
        assert!(parse_query("sid=x&sha256=ABC").unwrap_err().contains("hex"));
        assert!(parse_query(&format!("sha256={sha}"))
            .unwrap_err()
            .contains("sid"));
        assert!(parse_query(&format!("sid=x&sha256={sha}&ext=../../x")).is_err());
    }
}
