//! Overhead benchmarks: how light webinfer's moving parts are.
//!
//! - [`rewrite`]: HTML rewrite throughput of the streaming injector (the
//!   proxy's path, decoding included) in MB/s per core of thread CPU time,
//!   next to a copy of the same chunks and a full `lol_html` parse;
//! - [`ttfb`]: time to first body byte and to the last byte of a 5 MB page
//!   delivered slowly by a loopback HTTPS origin: direct, through the proxy
//!   with the hook injected, and through the proxy passed through;
//! - [`analyze`]: the analyzer over synthetic traces from its generator:
//!   records/s, records per CPU second, and peak RSS of a child process.
//!
//! [`page`] makes the realistic pages, [`cpu`] reads CPU clocks. The
//! binary `overhead` prints each benchmark's rows as a table of ratios.

#[path = "overhead_analyze.rs"]
pub mod analyze;
#[path = "overhead_cpu.rs"]
pub mod cpu;
#[path = "overhead_page.rs"]
pub mod page;
#[path = "overhead_rewrite.rs"]
pub mod rewrite;
#[path = "overhead_ttfb.rs"]
pub mod ttfb;

/// Why an overhead benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct OverheadError {
    /// What was being done.
    pub what: String,
    /// The underlying error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl OverheadError {
    /// An error while doing `what`.
    pub fn new(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        OverheadError {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// A `map_err` adapter: `.map_err(ctx("reading X"))`.
pub fn ctx<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> OverheadError {
    let what = what.into();
    move |e| OverheadError::new(what, e)
}

/// A Markdown table: a header row and rows of cells, right-aligned numbers.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows, each as long as `header`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as GitHub Markdown (first column left-aligned, the others
    /// right-aligned).
    pub fn markdown(&self) -> String {
        let mut s = format!("| {} |\n|", self.header.join(" | "));
        for i in 0..self.header.len() {
            s.push_str(if i == 0 { " --- |" } else { " ---: |" });
        }
        s.push('\n');
        for r in &self.rows {
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        s
    }
}

/// `a / b` with two decimals, `-` when `b` is zero or either is not finite.
pub fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 || !a.is_finite() || !b.is_finite() {
        "-".into()
    } else {
        format!("{:.2}", a / b)
    }
}

/// The median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_markdown_with_aligned_columns() {
        let mut t = Table::new(&["case", "MB/s"]);
        t.row(vec!["copy".into(), "12.0".into()]);
        assert_eq!(
            t.markdown(),
            "| case | MB/s |\n| --- | ---: |\n| copy | 12.0 |\n"
        );
    }

    #[test]
    fn ratio_and_median() {
        assert_eq!(ratio(3.0, 2.0), "1.50");
        assert_eq!(ratio(3.0, 0.0), "-");
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
