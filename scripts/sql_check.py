#!/usr/bin/env python3
"""Runs every table of `webinfer analyze --sql-dir` on a real engine over a
`webinfer export parquet` folder and compares each value with
`webinfer analyze`'s metrics.csv of the same traces.

Usage: sql_check.py ENGINE SQL_DIR METRICS_CSV
  ENGINE: duckdb | datafusion | spark (PySpark local mode)
  SQL_DIR: the folder `webinfer analyze --sql-dir DIR --sql-dialect ENGINE --sql-source EXPORT` wrote

Prints one line per table (rows and values compared, largest relative
difference) and exits 1 if any value, key or row differs. Values match when
|a - b| <= 1e-9 * max(1, |a|, |b|) (the SQL sums in another order than the
analyzer); strings and the sets of rows must be equal.
"""

import csv
import math
import os
import sys
import time

TOL = 1e-9

# table -> (row key columns, metric columns, extra key columns compared as strings)
SESSION_KEYS = ["label", "variant", "browser", "browser_version", "source", "page"]
TABLES = {
    "latency": (["sid", "model", "backend"],
                ["setup_ms", "warmup_ms", "infer_n", "pred_n", "pred_p50_ms", "pred_p90_ms",
                 "pred_p99_ms", "pred_mean_ms", "pred_std_ms", "infer_per_s"],
                SESSION_KEYS + ["framework", "sha256", "role"]),
    "qoe": (["sid", "model", "backend"], ["qoe_coverage", "qoe_age_mean", "qoe_age_p95"], SESSION_KEYS),
    "slowdown": (["sid", "model", "backend"], ["native_p50_ms", "slowdown_x"], SESSION_KEYS),
    "generation": (["sid", "model"],
                   ["gen_n", "gen_tokens_per_s", "gen_ttft_p50_ms", "gen_tpot_p50_ms", "gen_output_tokens"],
                   SESSION_KEYS),
    "memory": (["sid"],
               ["model_bytes", "peak_js_heap_used", "peak_wasm_bytes", "peak_tf_bytes",
                "peak_tf_gpu_bytes", "peak_ua_bytes", "peak_rss", "mem_overhead_x", "mem_growth",
                "mem_growth_x", "renderer_rss_growth", "browser_rss_growth"], SESSION_KEYS),
    "smoothness": (["sid"],
                   ["fps_inside", "fps_outside", "dropped_inside", "dropped_outside", "longtasks",
                    "tbt_ms", "loaf_blocking_ms", "video_fps"], SESSION_KEYS),
    "responsiveness": (["sid"],
                       ["probe_p50_inside_ms", "probe_p95_inside_ms", "probe_p50_outside_ms",
                        "probe_p95_outside_ms", "input_delay_p95_ms", "interaction_p98_ms"], SESSION_KEYS),
    "rendering": (["sid"], ["fcp_ms", "lcp_ms", "frame_time_increase"], SESSION_KEYS),
}
# which metrics.csv rows a model table's SQL rows stand for: those with this column set
PRESENT = {"latency": "infer_n", "qoe": "qoe_coverage", "slowdown": "native_p50_ms", "generation": "gen_n"}


def num(v):
    if v is None or v == "":
        return None
    x = float(v)
    return None if math.isnan(x) else x


def text(v):
    return "" if v is None else str(v)


