#!/usr/bin/env python3
"""Runs webinfer's core aggregation (the SQL printed by
`webinfer analyze --print-sql --sql-table core`) with DuckDB over JSON Lines traces, for a
side-by-side comparison with `webinfer analyze` in scripts/bench-analyze.sh.

Usage: bench_analyze_duckdb.py TRACE_DIR SQL_FILE [THREADS]
Prints one line: "duckdb rows=<result rows> seconds=<wall time>".
"""
import sys
import time

import duckdb

COLUMNS = {
    "v": "BIGINT", "sid": "VARCHAR", "seq": "BIGINT", "ts": "DOUBLE", "kind": "VARCHAR", "by": "VARCHAR",
    "source": "VARCHAR", "label": "VARCHAR", "variant": "VARCHAR",
    "browser": "STRUCT(name VARCHAR, version VARCHAR, flags VARCHAR[])",
    "framework": "VARCHAR", "model": "VARCHAR", "backend": "VARCHAR",
    "start": "DOUBLE", "dur": "DOUBLE", "call": "BIGINT", "bytes": "DOUBLE",
}


def main() -> None:
    trace_dir, sql_file = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else None
    sql = open(sql_file, encoding="utf-8").read()
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
    con.execute(
        f"CREATE VIEW records AS SELECT * FROM read_ndjson('{trace_dir}/**/*.jsonl', "
        f"columns = {{{cols}}}, ignore_errors = true, format = 'newline_delimited')"
    )
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    secs = time.perf_counter() - t0
    print(f"duckdb rows={len(rows)} seconds={secs:.3f}")


if __name__ == "__main__":
    main()
