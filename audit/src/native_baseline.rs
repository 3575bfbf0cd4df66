//! `webinfer audit --native`: after the browser runs, every model the proxy
//! saved (`--save-models`, by default `<traces>/<label>/models/`) runs
//! natively and its baseline trace lands beside the page traces, so the
//! analysis shows ×native without further steps.
//!
//! - **Which models**: every saved `<sha256>.onnx`; every saved TF.js
//!   `model.json` (`<sha256>.json` holding `modelTopology` and a
//!   `weightsManifest`), rebuilt as `models/tfjs/<sha256>/model.json` with its
//!   shards under the manifest's relative names ([`assemble_tfjs`]), because
//!   the proxy saves each shard as `<sha256>.bin` and the manifest's names no
//!   longer resolve; and `.tflite` files with the LiteRT engine. Which saved
//!   file is which URL comes from the proxy's `net` records (`url`, `sha256`)
//!   in the run's traces. A model the hook serialized from memory (nsfwjs's
//!   inlined weights) names its shard `<sha256>.bin` already and runs as saved.
//! - **Engine**: ONNX Runtime when `libonnxruntime` loads, else tract (ONNX
//!   and TF.js models); LiteRT for `.tflite`. Input shapes come from the page's
//!   own calls (`--from-trace` over the run's traces).
//! - **Inputs**: with `--capture-inputs`, a model whose page call left an
//!   `infer.inputs_sha256` runs on that saved `<sha256>.safetensors` (the
//!   page's own input tensors; the native runner finds it through
//!   `--from-trace`); otherwise on generated inputs valid for the model
//!   (docs/native.md, "The input").
//! - **Failures** are kept, not fatal: a model that cannot run natively gets
//!   its reason in [`NativeOutcome::result`], and the native runner writes an
//!   `end` record with `reason: "error"` and the message to the trace.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use webinfer_native::from_trace::BrowserTrace;
use webinfer_native::EngineKind;

/// Measured native calls per model (after one warm-up).
pub const NATIVE_RUNS: usize = 30;

/// What happened to one saved model.
#[derive(Debug, Clone)]
pub struct NativeOutcome {
    /// The model as the page loaded it (its URL) when known, else the saved file.
    pub model: String,
    /// The file the native runner read.
    pub path: PathBuf,
    /// The engine asked for (`ort`, `tract`, `litert`).
    pub engine: String,
    /// The page's captured inputs it ran on (`--capture-inputs`), if any.
    pub inputs: Option<PathBuf>,
    /// The native p50 in ms, or why the model could not run natively.
    pub result: Result<f64, String>,
}

/// A relative shard path of a TF.js manifest that stays inside its folder.
fn safe_relative(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| path.to_path_buf())
}

/// Rebuilds a saved TF.js `model.json` (`models/<sha>.json`, fetched from
/// `model_url`) as `models/tfjs/<sha>/model.json` with each shard of its
/// manifest beside it under the manifest's relative name, taken from the saved
/// `<shard sha>.bin` of the URL the manifest path resolves to (per
/// `digests`). Returns the `model.json` path, or which shard is missing.
pub fn assemble_tfjs(
    models: &Path,
    json_path: &Path,
    manifest: &Value,
    model_url: &str,
    digests: &HashMap<String, String>,
) -> Result<PathBuf, String> {
    let sha = json_path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("the saved model.json has no file name")?;
    let dir = models.join("tfjs").join(sha);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    // The manifest's paths resolve against the model.json's folder (TF.js: `new URL(path, base)`;
    // `safe_relative` leaves only plain relative paths, for which that is a string join).
    let base = model_url.split(['?', '#']).next().unwrap_or(model_url);
    let folder = &base[..base.rfind('/').map_or(0, |i| i + 1)];
    let groups = manifest["weightsManifest"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for g in &groups {
        for p in g["paths"].as_array().into_iter().flatten() {
            let Some(rel) = p.as_str() else { continue };
            let target_rel = safe_relative(rel)
                .ok_or_else(|| format!("shard path {rel:?} leaves the model's folder"))?;
            let shard_url = format!("{folder}{}", rel.trim_start_matches("./"));
            let shard_sha = digests.get(&shard_url).ok_or_else(|| {
                format!("shard {shard_url} was not fetched through the proxy during the audit")
            })?;
            let saved = models.join(format!("{shard_sha}.bin"));
            if !saved.is_file() {
                return Err(format!(
                    "shard {shard_url} (sha256 {shard_sha}) was not saved in {}",
                    models.display()
                ));
            }
            let target = dir.join(&target_rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("creating {}: {e}", parent.display()))?;
            }
            if !target.exists() {
                std::fs::hard_link(&saved, &target)
                    .or_else(|_| std::fs::copy(&saved, &target).map(|_| ()))
                    .map_err(|e| format!("placing {}: {e}", target.display()))?;
            }
        }
    }
    let entry = dir.join("model.json");
    if !entry.exists() {
        std::fs::hard_link(json_path, &entry)
            .or_else(|_| std::fs::copy(json_path, &entry).map(|_| ()))
            .map_err(|e| format!("placing {}: {e}", entry.display()))?;
    }
    Ok(entry)
}

