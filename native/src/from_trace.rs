//! Finds the input shapes a page used for a model, in a browser trace
//! (`--from-trace SESSION.jsonl`).
//!
//! A model file matches a page's model id when the trace ties that id to the
//! file's SHA-256 (a `model_load` with the same `sha256`, or a proxy `net`
//! record of the same `sha256`, whose `url` is the id), or, failing that,
//! when the id's last path segment (query and fragment removed) equals the
//! file name. Among the matching `infer` records that carry
//! `input_shapes`, the most frequent shape list wins (the earliest on a tie).
//! Torn or non-JSON lines are skipped and counted, as the format asks.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A trace that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("--from-trace {path}: {source}")]
pub struct TraceReadError {
    /// The trace file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// The page's shapes for one model, positional per input.
pub type PageShapes = Vec<Vec<Option<usize>>>;

/// The records of a browser trace that matter for shapes.
#[derive(Debug, Default)]
pub struct BrowserTrace {
    /// `(model id, sha256)` from `model_load` and `net` records.
    digests: Vec<(String, String)>,
    /// `(model id, input_shapes)` from `infer` records, in file order.
    infers: Vec<(String, PageShapes)>,
    /// `(model id, inputs_sha256)` from `infer` records (`--capture-inputs`).
    captured: Vec<(String, String)>,
    /// Lines skipped as torn or not JSON objects.
    pub skipped_lines: usize,
}

impl BrowserTrace {
    /// Reads a `.jsonl` or `.jsonl.gz` trace.
    pub fn read(path: &Path) -> Result<Self, TraceReadError> {
        let err = |source| TraceReadError {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(err)?;
        let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut trace = BrowserTrace::default();
        for line in BufReader::new(reader).split(b'\n') {
            let line = line.map_err(err)?;
            match serde_json::from_slice::<Value>(&line) {
                Ok(v @ Value::Object(_)) => trace.add(&v),
                _ if line.iter().all(u8::is_ascii_whitespace) => {}
                _ => trace.skipped_lines += 1,
            }
        }
        if trace.skipped_lines > 0 {
            tracing::warn!(
                "{}: skipped {} torn or malformed lines",
                path.display(),
                trace.skipped_lines
            );
        }
        Ok(trace)
    }

    fn add(&mut self, v: &Value) {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        match s("kind") {
            Some("model_load") => {
                if let (Some(m), Some(h)) = (s("model"), s("sha256")) {
                    self.digests.push((m.to_owned(), h.to_ascii_lowercase()));
                }
            }
            Some("net") => {
                if let (Some(u), Some(h)) = (s("url"), s("sha256")) {
                    self.digests.push((u.to_owned(), h.to_ascii_lowercase()));
                }
            }
            Some("infer") => {
                let Some(m) = s("model") else { return };
                if let Some(x) = s("inputs_sha256") {
                    self.captured.push((m.to_owned(), x.to_ascii_lowercase()));
                }
                let Some(Value::Array(inputs)) = v.get("input_shapes") else {
                    return;
                };
                let shapes: Option<PageShapes> = inputs
                    .iter()
                    .map(|dims| {
                        dims.as_array()
                            .map(|ds| ds.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
                    })
                    .collect();
                if let Some(shapes) = shapes {
                    self.infers.push((m.to_owned(), shapes));
                }
            }
            _ => {}
        }
    }

    /// The page's shapes for the model file with this SHA-256 and file name
    /// (see the module doc), or `None` if the trace has no such `infer`.
    pub fn shapes_for(&self, sha256: &str, file_name: &str) -> Option<PageShapes> {
        self.by_model(sha256, file_name, |ids| {
            most_frequent(self.infers.iter().filter(|(m, _)| ids(m)).map(|(_, s)| s))
        })
    }

    /// `pick` applied to the model ids whose `model_load`/`net` digest is
    /// `sha256`, or, when that finds nothing, to the ids whose last path
    /// segment is `file_name`.
    fn by_model<T>(
        &self,
        sha256: &str,
        file_name: &str,
        pick: impl Fn(&dyn Fn(&str) -> bool) -> Option<T>,
    ) -> Option<T> {
        let by_digest: HashSet<&str> = self
            .digests
            .iter()
            .filter(|(_, h)| h == sha256)
            .map(|(m, _)| m.as_str())
            .collect();
        pick(&|m| by_digest.contains(m)).or_else(|| pick(&|m| last_segment(m) == file_name))
    }
}

impl BrowserTrace {
    /// `(model id or URL, sha256)` from the trace's `model_load` and proxy `net`
    /// records, in file order.
    pub fn digests(&self) -> &[(String, String)] {
        &self.digests
    }

    /// The SHA-256 of the page's captured inputs (`infer.inputs_sha256`) for the
    /// model file with this SHA-256 and file name, matched like [`Self::shapes_for`];
    /// the first captured call wins.
    pub fn inputs_for(&self, sha256: &str, file_name: &str) -> Option<String> {
        self.by_model(sha256, file_name, |ids| {
            self.captured
                .iter()
                .find(|(m, _)| ids(m))
                .map(|(_, x)| x.clone())
        })
    }
}

/// The last path segment of a URL or path, query and fragment removed.
fn last_segment(id: &str) -> &str {
    let id = id.split(['?', '#']).next().unwrap_or(id);
    id.rsplit(['/', '\\']).next().unwrap_or(id)
}

fn most_frequent<'a>(items: impl Iterator<Item = &'a PageShapes>) -> Option<PageShapes> {
    let mut counts: Vec<(&PageShapes, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(s, _)| *s == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    // max_by_key keeps the last maximum; iterate reversed to keep the earliest.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(s, _)| s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn matches_by_digest_then_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.jsonl");
        let h = "ab".repeat(32);
        let mut f = File::create(&path).unwrap();
        for line in [
            format!(r#"{{"v":1,"sid":"p","seq":0,"ts":1,"kind":"net","url":"https://x.test/m/det.onnx?v=2","sha256":"{h}","by":"proxy"}}"#),
            r#"{"v":1,"sid":"p","seq":1,"ts":2,"kind":"infer","model":"https://x.test/m/det.onnx?v=2","input_shapes":[[1,3,320,320]]}"#.into(),
            r#"{"v":1,"sid":"p","seq":2,"ts":3,"kind":"infer","model":"https://x.test/m/det.onnx?v=2","input_shapes":[[1,3,640,640]]}"#.into(),
            r#"{"v":1,"sid":"p","seq":3,"ts":4,"kind":"infer","model":"https://x.test/m/det.onnx?v=2","input_shapes":[[1,3,640,640]]}"#.into(),
            r#"{"v":1,"sid":"p","seq":4,"ts":5,"kind":"infer","model":"/assets/other.onnx","input_shapes":[[1,null]]}"#.into(),
            r#"{"v":1,"sid":"p","seq":5,"ts":6,"kind":"inf"#.into(),
        ] {
            writeln!(f, "{line}").unwrap();
        }
        drop(f);
        let t = BrowserTrace::read(&path).unwrap();
        assert_eq!(t.skipped_lines, 1);
        assert_eq!(
            t.shapes_for(&h, "renamed.onnx"),
            Some(vec![vec![Some(1), Some(3), Some(640), Some(640)]])
        );
        assert_eq!(
            t.shapes_for(&"00".repeat(32), "other.onnx"),
            Some(vec![vec![Some(1), None]])
        );
        assert_eq!(t.shapes_for(&"00".repeat(32), "none.onnx"), None);
        let missing = BrowserTrace::read(&dir.path().join("nope.jsonl")).unwrap_err();
        assert!(missing.to_string().contains("nope.jsonl"));
    }
}
