//! Finds and reads the files of a TF.js model: the `model.json` (or a
//! directory holding one, or nsfwjs's `model.min.js`) and the weight shards
//! its manifest names, resolved beside it.
//!
//! A manifest path `P` is looked up, relative to the model file's directory,
//! as `P`, then as the JavaScript module `P.min.js`, then `P.js` (nsfwjs
//! ships `group1-shard1of1.min.js` for the manifest's `group1-shard1of1`).
//! Every file read is listed with its size and SHA-256, the model file
//! first: that first digest is the one the page's `model_load.sha256` and
//! the proxy's `net.sha256` carry for the model's entry artifact.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::jsmodule;
use super::model_json::ModelJson;

/// One file of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of its bytes (hex).
    pub sha256: String,
}

impl Artifact {
    fn of(path: &Path, bytes: &[u8]) -> Artifact {
        Artifact {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// A TF.js model read from disk.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed `model.json`.
    pub model: ModelJson,
    /// The shards' bytes, concatenated in manifest order.
    pub weight_data: Vec<u8>,
    /// The files read, the model file first.
    pub artifacts: Vec<Artifact>,
    /// The model file (the `model.json` or `model.min.js`).
    pub entry: PathBuf,
}

/// Why a model's files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The files are not a TF.js model, or are malformed.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn is_js(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("js"))
}

/// The model file for `path`: itself, or in a directory its `model.json`,
/// else its `model.min.js`/`model.js`, else its only `*.json` file.
pub fn entry_file(path: &Path) -> Result<PathBuf, SourceError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in ["model.json", "model.min.js", "model.js"] {
        let p = path.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let jsons: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    match jsons.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(SourceError::Invalid {
            path: path.to_path_buf(),
            reason: format!(
                "a directory with no model.json or model.min.js and {} other .json files: pass the model file",
                jsons.len()
            ),
        }),
    }
}

/// Reads the model at `path` (file or directory) and all its shards.
pub fn load(path: &Path) -> Result<Loaded, SourceError> {
    let entry = entry_file(path)?;
    let bytes = read(&entry)?;
    let invalid = |reason: String| SourceError::Invalid {
        path: entry.clone(),
        reason,
    };
    let mut artifacts = vec![Artifact::of(&entry, &bytes)];
    let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
    let json =
        if is_js(&entry) {
            match jsmodule::extract(&text).map_err(invalid)? {
                jsmodule::Export::Json(j) => j,
                jsmodule::Export::Str(_) => return Err(invalid(
                    "this JavaScript module exports a weight shard, not a model: pass model.min.js"
                        .into(),
                )),
            }
        } else {
            text
        };
    let model = ModelJson::parse(&json).map_err(invalid)?;
    let dir = entry.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut weight_data = Vec::new();
    for rel in model.shard_paths() {
        let plain = dir.join(&rel);
        let candidates = [
            plain.clone(),
            dir.join(format!("{rel}.min.js")),
            dir.join(format!("{rel}.js")),
        ];
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            return Err(invalid(format!(
                "weight shard `{rel}` of the manifest is not beside the model (looked for {})",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let raw = read(found)?;
        artifacts.push(Artifact::of(found, &raw));
        if *found != plain {
            let src = String::from_utf8(raw).map_err(|_| SourceError::Invalid {
                path: found.clone(),
                reason: "not UTF-8 text".into(),
            })?;
            let data = jsmodule::shard_bytes(&src).map_err(|reason| SourceError::Invalid {
                path: found.clone(),
                reason,
            })?;
            weight_data.extend(data);
        } else {
            weight_data.extend(raw);
        }
    }
    Ok(Loaded {
        model,
        weight_data,
        artifacts,
        entry,
    })
}

/// Whether `path` looks like a TF.js model: a directory holding one, a
/// `.json` file, or a file whose start mentions `modelTopology` or
/// `weightsManifest` (a `model.json` saved under another name, or a
/// bundled `model.min.js`).
pub fn looks_like_tfjs(path: &Path, head: &[u8]) -> bool {
    if path.is_dir() {
        return entry_file(path).is_ok();
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return true;
    }
    let head = &head[..head.len().min(64 * 1024)];
    [&b"modelTopology"[..], b"weightsManifest"]
        .iter()
        .any(|k| head.windows(k.len()).any(|w| w == *k))
}
