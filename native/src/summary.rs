//! The per-model result of a native run and the table printed to stdout.

use std::fmt::Write as _;

use webinfer_format::percentile::percentile;

/// What one model's measurement produced.
#[derive(Debug, Clone)]
pub struct ModelSummary {
    /// The model as named in the trace (`model_load.model`: the file name).
    pub model: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// The session id written to the trace.
    pub sid: String,
    /// The engine (`ort`, `tract`).
    pub engine: String,
    /// Compute threads asked for.
    pub threads: usize,
    /// Input shapes used, e.g. `x=1x3x320x320`.
    pub shapes: String,
    /// Setup: reading the file, creating the session and planning (ms).
    pub setup_ms: f64,
    /// Durations of the warm-up calls (ms), in order.
    pub warmup_ms: Vec<f64>,
    /// Durations of the measured calls (ms), in order.
    pub run_ms: Vec<f64>,
    /// Largest resident set seen (bytes), if readable.
    pub peak_rss: Option<u64>,
    /// Whether some dynamic dimension after the first (batch) one was set to
    /// 1 for lack of a shape from `--input-shape` or `--from-trace` (the
    /// timing may then be unrealistic).
    pub dynamic_set_to_one: bool,
}

impl ModelSummary {
    /// Median of the measured calls, by the project's one percentile
    /// definition ([`percentile`], R type 7): the report's `pred_p50_ms`
    /// of the same durations.
    pub fn p50(&self) -> Option<f64> {
        percentile(&self.run_ms, 0.50)
    }

    /// 99th percentile of the measured calls ([`percentile`]).
    pub fn p99(&self) -> Option<f64> {
        percentile(&self.run_ms, 0.99)
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// The summary table: one row per measured model with setup, first warm-up
/// call, p50, p99 (ms) and the number of measured runs.
pub fn table(rows: &[ModelSummary]) -> String {
    let header = [
        "model",
        "engine",
        "threads",
        "inputs",
        "setup ms",
        "warmup ms",
        "p50 ms",
        "p99 ms",
        "runs",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.model.clone(),
                r.engine.clone(),
                r.threads.to_string(),
                r.shapes.clone(),
                format!("{:.1}", r.setup_ms),
                ms(r.warmup_ms.first().copied()),
                ms(r.p50()),
                ms(r.p99()),
                r.run_ms.len().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[String]| {
        let parts: Vec<String> = cols
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 4 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&header.map(str::to_owned));
    for row in &cells {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_one_row_per_model_and_right_numbers() {
        let s = ModelSummary {
            model: "tiny.onnx".into(),
            sha256: "00".repeat(32),
            sid: "s".into(),
            engine: "ort".into(),
            threads: 1,
            shapes: "x=1x3x8x8".into(),
            setup_ms: 12.34,
            warmup_ms: vec![5.0],
            run_ms: vec![1.0, 3.0, 2.0],
            peak_rss: None,
            dynamic_set_to_one: false,
        };
        let t = table(&[s]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("model"));
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "tiny.onnx",
                "ort",
                "1",
                "x=1x3x8x8",
                "12.3",
                "5.00",
                "2.00",
                // type 7: 1,2,3 → h = 2·0.99 = 1.98 → 2 + 0.98·(3 − 2)
                "2.98",
                "3"
            ]
        );
    }
}
