//! Embeds the hook JavaScript from `js/` at build time.
//!
//! `js/MANIFEST` lists the hook source files, one per line, in the order they
//! are concatenated (blank lines and `#` comments ignored). It is the single
//! place to update when files are added. Without a MANIFEST every `*.js` file
//! in `js/` is embedded in name order. The generated `hook_files.rs` holds
//! `HOOK_FILES: &[(&str, &str)]` (name, source).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("js");
    println!("cargo:rerun-if-changed={}", dir.display());
    let names = hook_file_names(&dir);
    let mut out = String::from("/// Hook source files `(name, text)` in concatenation order (from `js/MANIFEST`).\npub const HOOK_FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = dir.join(name);
        if !path.is_file() {
            panic!(
                "injector/js/MANIFEST lists `{name}` but {} does not exist",
                path.display()
            );
        }
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("hook_files.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn hook_file_names(dir: &Path) -> Vec<String> {
    let manifest = dir.join("MANIFEST");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        println!("cargo:rerun-if-changed={}", manifest.display());
        return text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".js"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        println!("cargo:warning=injector/js holds no hook source yet: the injected script carries only its config");
    }
    names
}
