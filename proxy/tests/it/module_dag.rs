//! The modules of `proxy/src` form layers: the `crate::` edges between them
//! (from `use` lines and paths in code, not comments) have no cycle, and
//! `lib.rs` re-exports a chosen list instead of making modules public.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The source of every module of `proxy/src`, by module name.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            modules.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    modules
}

/// `text` without `//` comments (doc comments included).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every `crate::` path in `code`, including each
/// member of a `crate::{a, b::c, …}` group (which may span lines and nest).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(ident(rest));
            continue;
        };
        // Split the group at its top-level commas.
        let mut depth = 0usize;
        let mut start = 0;
        for (k, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.insert(ident(&group[start..k]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.insert(ident(&group[start..k]));
                    start = k + 1;
                }
                _ => {}
            }
        }
    }
    out.remove("");
    out
}

/// Module name → the other crate modules its code refers to.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let names: BTreeSet<&String> = modules.keys().collect();
    let mut out = BTreeMap::new();
    for (name, text) in &modules {
        if name == "lib" {
            continue;
        }
        let deps = crate_paths(&code_of(text))
            .into_iter()
            .filter(|m| names.contains(m) && m != name)
            .collect();
        out.insert(name.clone(), deps);
    }
    out
}

/// The modules in layers, lowest first, or the modules left in a cycle.
fn layers(
    mut left: BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<Vec<String>>, BTreeMap<String, BTreeSet<String>>> {
    let mut placed = BTreeSet::new();
    let mut layers = Vec::new();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| placed.contains(d)))
            .map(|(m, _)| m.clone())
            .collect();
        if ready.is_empty() {
            return Err(left);
        }
        for m in &ready {
            left.remove(m);
            placed.insert(m.clone());
        }
        layers.push(ready);
    }
    Ok(layers)
}

#[test]
fn proxy_modules_form_a_dag() {
    let e = edges();
    assert!(e.len() > 15, "read the modules: {e:?}");
    match layers(e) {
        Ok(layers) => println!("layers, lowest first: {layers:?}"),
        Err(cycle) => panic!("a cycle among the modules of proxy/src: {cycle:?}"),
    }
}

#[test]
fn the_dag_check_sees_edges_and_cycles() {
    let e = edges();
    assert!(e["serve"].contains("pipeline"), "{:?}", e["serve"]);
    assert!(e["serve"].contains("tunnel"), "{:?}", e["serve"]);
    assert!(e["builder"].contains("serve"), "{:?}", e["builder"]);
    assert!(e["pipeline"].contains("state"), "{:?}", e["pipeline"]);
    assert!(e["types"].is_empty(), "{:?}", e["types"]);
    // A group spanning lines, nested groups, and paths in code count;
    // comments do not.
    let code =
        code_of("use crate::{\n    a::{b, c},\n    d,\n};\nlet x = crate::e::f(); // crate::g\n");
    let found: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(found, ["a", "d", "e"]);
    // A cycle is reported, with its members.
    let mut cyclic = BTreeMap::new();
    cyclic.insert("x".to_string(), BTreeSet::from(["y".to_string()]));
    cyclic.insert("y".to_string(), BTreeSet::from(["x".to_string()]));
    cyclic.insert("z".to_string(), BTreeSet::new());
    let left = layers(cyclic).unwrap_err();
    assert_eq!(left.keys().collect::<Vec<_>>(), ["x", "y"]);
}

#[test]
fn modules_are_private_behind_a_reexport_list() {
    let lib = &modules()["lib"];
    let public: Vec<&str> = lib
        .lines()
        .filter(|l| l.trim_start().starts_with("pub mod"))
        .collect();
    assert!(public.is_empty(), "public modules: {public:?}");
    assert!(lib.contains("pub use handler::{Handler, NoopHandler};"));
}