/// Whether every shard a TF.js manifest names lies beside `json` under that name.
fn shards_beside(json: &Path, manifest: &Value) -> bool {
    let dir = json.parent().unwrap_or(Path::new("."));
    let paths: Vec<&str> = manifest["weightsManifest"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["paths"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    !paths.is_empty()
        && paths
            .iter()
            .all(|p| safe_relative(p).is_some_and(|r| dir.join(r).is_file()))
}

/// One model to run: (name for people, file, engine, the saved file's sha256).
type Job = (String, PathBuf, EngineKind, String);

/// The saved models of `models` as native jobs, and those that cannot even
/// be prepared (with why).
fn jobs(
    models: &Path,
    digests: &HashMap<String, String>,
    onnx_engine: EngineKind,
) -> (Vec<Job>, Vec<NativeOutcome>) {
    let by_sha: HashMap<&str, &str> = digests
        .iter()
        .map(|(u, s)| (s.as_str(), u.as_str()))
        .collect();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(models)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    let (mut jobs, mut refused) = (Vec::new(), Vec::new());
    for p in entries.into_iter().filter(|p| p.is_file()) {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        let sha = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let name = by_sha
            .get(sha)
            .map(|u| u.to_string())
            .unwrap_or_else(|| p.display().to_string());
        match ext {
            "onnx" => jobs.push((name, p.clone(), onnx_engine, sha.to_owned())),
            "tflite" => jobs.push((name, p.clone(), EngineKind::Litert, sha.to_owned())),
            "json" => {
                let Some(v) = std::fs::read(&p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                else {
                    continue;
                };
                if v.get("modelTopology").is_none() || v.get("weightsManifest").is_none() {
                    continue; // not a TF.js model (e.g. a config file)
                }
                // A model the hook serialized from memory names its shard by digest: it
                // runs where it lies.
                if shards_beside(&p, &v) {
                    jobs.push((name, p.clone(), onnx_engine, sha.to_owned()));
                    continue;
                }
                let Some(url) = by_sha.get(sha) else {
                    refused.push(NativeOutcome {
                        model: name,
                        path: p.clone(),
                        engine: onnx_engine.as_str().to_owned(),
                        inputs: None,
                        result: Err("no net record names this model.json's URL, so its shards cannot be found".into()),
                    });
                    continue;
                };
                match assemble_tfjs(models, &p, &v, url, digests) {
                    Ok(entry) => jobs.push((name, entry, onnx_engine, sha.to_owned())),
                    Err(why) => refused.push(NativeOutcome {
                        model: name,
                        path: p.clone(),
                        engine: onnx_engine.as_str().to_owned(),
                        inputs: None,
                        result: Err(why),
                    }),
                }
            }
            _ => {}
        }
    }
    (jobs, refused)
}

/// Runs every saved model of `models` natively and appends the baselines to
/// `out` (a trace file beside the page traces). `files` are the audit's trace
/// files (for `net` digests and the page's input shapes).
pub fn run_saved_models(models: &Path, files: &[PathBuf], out: &Path) -> Vec<NativeOutcome> {
    // The page's traces as one file: the digests of what the proxy saw, the page's
    // input shapes and captured inputs of each model (`--from-trace`).
    let page_trace = out.with_extension("pages.tmp");
    let trace = concat(files, &page_trace)
        .then(|| BrowserTrace::read(&page_trace).ok())
        .flatten()
        .unwrap_or_default();
    let mut digests: HashMap<String, String> = HashMap::new();
    for (id, sha) in trace.digests() {
        digests.entry(id.clone()).or_insert_with(|| sha.clone());
    }
    let onnx_engine = if EngineKind::Ort.version().is_ok() {
        EngineKind::Ort
    } else {
        tracing::warn!("ONNX Runtime is not available (scripts/install-onnxruntime.sh); native baselines use tract");
        EngineKind::Tract
    };
    let (jobs, mut outcomes) = jobs(models, &digests, onnx_engine);
    let shapes_from = page_trace.is_file().then(|| page_trace.clone());
    for (name, path, engine, sha) in jobs {
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let inputs = trace
            .inputs_for(&sha, file_name)
            .and_then(|x| captured_beside(models, &path, &x));
        let opts = webinfer_native::Options {
            models: vec![path.clone()],
            engine,
            threads: webinfer_native::host::available_cpus(),
            runs: NATIVE_RUNS,
            warmup: 1,
            input_shapes: Vec::new(),
            from_trace: shapes_from.clone(),
            inputs: None, // the runner takes captured inputs from `from_trace`
            out: out.to_path_buf(),
        };
        let result = match webinfer_native::run(&opts) {
            Ok(report) => match report.models.into_iter().next() {
                Some((_, Ok(s))) => webinfer_format::percentile::percentile(&s.run_ms, 0.5)
                    .ok_or_else(|| "no measured call".to_owned()),
                Some((_, Err(e))) => Err(e.to_string()),
                None => Err("the native runner returned nothing".into()),
            },
            Err(e) => Err(e.to_string()),
        };
        outcomes.push(NativeOutcome {
            model: name,
            path,
            engine: engine.as_str().to_owned(),
            inputs,
            result,
        });
    }
    let _ = std::fs::remove_file(&page_trace);
    outcomes
}

/// The page's captured inputs `<x>.safetensors` (saved in `models`) beside the
/// model file at `path`, where the native runner looks for them: a TF.js model
/// rebuilt under `models/tfjs/<sha256>/` gets a link (or copy) of the file.
/// `None` when the proxy saved no such file.
fn captured_beside(models: &Path, path: &Path, x: &str) -> Option<PathBuf> {
    let name = format!("{x}.safetensors");
    let beside = path.with_file_name(&name);
    if beside.is_file() {
        return Some(beside);
    }
    let saved = models.join(&name);
    if !saved.is_file() {
        return None;
    }
    if std::fs::hard_link(&saved, &beside).is_err() {
        std::fs::copy(&saved, &beside).ok()?;
    }
    Some(beside)
}

/// Concatenates `files` into `out`; false when nothing could be written.
fn concat(files: &[PathBuf], out: &Path) -> bool {
    let Ok(mut w) = std::fs::File::create(out).map(std::io::BufWriter::new) else {
        return false;
    };
    for f in files {
        if let Ok(mut r) = std::fs::File::open(f) {
            if std::io::copy(&mut r, &mut w).is_err() {
                return false;
            }
            let _ = w.write_all(b"\n");
        }
    }
    w.flush().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_paths_stay_inside() {
        assert!(safe_relative("group1-shard1of2.bin").is_some());
        assert!(safe_relative("sub/w.bin").is_some());
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/abs").is_none());
        assert!(safe_relative("").is_none());
    }

    #[test]
    fn a_saved_tfjs_model_is_rebuilt_under_its_manifest_names() {
        let d = tempfile::tempdir().unwrap();
        let models = d.path();
        let manifest = serde_json::json!({
            "modelTopology": {}, "weightsManifest": [{"paths": ["w1.bin", "sub/w2.bin"], "weights": []}]
        });
        std::fs::write(models.join("aaa.json"), manifest.to_string()).unwrap();
        std::fs::write(models.join("s1.bin"), b"one").unwrap();
        std::fs::write(models.join("s2.bin"), b"two").unwrap();
        let digests: HashMap<String, String> = [
            ("https://x.test/m/model.json", "aaa"),
            ("https://x.test/m/w1.bin", "s1"),
            ("https://x.test/m/sub/w2.bin", "s2"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let entry = assemble_tfjs(
            models,
            &models.join("aaa.json"),
            &manifest,
            "https://x.test/m/model.json",
            &digests,
        )
        .unwrap();
        let dir = entry.parent().unwrap();
        assert_eq!(std::fs::read(dir.join("w1.bin")).unwrap(), b"one");
        assert_eq!(std::fs::read(dir.join("sub/w2.bin")).unwrap(), b"two");
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(models.join("aaa.json")).unwrap()
        );
        // A shard the proxy never saw is a clear error naming its URL.
        let mut missing = digests.clone();
        missing.remove("https://x.test/m/sub/w2.bin");
        std::fs::remove_dir_all(models.join("tfjs")).unwrap();
        let e = assemble_tfjs(
            models,
            &models.join("aaa.json"),
            &manifest,
            "https://x.test/m/model.json",
            &missing,
        )
        .unwrap_err();
        assert!(e.contains("https://x.test/m/sub/w2.bin"), "{e}");
    }
}
