//! The core aggregation as SQL, for engines that scale past one machine
//! (`webinfer analyze --print-sql`): the same latency rows the analyzer
//! computes, over a `records` table with one row per trace record and one
//! column per field (JSON Lines read with a schema, or Parquet partitioned
//! by label/date).

/// SQL dialects the query is printed in.
pub const DIALECTS: &[&str] = &["duckdb", "spark", "datafusion"];

/// The latency query (setup, warm-up, prediction p50/p90/p99/mean/std,
/// inferences/s per session × model × backend, with the session's label,
/// variant and browser), then the mean and 95% CI per label × model ×
/// backend. Percentiles interpolate between ranks like the analyzer's
/// (DuckDB `quantile_cont`, Spark `percentile`); DataFusion's
/// `approx_percentile_cont` is approximate.
pub fn latency_sql(dialect: &str) -> Result<String, crate::Error> {
    let pct = |p: &str| match dialect {
        "spark" => format!("percentile(dur, {p})"),
        "datafusion" => format!("approx_percentile_cont(dur, {p})"),
        _ => format!("quantile_cont(dur, {p})"),
    };
    let last = |f: &str| match dialect {
        "datafusion" => format!("last_value({f} ORDER BY ts) FILTER (WHERE {f} IS NOT NULL)"),
        _ => format!("max_by({f}, ts) FILTER (WHERE {f} IS NOT NULL)"),
    };
    if !DIALECTS.contains(&dialect) {
        return Err(crate::Error::Usage(format!(
            "unknown SQL dialect `{dialect}` (known: {})",
            DIALECTS.join(", ")
        )));
    }
    Ok(format!(
        "-- webinfer core aggregation ({dialect}); `records` = one row per trace record.
WITH sessions AS (
  SELECT sid,
         {label} AS label,
         {variant} AS variant,
         {browser} AS browser
  FROM records WHERE kind = 'session' GROUP BY sid
),
loads AS (
  SELECT sid, model, min(dur) AS setup_ms FROM records WHERE kind = 'model_load' GROUP BY sid, model
),
infers AS (
  SELECT sid, model, coalesce(backend, 'unknown') AS backend, start, dur, call
  FROM records WHERE kind = 'infer'
),
warm AS (
  SELECT sid, model, backend, min(dur) AS warmup_ms FROM infers WHERE call = 1 GROUP BY sid, model, backend
),
per_session AS (
  SELECT sid, model, backend,
         count(*) AS pred_n,
         {p50} AS pred_p50_ms,
         {p90} AS pred_p90_ms,
         {p99} AS pred_p99_ms,
         avg(dur) AS pred_mean_ms,
         stddev_samp(dur) AS pred_std_ms,
         count(*) / ((max(start + dur) - min(start)) / 1000.0) AS infer_per_s
  FROM infers WHERE call > 1 GROUP BY sid, model, backend
),
rows AS (
  SELECT p.*, s.label, s.variant, s.browser, l.setup_ms, w.warmup_ms
  FROM per_session p
  LEFT JOIN sessions s ON s.sid = p.sid
  LEFT JOIN loads l ON l.sid = p.sid AND l.model = p.model
  LEFT JOIN warm w ON w.sid = p.sid AND w.model = p.model AND w.backend = p.backend
)
-- mean and 95% CI half-width (normal approximation 1.96; the analyzer uses Student t)
SELECT label, model, backend, count(*) AS sessions,
       avg(pred_p50_ms) AS pred_p50_ms_mean,
       1.96 * stddev_samp(pred_p50_ms) / sqrt(count(*)) AS pred_p50_ms_ci95,
       avg(pred_p99_ms) AS pred_p99_ms_mean,
       avg(infer_per_s) AS infer_per_s_mean,
       avg(setup_ms) AS setup_ms_mean,
       avg(warmup_ms) AS warmup_ms_mean,
       sum(pred_n) AS predictions
FROM rows GROUP BY label, model, backend ORDER BY label, model, backend;
",
        label = last("label"),
        variant = last("variant"),
        browser = last("browser.name"),
        p50 = pct("0.5"),
        p90 = pct("0.9"),
        p99 = pct("0.99"),
    ))
}