def run_engine(engine, sql_dir):
    setup = open(os.path.join(sql_dir, "setup.sql"), encoding="utf-8").read()
    setup = "\n".join(l for l in setup.splitlines() if not l.startswith("--"))
    stmts = [s.strip().rstrip(";") for s in setup.split(";\n") if s.strip()]
    queries = {t: open(os.path.join(sql_dir, f"{t}.sql"), encoding="utf-8").read().strip().rstrip(";")
               for t in TABLES}
    out = {}
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        for s in stmts:
            con.execute(s)
        for t, q in queries.items():
            cur = con.execute(q)
            cols = [c[0] for c in cur.description]
            out[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
    elif engine == "datafusion":
        import datafusion
        ctx = datafusion.SessionContext()
        for s in stmts:
            ctx.sql(s).collect()
        for t, q in queries.items():
            out[t] = ctx.sql(q).to_arrow_table().to_pylist()
    elif engine == "spark":
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[2]").appName("webinfer-sql-check")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
                 .config("spark.sql.shuffle.partitions", "4").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        for s in stmts:
            spark.sql(s)
        for t, q in queries.items():
            t0 = time.time()
            out[t] = [r.asDict() for r in spark.sql(q).collect()]
            print(f"spark {t}: {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
        spark.stop()
    else:
        sys.exit(f"unknown engine {engine}")
    return out


def main():
    engine, sql_dir, metrics_csv = sys.argv[1:4]
    with open(metrics_csv, newline="", encoding="utf-8") as f:
        csv_rows = list(csv.DictReader(f))
    got = run_engine(engine, sql_dir)
    failures = []

    def close(a, b):
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))

    def rel(a, b):
        if a is None or b is None:
            return 0.0
        return abs(a - b) / max(1.0, abs(a), abs(b))

    by_sid = {}
    for r in csv_rows:
        by_sid.setdefault(r["sid"], []).append(r)

    # helper graphs: the SQL keeps their rows (role = 'helper'), metrics.csv lists them apart
    helpers = {(text(r["sid"]), text(r["model"])) for r in got["latency"] if r["role"] == "helper"}
    for table, (key, metrics, strs) in TABLES.items():
        sql_rows = [r for r in got[table]
                    if "model" not in r or (text(r["sid"]), text(r["model"])) not in helpers]
        worst, nvals = 0.0, 0
        if table in PRESENT:
            want = {tuple(r[k] for k in key): r for r in csv_rows if r[PRESENT[table]] != ""}
        else:
            # a session's values repeat on its model rows; helper rows and the memory
            # ratios of sessions with several models are the exceptions
            want = {}
            for sid, rs in by_sid.items():
                main_rows = [r for r in rs if r["role"] != "helper"] or rs
                want[(sid,)] = main_rows[0]
        have = {}
        for r in sql_rows:
            k = tuple(text(r[c]) for c in key)
            if k in have:
                failures.append(f"{table}: row {k} twice")
            have[k] = r
        if table in PRESENT:
            present = {k for k, r in have.items() if r[PRESENT[table]] is not None}
            if set(want) != present:
                failures.append(f"{table}: rows differ: only analyze {sorted(set(want) - present)[:5]}, "
                                f"only SQL {sorted(present - set(want))[:5]}")
        else:
            extra = set(have) - set(want)
            if extra:
                failures.append(f"{table}: sessions analyze does not have: {sorted(extra)[:5]}")
        for k, w in want.items():
            h = have.get(k)
            if h is None:
                if any(w[m] != "" for m in metrics):
                    failures.append(f"{table} {k}: no SQL row, analyze has values")
                continue
            for c in strs:
                if text(h.get(c)) != w[c]:
                    failures.append(f"{table} {k} {c}: SQL {h.get(c)!r} analyze {w[c]!r}")
            for m in metrics:
                a, b = num(w[m]), num(h.get(m))
                if table == "memory" and m in ("mem_overhead_x", "mem_growth_x") and a is None:
                    models = {r["model"] for r in by_sid[k[0]] if r["role"] == "model"}
                    if len(models) > 1:
                        continue  # per page: the analyzer leaves them off model rows
                nvals += a is not None
                if not close(a, b):
                    failures.append(f"{table} {k} {m}: SQL {b!r} analyze {a!r}")
                worst = max(worst, rel(a, b))
        print(f"{engine} {table}: {len(want)} rows, {nvals} values compared, max relative difference {worst:.2e}")
    if failures:
        print(f"{engine}: {len(failures)} differences:", file=sys.stderr)
        for f in failures[:40]:
            print("  " + f, file=sys.stderr)
        sys.exit(1)
    print(f"{engine}: every table matches webinfer analyze")


if __name__ == "__main__":
    main()
