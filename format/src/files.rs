//! Finding trace files below a folder: one walk for every reader (the
//! analyzer, `webinfer audit`'s tail, the benchmarks, the tests).
//!
//! The default layout is one file per session,
//! `traces/<label>/<session>.jsonl` (the proxy's sink), and a reader accepts
//! any set of files, so readers search folders recursively.

use std::io;
use std::path::{Path, PathBuf};

/// Whether `path`'s extension is exactly `jsonl` (what the proxy's sink,
/// the native runner and `webinfer audit` write).
pub fn is_jsonl(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "jsonl")
}

/// Every file below `root` (recursively; links to folders are not
/// followed) for which `keep` is true, sorted by path.
///
/// A folder or entry that cannot be read is handed to `on_error` with its
/// path: return `Err` to stop the walk with that error, `Ok(())` to skip it
/// (a reader following a run that is still writing does that).
pub fn walk<E>(
    root: &Path,
    keep: impl Fn(&Path) -> bool,
    mut on_error: impl FnMut(&Path, io::Error) -> Result<(), E>,
) -> Result<Vec<PathBuf>, E> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                on_error(&dir, e)?;
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(en) => en,
                Err(e) => {
                    on_error(&dir, e)?;
                    continue;
                }
            };
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) if keep(&path) => out.push(path),
                Ok(_) => {}
                Err(e) => on_error(&path, e)?,
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_matching_files_recursively_in_order() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "b/s2.jsonl",
            "a/s1.jsonl",
            "a/x.png",
            "top.jsonl",
            "a/c/s3.JSONL",
        ] {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got = walk(d.path(), is_jsonl, |_, e| Err(e)).unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["a/s1.jsonl", "b/s2.jsonl", "top.jsonl"]);
    }

    #[test]
    fn unreadable_folders_stop_or_are_skipped_as_asked() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        let err = walk(&missing, is_jsonl, |p, e| Err((p.to_path_buf(), e))).unwrap_err();
        assert_eq!(err.0, missing);
        let skipped: Vec<PathBuf> =
            walk(&missing, is_jsonl, |_, _| Ok::<(), io::Error>(())).unwrap();
        assert!(skipped.is_empty());
    }
}
