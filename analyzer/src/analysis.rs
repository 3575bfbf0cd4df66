//! One analysis run: read the inputs and baselines, compute each session's
//! metric rows as it finishes, join the native baselines, and aggregate.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::aggregate::{aggregate, check_keys, Aggregate};
use crate::read::{discover, read_sessions, ReadOptions, ReadStats};
use crate::series::Series;
use crate::table::{apply_baselines, rows_of, to_frame, Row, MODEL_KEYS};
use crate::Error;

/// What to analyze.
#[derive(Debug, Clone)]
pub struct Options {
    /// Trace files or folders.
    pub inputs: Vec<PathBuf>,
    /// Native baseline traces (`--baseline`).
    pub baselines: Vec<PathBuf>,
    /// Grouping keys for the aggregate.
    pub group_by: Vec<String>,
    /// Reader options.
    pub read: ReadOptions,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Metric rows of the inputs' models (slowdown filled in), helper
    /// graphs left out.
    pub rows: Vec<Row>,
    /// Rows of helper graphs (`role = "helper"`, [`crate::attribution`]):
    /// listed apart, out of every aggregate.
    pub helper_rows: Vec<Row>,
    /// One session-level row per input session ([`crate::table::page_row`]).
    pub page_rows: Vec<Row>,
    /// The page rows grouped by the `--group-by` keys that are not model
    /// keys ([`crate::table::MODEL_KEYS`]): session metrics once per group.
    pub page_aggregate: Aggregate,
    /// Metric rows of the baselines.
    pub baseline_rows: Vec<Row>,
    /// The rows grouped by the keys.
    pub aggregate: Aggregate,
    /// Read counts of the inputs.
    pub stats: ReadStats,
    /// Read counts of the baselines.
    pub baseline_stats: Option<ReadStats>,
    /// Sessions with lost records: (sid, writer, missing).
    pub gaps: Vec<(String, String, u64)>,
    /// Sessions without an `end` record.
    pub unended: Vec<String>,
    /// Native sessions (inputs or baselines) that ended with `reason: "error"`:
    /// (session id, the error, which names the model file), so the report lists
    /// the models that have no native baseline and why.
    pub native_failures: Vec<(String, String)>,
    /// Chart data of every session (baselines included).
    pub series: Series,
    /// Chart data per page group: keyed by the values of the page keys
    /// ([`Analysis::page_aggregate`]'s `keys`, "" when unknown), input
    /// sessions only.
    pub page_series: BTreeMap<Vec<String>, Series>,
}

/// Chart data per page group, keyed by the page keys' values.
type PageSeries = BTreeMap<Vec<String>, Series>;

/// Runs the analysis.
pub fn run(opts: &Options) -> Result<Analysis, Error> {
    check_keys(&opts.group_by)?;
    let mut series = Series::default();
    let mut gaps = Vec::new();
    let mut unended = Vec::new();
    let mut native_failures = Vec::new();
    let mut page_rows = Vec::new();
    let mut page_series = PageSeries::new();
    let page_keys: Vec<String> = opts
        .group_by
        .iter()
        .filter(|k| !MODEL_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut collect = |files: &[PathBuf],
                       series: &mut Series,
                       pages: Option<(&mut Vec<Row>, &mut PageSeries)>|
     -> Result<(Vec<Row>, ReadStats), Error> {
        let mut rows = Vec::new();
        let mut pages = pages;
        let stats = read_sessions(files, &opts.read, |s| {
            for (by, n) in s.seq_gaps() {
                gaps.push((s.sid.clone(), by, n));
            }
            if s.end_reason.is_none() {
                unended.push(s.sid.clone());
            }
            if s.meta.is_native() && s.end_reason.as_deref() == Some("error") {
                let why = s
                    .end_error
                    .clone()
                    .unwrap_or_else(|| "no reason given".into());
                native_failures.push((s.sid.clone(), why));
            }
            let (model_rows, page) = rows_of(&s);
            let model_bytes = page.get(crate::table::M::ModelBytes);
            series.observe(&s, model_bytes);
            rows.extend(model_rows);
            if let Some((p, by_page)) = pages.as_mut() {
                let key: Vec<String> = page_keys.iter().map(|k| page.key(k).to_owned()).collect();
                by_page.entry(key).or_default().observe(&s, model_bytes);
                p.push(page);
            }
        })?;
        Ok((rows, stats))
    };
    let files = discover(&opts.inputs)?;
    let (mut rows, stats) = collect(
        &files,
        &mut series,
        Some((&mut page_rows, &mut page_series)),
    )?;
    let (baseline_rows, baseline_stats) = if opts.baselines.is_empty() {
        (Vec::new(), None)
    } else {
        let files = discover(&opts.baselines)?;
        let (r, s) = collect(&files, &mut series, None)?;
        (r, Some(s))
    };
    apply_baselines(&mut rows, &baseline_rows);
    rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    let (helper_rows, rows): (Vec<Row>, Vec<Row>) =
        rows.into_iter().partition(|r| r.key("role") == "helper");
    let aggregate = aggregate(&to_frame(&rows)?, &opts.group_by)?;
    page_rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    let page_aggregate = crate::aggregate::aggregate(&to_frame(&page_rows)?, &page_keys)?;
    gaps.sort();
    unended.sort();
    native_failures.sort();
    Ok(Analysis {
        rows,
        helper_rows,
        page_rows,
        page_aggregate,
        baseline_rows,
        aggregate,
        stats,
        baseline_stats,
        gaps,
        unended,
        native_failures,
        series,
        page_series,
    })
}

/// Slowdown bars: mean slowdown ×native per (model, backend, variant) over
/// the browser rows that have one.
pub fn slowdown_bars(rows: &[Row]) -> Vec<(String, f64, usize)> {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        if let Some(x) = r.get(crate::table::M::SlowdownX) {
            let variant = if r.key("variant").is_empty() {
                "default"
            } else {
                r.key("variant")
            };
            let key = format!(
                "{} · {} · {variant}",
                crate::series::short_model(r.key("model")),
                r.key("backend")
            );
            by.entry(key).or_default().push(x);
        }
    }
    by.into_iter()
        .map(|(k, v)| (k, crate::stats::mean(&v).unwrap_or(0.0), v.len()))
        .collect()
}
