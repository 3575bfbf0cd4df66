//! Checks the JSON Schema against records built here and against every
//! sample trace shipped in `traces/samples/`.

use serde_json::{json, Value};
use webinfer_format::files::{is_jsonl, walk};
use webinfer_format::{Header, Record, SCHEMA};

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn schema_accepts_a_valid_infer_and_rejects_a_bad_one() {
    let v = validator();
    let good = Record::new("s", "infer", 10.0)
        .set("framework", "tfjs")
        .set("model", "https://x/model.json")
        .set("backend", "wasm")
        .set("api", "GraphModel.executeAsync")
        .set("start", 9.0)
        .set("dur", 1.0)
        .set("call", 1)
        .into_value();
    assert!(v.is_valid(&good));
    let mut bad = good.clone();
    bad["dur"] = json!("slow");
    assert!(!v.is_valid(&bad), "a string dur must be rejected");
    let mut no_call = good;
    no_call.as_object_mut().unwrap().remove("call");
    assert!(!v.is_valid(&no_call), "infer without call must be rejected");
    let unknown = json!({"v":1,"sid":"s","seq":0,"ts":0,"kind":"future_kind","x":1});
    assert!(v.is_valid(&unknown), "unknown kinds are allowed");
}

#[test]
fn every_sample_trace_line_matches_the_schema() {
    let v = validator();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/samples");
    let mut checked = 0;
    let files = walk(&dir, is_jsonl, |p, e| Err(format!("{}: {e}", p.display()))).unwrap();
    assert!(!files.is_empty(), "no sample traces in {}", dir.display());
    for p in files {
        for (i, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
            let val: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", p.display(), i + 1));
            if let Err(err) = v.validate(&val) {
                panic!("{}:{}: {err}", p.display(), i + 1);
            }
            // every sample line is a record by the typed header too
            Header::parse(line.as_bytes())
                .unwrap_or_else(|e| panic!("{}:{}: {e}", p.display(), i + 1));
            checked += 1;
        }
    }
    eprintln!("checked {checked} sample records");
}
