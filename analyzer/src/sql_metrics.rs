//! Every metric family of `webinfer analyze` as SQL over the tables of
//! `webinfer export parquet` ([`crate::export_schema`]), for DuckDB, Spark
//! SQL and DataFusion (`webinfer analyze --print-sql`, `--sql-dir`).
//!
//! Each table is one self-contained query (its `WITH` clause repeats the
//! shared steps) whose rows and columns are those of `metrics.csv`: the
//! model tables one row per session × model × backend, the page tables one
//! row per session, each with the session's key columns. The SQL uses only
//! what the three engines share (CTEs, window functions, joins, `CASE`),
//! and computes percentiles exactly, by rank, as [`webinfer_format::percentile`]
//! does (R type 7): no engine's approximate percentile is used, so every
//! value matches the analyzer up to floating-point summation order
//! (relative 1e-9).

use crate::Error;

/// SQL dialects.
pub const DIALECTS: &[&str] = &["duckdb", "spark", "datafusion"];

/// The tables, in output order: (name, what a row is).
pub const TABLES: &[(&str, &str)] = &[
    (
        "latency",
        "session × model × backend: setup, warm-up, prediction percentiles, throughput, role",
    ),
    (
        "memory",
        "session: model bytes, peaks per source, overhead, growth for inference",
    ),
    (
        "smoothness",
        "session: FPS and dropped frames inside/outside inference, long tasks, LoAF, video FPS",
    ),
    (
        "responsiveness",
        "session: probe delay inside/outside inference, input delay, interactions",
    ),
    (
        "rendering",
        "session: FCP, LCP, frame-time increase under inference",
    ),
    (
        "qoe",
        "session × model × backend: video frames covered by an inference, prediction age",
    ),
    (
        "generation",
        "session × model: LLM requests, tokens/s, TTFT, TPOT",
    ),
    (
        "slowdown",
        "session × model × backend: native p50 of the same model bytes and ×native",
    ),
];

/// The export's tables (views the setup statements create).
const SOURCES: &[&str] = &["session", "calls", "mem", "frames", "events", "net"];

#[derive(Clone, Copy)]
struct D {
    name: &'static str,
}

impl D {
    fn of(dialect: &str) -> Result<D, Error> {
        DIALECTS
            .iter()
            .find(|d| **d == dialect)
            .map(|name| D { name })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown SQL dialect `{dialect}` (known: {})",
                    DIALECTS.join(", ")
                ))
            })
    }

    fn string(self) -> &'static str {
        if self.name == "spark" {
            "STRING"
        } else {
            "VARCHAR"
        }
    }

    /// A regex character class of `/` and `\` inside a string literal
    /// (Spark string literals take backslash escapes).
    fn slash_class(self) -> &'static str {
        if self.name == "spark" {
            r"[/\\\\]"
        } else {
            r"[/\\]"
        }
    }
}

/// A session attribute read from a column or a hive partition, with
/// DataFusion's literal `__HIVE_DEFAULT_PARTITION__` and nulls as `''`.
fn n(d: D, col: &str) -> String {
    format!(
        "coalesce(nullif(CAST({col} AS {}), '__HIVE_DEFAULT_PARTITION__'), '')",
        d.string()
    )
}

fn dbl(x: &str) -> String {
    format!("CAST({x} AS DOUBLE)")
}

/// Percentiles (R type 7) of `val` per group: a CTE `{name}` with the
/// group columns and one column per `(alias, p)`, from CTE `src`.
fn pct_ctes(name: &str, src: &str, group: &[&str], val: &str, ps: &[(&str, f64)]) -> String {
    let g = group.join(", ");
    let mut cols = String::new();
    let mut out = String::new();
    for (alias, p) in ps {
        let h = format!("(CAST(n - 1 AS DOUBLE) * CAST({p} AS DOUBLE))");
        cols.push_str(&format!(
            ",\n         CASE WHEN r = FLOOR({h}) THEN {val} END AS {alias}_lo,\
             \n         CASE WHEN r = FLOOR({h}) + 1 THEN {val} END AS {alias}_hi,\
             \n         {h} - FLOOR({h}) AS {alias}_f"
        ));
        out.push_str(&format!(
            ",\n         max({alias}_lo) + max({alias}_f) * (coalesce(max({alias}_hi), max({alias}_lo)) - max({alias}_lo)) AS {alias}"
        ));
    }
    format!(
        "{name}_r AS (
  SELECT {g}{cols}
  FROM (SELECT {g}, {val},
               row_number() OVER (PARTITION BY {g} ORDER BY {val}) - 1 AS r,
               count(*) OVER (PARTITION BY {g}) AS n
        FROM {src} WHERE {val} IS NOT NULL) x
),
{name} AS (
  SELECT {g}{out}
  FROM {name}_r GROUP BY {g}
)"
    )
}

