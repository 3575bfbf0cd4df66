//! Finds ONNX Runtime's shared library, `libonnxruntime.so`, which the `ort`
//! crate loads at run time (this workspace never downloads ORT binaries).
//!
//! Order: the `ORT_DYLIB_PATH` environment variable; else the library inside
//! the Python `onnxruntime` package (`capi/libonnxruntime.so*` beside the
//! module that `python3 -c 'import onnxruntime'` finds); else an error that
//! says how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The library could not be found.
#[derive(Debug, thiserror::Error)]
pub enum DylibError {
    /// `ORT_DYLIB_PATH` names a file that does not exist.
    #[error("ORT_DYLIB_PATH={0} does not exist; point it at libonnxruntime.so or unset it")]
    EnvPathMissing(PathBuf),
    /// Neither the variable nor the Python package gave a library.
    #[error(
        "ONNX Runtime's libonnxruntime.so was not found: ORT_DYLIB_PATH is not set and {python}. \
         Install it with `pip install onnxruntime==1.30.0` (or run scripts/install-onnxruntime.sh, which \
         prints the library's path) and rerun, or set ORT_DYLIB_PATH=/path/to/libonnxruntime.so; \
         `--engine tract` needs no library"
    )]
    NotFound {
        /// What the Python probe found.
        python: String,
    },
}

/// The path of `libonnxruntime.so` to load (see the module doc).
pub fn locate() -> Result<PathBuf, DylibError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(DylibError::EnvPathMissing(p))
        };
    }
    match python_package_dir() {
        Ok(dir) => {
            let capi = dir.join("capi");
            find_in(&capi).ok_or_else(|| DylibError::NotFound {
                python: format!(
                    "the Python onnxruntime package at {} has no capi/libonnxruntime.so*",
                    dir.display()
                ),
            })
        }
        Err(python) => Err(DylibError::NotFound { python }),
    }
}

/// The folder of the Python `onnxruntime` package, or why there is none.
fn python_package_dir() -> Result<PathBuf, String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime,os;print(os.path.dirname(onnxruntime.__file__))",
        ])
        .output()
        .map_err(|e| format!("python3 could not be run ({e})"))?;
    if !out.status.success() {
        return Err("the Python package `onnxruntime` is not installed".into());
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(PathBuf::from(dir))
}

/// The `libonnxruntime.so*` in `dir` (the versioned name sorts last and is
/// preferred), if any.
fn find_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versioned_library_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_in(dir.path()), None);
        std::fs::write(dir.path().join("libonnxruntime_providers_shared.so"), b"").unwrap();
        assert_eq!(find_in(dir.path()), None);
        std::fs::write(dir.path().join("libonnxruntime.so.1.30.0"), b"").unwrap();
        assert_eq!(
            find_in(dir.path()),
            Some(dir.path().join("libonnxruntime.so.1.30.0"))
        );
    }

    #[test]
    fn missing_library_error_says_how_to_install() {
        let e = DylibError::NotFound {
            python: "the Python package `onnxruntime` is not installed".into(),
        };
        let s = e.to_string();
        assert!(s.contains("pip install onnxruntime"), "{s}");
        assert!(s.contains("scripts/install-onnxruntime.sh"), "{s}");
    }
}