/// Which intervals `[a, b]` of CTE `q` (columns sid, qid, a, b) overlap an
/// inference window `[ws, we]` of CTE `win` (`ws < b` and `we > a`, as
/// [`crate::metrics::windows::Windows::overlaps`]): a CTE `{name}` (sid, qid,
/// inside 0/1), by two sweeps over time instead of a range join. Overlapping
/// windows = #(ws < b) − #(we ≤ a and ws < b); windows ending at or before
/// `a` start before `b`, except a zero-length window at a point query, which
/// the second sweep orders after the query.
fn inside_ctes(name: &str, q: &str) -> String {
    format!(
        "{name}_s AS (
  SELECT sid, qid, sum(w) OVER (PARTITION BY sid ORDER BY tm, o ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cs
  FROM (SELECT sid, CAST(NULL AS DOUBLE) AS qid, ws AS tm, 1 AS o, 1 AS w FROM win WHERE sid IN (SELECT sid FROM {q})
        UNION ALL
        SELECT sid, qid, b, 0, 0 FROM {q}) e
),
{name}_e AS (
  SELECT sid, qid, sum(w) OVER (PARTITION BY sid ORDER BY tm, o ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ce
  FROM (SELECT sid, CAST(NULL AS DOUBLE) AS qid, we AS tm, CASE WHEN we > ws THEN 0 ELSE 2 END AS o, 1 AS w
        FROM win WHERE sid IN (SELECT sid FROM {q})
        UNION ALL
        SELECT sid, qid, a, CASE WHEN a < b THEN 3 ELSE 1 END, 0 FROM {q}) e
),
{name} AS (
  SELECT s.sid, s.qid, CASE WHEN s.cs - e.ce > 0 THEN 1 ELSE 0 END AS inside
  FROM {name}_s s JOIN {name}_e e ON e.sid = s.sid AND e.qid = s.qid
  WHERE s.qid IS NOT NULL AND e.qid IS NOT NULL
)"
    )
}

/// The shared steps, by name.
fn cte(d: D, name: &str) -> String {
    let key_cols = [
        "label",
        "variant",
        "browser",
        "browser_version",
        "source",
        "page",
    ];
    match name {
        "keys" => {
            let sel: Vec<String> = key_cols.iter().map(|k| format!("{} AS {k}", n(d, k))).collect();
            let parts: Vec<String> = SOURCES
                .iter()
                .map(|t| {
                    let w = if *t == "session" { " WHERE kind <> 'dropped'" } else { "" };
                    format!("  SELECT sid, {} FROM {t}{w}", sel.join(", "))
                })
                .collect();
            let agg: Vec<String> = key_cols.iter().map(|k| format!("max({k}) AS {k}")).collect();
            format!(
                "keys AS (\n  SELECT sid, {}\n  FROM (\n{}\n  ) k GROUP BY sid\n)",
                agg.join(", "),
                parts.join("\n  UNION ALL\n")
            )
        }
        // valid `infer` records (the analyzer skips one missing a required field)
        "inf" => "inf AS (
  SELECT sid, seq, ts, framework, model, backend, api, layer, start, dur, call, ort_run, model_origin, model_bytes,
         CASE layer WHEN 'model' THEN 3 WHEN 'handler' THEN 2 WHEN 'ops' THEN 1 WHEN 'wasm' THEN 0
           ELSE CASE coalesce(api, '') WHEN 'tidy' THEN 1 WHEN 'OrtRun' THEN 0 WHEN 'SessionHandler.run' THEN 2 ELSE 3 END
         END AS lrank,
         row_number() OVER (PARTITION BY sid ORDER BY start, ts, seq) AS iid
  FROM calls
  WHERE kind = 'infer' AND framework IS NOT NULL AND model IS NOT NULL AND start IS NOT NULL
    AND dur IS NOT NULL AND call IS NOT NULL
)".into(),
        "loads" => "loads AS (
  SELECT sid, seq, ts, framework, model, start, dur, bytes, sha256, model_origin
  FROM calls
  WHERE kind = 'model_load' AND framework IS NOT NULL AND model IS NOT NULL AND start IS NOT NULL AND dur IS NOT NULL
)".into(),
        // attribution rule 1: a record overlapping a higher layer's record of the same call is folded
        "cnt" => "folded AS (
  SELECT DISTINCT a.sid, a.iid
  FROM (SELECT * FROM inf WHERE lrank < 3) a
  JOIN (SELECT * FROM inf WHERE lrank > 0) b ON a.sid = b.sid AND b.lrank > a.lrank
   AND ((b.start < a.start + a.dur AND a.start < b.start + b.dur) OR a.start = b.start)
   AND NOT (a.ort_run IS NOT NULL AND b.ort_run IS NOT NULL AND a.ort_run <> b.ort_run)
),
cnt AS (
  SELECT i.* FROM inf i LEFT JOIN folded f ON f.sid = i.sid AND f.iid = i.iid WHERE f.iid IS NULL
)".into(),
        // attribution rule 2: helper graphs
        "helpers" => "msize AS (
  SELECT m.sid, m.model,
         coalesce(max(m.mb), max(l.lb),
                  CASE WHEN m.model LIKE 'onnx:%B' THEN TRY_CAST(substr(m.model, 6, length(m.model) - 6) AS DOUBLE) END) AS size,
         max(CASE WHEN m.origin = 'generated' THEN 1 ELSE 0 END) AS generated,
         max(CASE WHEN m.origin IS NOT NULL THEN 1 ELSE 0 END) AS has_origin
  FROM (SELECT sid, model, model_bytes AS mb, model_origin AS origin FROM cnt
        UNION ALL
        SELECT l.sid, l.model, CAST(NULL AS DOUBLE), l.model_origin
        FROM loads l JOIN (SELECT DISTINCT sid, model FROM cnt) c ON c.sid = l.sid AND c.model = l.model) m
  LEFT JOIN (SELECT sid, model, max(bytes) AS lb FROM loads GROUP BY sid, model) l ON l.sid = m.sid AND l.model = m.model
  GROUP BY m.sid, m.model
),
cand AS (
  SELECT sid, model,
         CASE WHEN (CASE WHEN has_origin = 1 THEN generated = 1 ELSE model LIKE 'onnx:%' END)
                   AND size IS NOT NULL AND size <= 16384 THEN 1 ELSE 0 END AS cand
  FROM msize
),
helpers AS (
  SELECT c.sid, c.model FROM cand c
  JOIN (SELECT sid, sum(cand) AS nc, count(*) AS nm FROM cand GROUP BY sid) s ON s.sid = c.sid
  WHERE c.cand = 1 AND s.nc < s.nm
)".into(),
        // the backend of an inference: its own, else the latest `env` of its framework at or
        // before it, else the earliest one, else 'unknown'
        "be" => "envs AS (
  SELECT sid, seq, ts, framework, backend FROM session
  WHERE kind = 'env' AND framework IS NOT NULL AND backend IS NOT NULL
),
env_at AS (
  SELECT sid, iid, backend FROM (
    SELECT c.sid, c.iid, e.backend,
           row_number() OVER (PARTITION BY c.sid, c.iid
                              ORDER BY CASE WHEN e.ts <= c.ts THEN 0 ELSE 1 END,
                                       CASE WHEN e.ts <= c.ts THEN -e.ts ELSE e.ts END,
                                       CASE WHEN e.ts <= c.ts THEN -e.seq ELSE e.seq END) AS k
    FROM cnt c JOIN envs e ON e.sid = c.sid AND e.framework = c.framework
    WHERE c.backend IS NULL) x
  WHERE k = 1
),
cb AS (
  SELECT c.*, coalesce(c.backend, a.backend, 'unknown') AS be
  FROM cnt c LEFT JOIN env_at a ON a.sid = c.sid AND a.iid = c.iid
)".into(),
        // the sha256 of a model's bytes: its model_load's, else the proxy's `net` record of its URL
        "sha" => "sha AS (
  SELECT m.sid, m.model, coalesce(l.sha256, nt.sha256) AS sha256
  FROM (SELECT DISTINCT sid, model FROM cb) m
  LEFT JOIN (SELECT sid, model, sha256 FROM (
               SELECT sid, model, sha256, row_number() OVER (PARTITION BY sid, model ORDER BY ts, seq) AS k
               FROM loads WHERE sha256 IS NOT NULL) x WHERE k = 1) l
    ON l.sid = m.sid AND l.model = m.model
  LEFT JOIN (SELECT sid, regexp_replace(url, '[?#].*$', '') AS bare, min(sha256) AS sha256
             FROM net WHERE kind = 'net' AND url IS NOT NULL AND sha256 IS NOT NULL GROUP BY sid, regexp_replace(url, '[?#].*$', '')) nt
    ON nt.sid = m.sid AND nt.bare = regexp_replace(m.model, '[?#].*$', '')
)".into(),
        "lat" => {
            let pct = pct_ctes(
                "pred",
                "later",
                &["sid", "model", "be"],
                "dur",
                &[("pred_p50_ms", 0.5), ("pred_p90_ms", 0.9), ("pred_p99_ms", 0.99)],
            );
            format!(
                "later AS (SELECT * FROM cb WHERE call > 1),
{pct},
grp AS (
  SELECT sid, model, be,
         count(*) AS infer_n,
         sum(CASE WHEN call > 1 THEN 1 ELSE 0 END) AS pred_n,
         avg(CASE WHEN call > 1 THEN dur END) AS pred_mean_ms,
         stddev_samp(CASE WHEN call > 1 THEN dur END) AS pred_std_ms,
         min(CASE WHEN call > 1 THEN start END) AS first_start,
         max(CASE WHEN call > 1 THEN start + dur END) AS last_end
  FROM cb GROUP BY sid, model, be
),
firsts AS (
  SELECT sid, model, be, framework, dur AS first_dur, call AS first_call FROM (
    SELECT sid, model, be, framework, dur, call, row_number() OVER (PARTITION BY sid, model, be ORDER BY start, ts, seq) AS k FROM cb) x
  WHERE k = 1
),
warm AS (
  SELECT sid, model, be, dur AS warmup_ms FROM (
    SELECT sid, model, be, dur, row_number() OVER (PARTITION BY sid, model, be ORDER BY start, ts, seq) AS k FROM cb WHERE call = 1) x
  WHERE k = 1
),
setup AS (
  SELECT sid, model, dur AS setup_ms FROM (
    SELECT sid, model, dur, row_number() OVER (PARTITION BY sid, model ORDER BY start, ts, seq) AS k FROM loads) x
  WHERE k = 1
),
lat AS (
  SELECT g.sid, f.framework, g.model, g.be AS backend, s.sha256,
         CASE WHEN h.model IS NOT NULL THEN 'helper' ELSE 'model' END AS role,
         su.setup_ms, w.warmup_ms, {infer_n} AS infer_n, {pred_n} AS pred_n,
         p.pred_p50_ms, p.pred_p90_ms, p.pred_p99_ms, g.pred_mean_ms, g.pred_std_ms,
         CASE WHEN g.pred_n > 0 AND g.last_end > g.first_start
              THEN {pred_n} / ((g.last_end - g.first_start) / 1000.0) END AS infer_per_s
  FROM grp g
  JOIN firsts f ON f.sid = g.sid AND f.model = g.model AND f.be = g.be
  LEFT JOIN pred p ON p.sid = g.sid AND p.model = g.model AND p.be = g.be
  LEFT JOIN warm w ON w.sid = g.sid AND w.model = g.model AND w.be = g.be
  LEFT JOIN setup su ON su.sid = g.sid AND su.model = g.model
  LEFT JOIN sha s ON s.sid = g.sid AND s.model = g.model
  LEFT JOIN helpers h ON h.sid = g.sid AND h.model = g.model
)",
                infer_n = dbl("g.infer_n"),
                pred_n = dbl("g.pred_n"),
            )
        }
        // inference windows: every valid infer record, folded or not (as the analyzer's)
        "win" => "win AS (SELECT sid, start AS ws, start + dur AS we FROM inf WHERE dur >= 0)".into(),
        "frames_split" => {
            let med = pct_ctes("fmed", "fint", &["sid"], "d", &[("m", 0.5)]);
            format!(
                "ft AS (SELECT DISTINCT sid, t FROM frames WHERE kind = 'frames' AND t IS NOT NULL),
fint0 AS (
  SELECT sid, t AS a, lead(t) OVER (PARTITION BY sid ORDER BY t) AS b FROM ft
),
fq AS (SELECT sid, a AS qid, a, b FROM fint0 WHERE b IS NOT NULL),
{ins},
fint AS (
  SELECT f.sid, f.a, f.b - f.a AS d, i.inside
  FROM fq f JOIN fin i ON i.sid = f.sid AND i.qid = f.qid
),
{med},
fsplit AS (
  SELECT f.sid,
         avg(CASE WHEN inside = 1 THEN d END) AS mean_in,
         avg(CASE WHEN inside = 0 THEN d END) AS mean_out,
         sum(CASE WHEN inside = 1 THEN 1 ELSE 0 END) AS n_in,
         sum(CASE WHEN inside = 0 THEN 1 ELSE 0 END) AS n_out,
         sum(CASE WHEN inside = 1 AND d > 1.5 * m.m THEN 1 ELSE 0 END) AS drop_in,
         sum(CASE WHEN inside = 0 AND d > 1.5 * m.m THEN 1 ELSE 0 END) AS drop_out
  FROM fint f JOIN fmed m ON m.sid = f.sid GROUP BY f.sid
)",
                ins = inside_ctes("fin", "fq")
            )
        }
        "video" => "video AS (
  SELECT sid, t, presented, row_number() OVER (PARTITION BY sid ORDER BY t) AS j, count(*) OVER (PARTITION BY sid) AS nv FROM (
    SELECT sid, t, presented, row_number() OVER (PARTITION BY sid, t ORDER BY ts, seq, i) AS k
    FROM frames WHERE kind = 'video_frames' AND t IS NOT NULL AND presented IS NOT NULL) x
  WHERE k = 1
)".into(),
        other => unreachable!("no CTE {other}"),
    }
}

fn with(d: D, names: &[&str], extra: &[String]) -> String {
    let mut parts: Vec<String> = names.iter().map(|x| cte(d, x)).collect();
    parts.extend(extra.iter().cloned());
    format!("WITH {}", parts.join(",\n"))
}

/// The key columns of a table's rows, from CTE `keys` aliased `k`.
const KEY_SELECT: &str =
    "k.sid, k.label, k.variant, k.browser, k.browser_version, k.source, k.page";

/// The query of one table in one dialect (without setup statements).
pub fn table_sql(table: &str, dialect: &str) -> Result<String, Error> {
    let d = D::of(dialect)?;
    let body = match table {
        "latency" => format!(
            "{}
SELECT {KEY_SELECT}, l.framework, l.model, l.backend, l.sha256, l.role,
       l.setup_ms, l.warmup_ms, l.infer_n, l.pred_n, l.pred_p50_ms, l.pred_p90_ms, l.pred_p99_ms,
       l.pred_mean_ms, l.pred_std_ms, l.infer_per_s
FROM lat l JOIN keys k ON k.sid = l.sid
ORDER BY k.sid, l.model, l.backend",
            with(d, &["keys", "inf", "loads", "cnt", "helpers", "be", "sha", "lat"], &[])
        ),
        "memory" => {
            let peaks = ["js_heap_used", "wasm_bytes", "tf_bytes", "tf_gpu_bytes", "ua_bytes", "rss"];
            let pk: Vec<String> = peaks.iter().map(|p| format!("max({p}) AS peak_{p}")).collect();
            let pcols: Vec<String> = peaks.iter().map(|p| format!("p.peak_{p}")).collect();
            let growth = |name: &str, cond: &str, val: &str| {
                format!(
                    "{name}_s AS (
  SELECT sid, ts, {val} AS val, row_number() OVER (PARTITION BY sid ORDER BY ts, seq) AS rn
  FROM pm WHERE {cond}
),
{name}_b AS (
  SELECT s.sid, coalesce(max(CASE WHEN s.ts <= t.t0 THEN s.rn END), 1) AS brn
  FROM {name}_s s JOIN t0 t ON t.sid = s.sid GROUP BY s.sid
),
{name} AS (
  SELECT s.sid, max(CASE WHEN s.rn >= b.brn THEN s.val END) - max(CASE WHEN s.rn = b.brn THEN s.val END) AS growth
  FROM {name}_s s JOIN {name}_b b ON b.sid = s.sid GROUP BY s.sid
)"
                )
            };
            let extra = vec![
                format!(
                    "pm AS (SELECT * FROM mem WHERE kind = 'mem'),
peaks AS (SELECT sid, {} FROM pm GROUP BY sid),
mb AS (
  SELECT l.sid, CASE WHEN sum(l.bytes) > 0 THEN sum(l.bytes) END AS model_bytes
  FROM loads l LEFT JOIN helpers h ON h.sid = l.sid AND h.model = l.model
  WHERE h.model IS NULL GROUP BY l.sid
),
t0 AS (
  SELECT s.sid, coalesce(l.t, i.t) AS t0
  FROM (SELECT sid FROM loads UNION SELECT sid FROM inf) s
  LEFT JOIN (SELECT sid, min(start) AS t FROM loads GROUP BY sid) l ON l.sid = s.sid
  LEFT JOIN (SELECT sid, min(start) AS t FROM inf GROUP BY sid) i ON i.sid = s.sid
),
page_c AS (
  SELECT sid, ts, seq, js_heap_used, wasm_bytes, tf_gpu_bytes,
         count(js_heap_used) OVER (PARTITION BY sid ORDER BY ts, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS gj,
         count(wasm_bytes) OVER (PARTITION BY sid ORDER BY ts, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS gw,
         count(tf_gpu_bytes) OVER (PARTITION BY sid ORDER BY ts, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS gg
  FROM pm WHERE js_heap_used IS NOT NULL OR wasm_bytes IS NOT NULL OR tf_gpu_bytes IS NOT NULL
),
page_p AS (
  SELECT sid, ts, seq,
         coalesce(max(js_heap_used) OVER (PARTITION BY sid, gj), 0)
         + coalesce(max(wasm_bytes) OVER (PARTITION BY sid, gw), 0)
         + coalesce(max(tf_gpu_bytes) OVER (PARTITION BY sid, gg), 0) AS pb
  FROM page_c
),
{},
{},
{}",
                    pk.join(", "),
                    growth("g_page", "1 = 1", "pb").replace("FROM pm WHERE 1 = 1", "FROM page_p"),
                    growth("g_renderer", "renderer_rss IS NOT NULL", "renderer_rss"),
                    growth("g_rss", "rss IS NOT NULL", "rss"),
                ),
            ];
            format!(
                "{}
SELECT {KEY_SELECT}, m.model_bytes, {},
       CASE WHEN m.model_bytes > 0 THEN greatest({}) / m.model_bytes END AS mem_overhead_x,
       g.growth AS mem_growth,
       CASE WHEN m.model_bytes > 0 THEN g.growth / m.model_bytes END AS mem_growth_x,
       r.growth AS renderer_rss_growth, b.growth AS browser_rss_growth
FROM keys k
LEFT JOIN peaks p ON p.sid = k.sid
LEFT JOIN mb m ON m.sid = k.sid
LEFT JOIN g_page g ON g.sid = k.sid
LEFT JOIN g_renderer r ON r.sid = k.sid
LEFT JOIN g_rss b ON b.sid = k.sid
ORDER BY k.sid",
                with(d, &["keys", "inf", "loads", "cnt", "helpers"], &extra),
                pcols.join(", "),
                pcols.join(", "),
            )
        }
        "smoothness" => format!(
            "{}
SELECT {KEY_SELECT},
       CASE WHEN f.mean_in > 0 THEN 1000.0 / f.mean_in END AS fps_inside,
       CASE WHEN f.mean_out > 0 THEN 1000.0 / f.mean_out END AS fps_outside,
       CASE WHEN f.n_in > 0 THEN {drop_in} / f.n_in END AS dropped_inside,
       CASE WHEN f.n_out > 0 THEN {drop_out} / f.n_out END AS dropped_outside,
       CASE WHEN k.source = 'native' THEN NULL ELSE {lt} END AS longtasks,
       CASE WHEN k.source = 'native' THEN NULL ELSE coalesce(lt.tbt, 0.0) END AS tbt_ms,
       lf.loaf_blocking_ms,
       CASE WHEN vf.t1 > vf.t0 THEN {vp} / ((vf.t1 - vf.t0) / 1000.0) END AS video_fps
FROM keys k
LEFT JOIN fsplit f ON f.sid = k.sid
LEFT JOIN (SELECT sid, count(*) AS n, sum(CASE WHEN dur > 50 THEN dur - 50 ELSE 0 END) AS tbt
           FROM events WHERE kind = 'longtask' AND start IS NOT NULL AND dur IS NOT NULL GROUP BY sid) lt ON lt.sid = k.sid
LEFT JOIN (SELECT sid, sum(blocking_dur) AS loaf_blocking_ms FROM events
           WHERE kind = 'loaf' AND start IS NOT NULL AND dur IS NOT NULL AND blocking_dur IS NOT NULL GROUP BY sid) lf ON lf.sid = k.sid
LEFT JOIN (SELECT sid, max(CASE WHEN j = 1 THEN t END) AS t0, max(CASE WHEN j = nv THEN t END) AS t1,
                  max(CASE WHEN j = 1 THEN presented END) AS p0, max(CASE WHEN j = nv THEN presented END) AS p1
           FROM video GROUP BY sid) vf ON vf.sid = k.sid
ORDER BY k.sid",
            with(d, &["keys", "inf", "win", "frames_split", "video"], &[]),
            drop_in = dbl("f.drop_in"),
            drop_out = dbl("f.drop_out"),
            lt = dbl("coalesce(lt.n, 0)"),
            vp = dbl("vf.p1 - vf.p0"),
        ),
        "responsiveness" => {
            let extra = vec![
                "pq AS (
  SELECT sid, CAST(row_number() OVER (PARTITION BY sid ORDER BY start, ts, seq) AS DOUBLE) AS qid,
         start AS a, start + delay AS b, delay
  FROM events WHERE kind = 'probe' AND start IS NOT NULL AND delay IS NOT NULL
),
{pin},
probes AS (SELECT p.sid, p.delay, i.inside FROM pq p JOIN pin i ON i.sid = p.sid AND i.qid = p.qid),
p_in AS (SELECT sid, delay FROM probes WHERE inside = 1),
p_out AS (SELECT sid, delay FROM probes WHERE inside = 0),
inputs AS (
  SELECT sid, start, dur, processing_start, interaction_id, processing_start - start AS idelay FROM events
  WHERE kind = 'input' AND start IS NOT NULL AND dur IS NOT NULL AND processing_start IS NOT NULL AND processing_end IS NOT NULL
),
inter AS (SELECT sid, interaction_id, max(dur) AS dur FROM inputs WHERE interaction_id > 0 GROUP BY sid, interaction_id)"
                    .replace("{pin}", &inside_ctes("pin", "pq")),
                pct_ctes("q_in", "p_in", &["sid"], "delay", &[("p50", 0.5), ("p95", 0.95)]),
                pct_ctes("q_out", "p_out", &["sid"], "delay", &[("p50", 0.5), ("p95", 0.95)]),
                pct_ctes("q_inp", "inputs", &["sid"], "idelay", &[("p95", 0.95)]),
                pct_ctes("q_int", "inter", &["sid"], "dur", &[("p98", 0.98)]),
            ];
            format!(
                "{}
SELECT {KEY_SELECT},
       a.p50 AS probe_p50_inside_ms, a.p95 AS probe_p95_inside_ms,
       b.p50 AS probe_p50_outside_ms, b.p95 AS probe_p95_outside_ms,
       c.p95 AS input_delay_p95_ms, e.p98 AS interaction_p98_ms
FROM keys k
LEFT JOIN q_in a ON a.sid = k.sid
LEFT JOIN q_out b ON b.sid = k.sid
LEFT JOIN q_inp c ON c.sid = k.sid
LEFT JOIN q_int e ON e.sid = k.sid
ORDER BY k.sid",
                with(d, &["keys", "inf", "win"], &extra)
            )
        }
        "rendering" => format!(
            "{}
SELECT {KEY_SELECT}, fc.fcp_ms, lc.lcp_ms,
       CASE WHEN f.mean_in IS NOT NULL AND f.mean_out > 0 THEN (f.mean_in - f.mean_out) / f.mean_out END AS frame_time_increase
FROM keys k
LEFT JOIN fsplit f ON f.sid = k.sid
LEFT JOIN (SELECT sid, min(start) AS fcp_ms FROM events
           WHERE kind = 'paint' AND name = 'first-contentful-paint' AND start IS NOT NULL GROUP BY sid) fc ON fc.sid = k.sid
LEFT JOIN (SELECT sid, start AS lcp_ms FROM (
             SELECT sid, start, row_number() OVER (PARTITION BY sid ORDER BY ts DESC, start DESC) AS r
             FROM events WHERE kind = 'paint' AND name = 'largest-contentful-paint' AND start IS NOT NULL) x
           WHERE r = 1) lc ON lc.sid = k.sid
ORDER BY k.sid",
            with(d, &["keys", "inf", "win", "frames_split"], &[])
        ),
        "qoe" => {
            let extra = vec![
                "vs AS (SELECT DISTINCT sid FROM video WHERE nv >= 2),
rows_ AS (SELECT DISTINCT c.sid, c.model, c.be FROM cb c JOIN vs v ON v.sid = c.sid),
gv AS (
  SELECT r.sid, r.model, r.be, v.j, v.t, v.presented FROM rows_ r JOIN video v ON v.sid = r.sid
),
-- sweeps over time instead of range joins: frame j is covered when an inference of the row
-- starts in [t_j, t_j+1), i.e. the count of starts before t_j+1 exceeds the count before t_j
sweep_c AS (
  SELECT sid, model, be, j,
         sum(typ) OVER (PARTITION BY sid, model, be ORDER BY tm, typ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c
  FROM (SELECT sid, model, be, j, t AS tm, 0 AS typ FROM gv
        UNION ALL
        SELECT c.sid, c.model, c.be, CAST(NULL AS BIGINT), c.start, 1 FROM cb c JOIN rows_ r
          ON r.sid = c.sid AND r.model = c.model AND r.be = c.be) e
),
covered AS (
  SELECT sid, model, be, sum(CASE WHEN nc > c THEN 1 ELSE 0 END) AS n FROM (
    SELECT sid, model, be, j, c, lead(c) OVER (PARTITION BY sid, model, be ORDER BY j) AS nc
    FROM sweep_c WHERE j IS NOT NULL) x
  GROUP BY sid, model, be
),
span AS (
  SELECT sid, max(nv) AS nv, max(CASE WHEN j = nv THEN presented END) - max(CASE WHEN j = 1 THEN presented END) AS sp
  FROM video GROUP BY sid
),
-- the newest inference by frame j: the last by (end, start) with end <= t_j; its start is
-- carried forward to the frame rows of its group
sweep_n AS (
  SELECT sid, model, be, j, presented, s,
         sum(CASE WHEN j IS NULL THEN 1 ELSE 0 END)
           OVER (PARTITION BY sid, model, be ORDER BY tm, typ, s ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS g
  FROM (SELECT sid, model, be, j, presented, t AS tm, 1 AS typ, CAST(NULL AS DOUBLE) AS s FROM gv
        UNION ALL
        SELECT c.sid, c.model, c.be, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), c.start + c.dur, 0, c.start
        FROM cb c JOIN rows_ r ON r.sid = c.sid AND r.model = c.model AND r.be = c.be) e
),
newest AS (
  SELECT sid, model, be, j, presented, ns FROM (
    SELECT sid, model, be, j, presented, g, max(s) OVER (PARTITION BY sid, model, be, g) AS ns FROM sweep_n) x
  WHERE j IS NOT NULL AND g > 0
),
-- its source frame: the last frame with t <= that start
sweep_s AS (
  SELECT sid, model, be, j, presented, q,
         sum(CASE WHEN q = 0 THEN 1 ELSE 0 END)
           OVER (PARTITION BY sid, model, be ORDER BY tm, q ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS g
  FROM (SELECT sid, model, be, j, presented, t AS tm, 0 AS q FROM gv
        UNION ALL
        SELECT sid, model, be, j, presented, ns, 1 FROM newest) e
),
ages AS (
  SELECT sid, model, be, presented - src AS age FROM (
    SELECT sid, model, be, q, g, presented,
           max(CASE WHEN q = 0 THEN presented END) OVER (PARTITION BY sid, model, be, g) AS src
    FROM sweep_s) x
  WHERE q = 1 AND g > 0
)"
                .to_owned(),
                pct_ctes("age95", "ages", &["sid", "model", "be"], "age", &[("p95", 0.95)]),
            ];
            format!(
                "{}
SELECT {KEY_SELECT}, r.model, r.be AS backend,
       {cov} / CASE WHEN s.sp >= s.nv - 1 THEN {sp} ELSE {nv1} END AS qoe_coverage,
       am.age_mean AS qoe_age_mean, a.p95 AS qoe_age_p95
FROM rows_ r
JOIN keys k ON k.sid = r.sid
JOIN span s ON s.sid = r.sid
LEFT JOIN covered c ON c.sid = r.sid AND c.model = r.model AND c.be = r.be
LEFT JOIN (SELECT sid, model, be, avg({age}) AS age_mean FROM ages GROUP BY sid, model, be) am
  ON am.sid = r.sid AND am.model = r.model AND am.be = r.be
LEFT JOIN age95 a ON a.sid = r.sid AND a.model = r.model AND a.be = r.be
ORDER BY k.sid, r.model, r.be",
                with(d, &["keys", "inf", "loads", "cnt", "be", "video"], &extra),
                cov = dbl("coalesce(c.n, 0)"),
                sp = dbl("s.sp"),
                nv1 = dbl("s.nv - 1"),
                age = dbl("age"),
            )
        }
        "generation" => {
            let extra = vec![
                "gens AS (
  SELECT sid, model, framework, start, dur, call, output_tokens, ttft, tpot_p50 FROM calls
  WHERE kind = 'gen' AND framework IS NOT NULL AND model IS NOT NULL AND start IS NOT NULL AND dur IS NOT NULL AND call IS NOT NULL
),
gl AS (
  SELECT g.* FROM gens g
  JOIN (SELECT sid, model, sum(CASE WHEN call > 1 THEN 1 ELSE 0 END) AS nl FROM gens GROUP BY sid, model) c
    ON c.sid = g.sid AND c.model = g.model
  WHERE g.call > 1 OR c.nl = 0
)"
                .to_owned(),
                pct_ctes("ttft", "gl", &["sid", "model"], "ttft", &[("p50", 0.5)]),
                pct_ctes("tpot", "gl", &["sid", "model"], "tpot_p50", &[("p50", 0.5)]),
            ];
            format!(
                "{}
SELECT {KEY_SELECT}, g.model, g.gen_n,
       CASE WHEN l.ms > 0 AND l.tokens > 0 THEN {tokens} * 1000.0 / l.ms END AS gen_tokens_per_s,
       t.p50 AS gen_ttft_p50_ms, p.p50 AS gen_tpot_p50_ms, l.out_mean AS gen_output_tokens
FROM (SELECT sid, model, {n} AS gen_n FROM gens GROUP BY sid, model) g
JOIN keys k ON k.sid = g.sid
LEFT JOIN (SELECT sid, model, sum(output_tokens) AS tokens,
                  sum(CASE WHEN output_tokens IS NOT NULL THEN dur END) AS ms,
                  avg({out}) AS out_mean
           FROM gl GROUP BY sid, model) l ON l.sid = g.sid AND l.model = g.model
LEFT JOIN ttft t ON t.sid = g.sid AND t.model = g.model
LEFT JOIN tpot p ON p.sid = g.sid AND p.model = g.model
ORDER BY k.sid, g.model",
                with(d, &["keys"], &extra),
                tokens = dbl("l.tokens"),
                n = dbl("count(*)"),
                out = dbl("output_tokens"),
            )
        }
        "slowdown" => {
            let extra = vec![
                format!(
                    "rows_ AS (
  SELECT l.*, k.source,
         regexp_replace(regexp_replace(l.model, '[?#].*$', ''), '^.*{cls}', '') AS base
  FROM lat l JOIN keys k ON k.sid = l.sid
),
natives AS (SELECT sha256, model, base, pred_p50_ms FROM rows_ WHERE source = 'native' AND pred_p50_ms IS NOT NULL),
browsers AS (SELECT * FROM rows_ WHERE source <> 'native' AND model <> ''),
-- each browser row's native matches, at the best level it has: 1 sha256, 2 model id, 3 file name
pairs AS (
  SELECT b.sid, b.model, b.backend, n.pred_p50_ms AS v,
         CASE WHEN b.sha256 IS NOT NULL AND b.sha256 <> '' AND n.sha256 = b.sha256 THEN 1
              WHEN n.model = b.model THEN 2 ELSE 3 END AS lvl
  FROM browsers b JOIN natives n
    ON (b.sha256 IS NOT NULL AND b.sha256 <> '' AND n.sha256 = b.sha256) OR n.model = b.model OR n.base = b.base
),
matched AS (
  SELECT sid, model, backend, v FROM (
    SELECT sid, model, backend, v, lvl, min(lvl) OVER (PARTITION BY sid, model, backend) AS best FROM pairs) x
  WHERE lvl = best
)",
                    cls = d.slash_class()
                ),
                pct_ctes("nat", "matched", &["sid", "model", "backend"], "v", &[("p50", 0.5)]),
            ];
            format!(
                "{}
SELECT {KEY_SELECT}, b.model, b.backend, n.p50 AS native_p50_ms,
       CASE WHEN n.p50 > 0 THEN b.pred_p50_ms / n.p50 END AS slowdown_x
FROM browsers b
JOIN keys k ON k.sid = b.sid
JOIN nat n ON n.sid = b.sid AND n.model = b.model AND n.backend = b.backend
ORDER BY k.sid, b.model, b.backend",
                with(d, &["keys", "inf", "loads", "cnt", "helpers", "be", "sha", "lat"], &extra)
            )
        }
        other => {
            return Err(Error::Usage(format!(
                "unknown SQL table `{other}` (known: {})",
                TABLES.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let what = TABLES
        .iter()
        .find(|t| t.0 == table)
        .map(|t| t.1)
        .unwrap_or("");
    Ok(format!(
        "-- webinfer table `{table}` ({dialect}): one row per {what}.\n\
         -- Over the tables of `webinfer export parquet` (setup: `webinfer analyze --print-sql --sql-source DIR`).\n\
         -- Percentiles are exact (R type 7, by rank, as webinfer's); values match `webinfer analyze`'s\n\
         -- metrics.csv up to floating-point summation order (relative 1e-9).\n{body};\n"
    ))
}

/// The setup statements of a dialect for an export in `dir` partitioned by
/// `partition_by`: one view (or external table) per exported table.
pub fn setup_sql(dialect: &str, dir: &str, partition_by: &[String]) -> Result<String, Error> {
    let d = D::of(dialect)?;
    let dir = dir.trim_end_matches('/');
    let q = |s: &str| s.replace('\'', "''");
    let mut out = format!(
        "-- webinfer export tables ({dialect}) over {dir} (partitioned by {}).\n",
        if partition_by.is_empty() {
            "nothing".to_owned()
        } else {
            partition_by.join(", ")
        }
    );
    if d.name == "spark" {
        out.push_str("SET spark.sql.sources.partitionColumnTypeInference.enabled = false;\n");
    }
    for t in SOURCES {
        let path = q(&format!("{dir}/{t}"));
        out.push_str(&match d.name {
            "duckdb" => format!(
                "CREATE OR REPLACE VIEW {t} AS SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false, union_by_name = true);\n"
            ),
            "spark" => format!(
                "CREATE OR REPLACE TEMPORARY VIEW {t} USING parquet OPTIONS (path '{path}');\n"
            ),
            _ => {
                let part = if partition_by.is_empty() {
                    String::new()
                } else {
                    format!(" PARTITIONED BY ({})", partition_by.join(", "))
                };
                format!("CREATE EXTERNAL TABLE {t} STORED AS PARQUET{part} LOCATION '{path}/';\n")
            }
        });
    }
    Ok(out)
}
