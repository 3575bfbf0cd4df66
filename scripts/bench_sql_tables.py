#!/usr/bin/env python3
"""Runs the setup and every metric table of `webinfer analyze --sql-dir` in
DuckDB or DataFusion, for scripts/bench-analyze.sh.

Usage: bench_sql_tables.py ENGINE SQL_DIR [THREADS]
Prints one line: "<engine> tables=<n> rows=<result rows> seconds=<wall time of the queries>".
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sql_check import TABLES  # noqa: E402


def main():
    engine, sql_dir = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else None
    setup = open(os.path.join(sql_dir, "setup.sql"), encoding="utf-8").read()
    setup = "\n".join(l for l in setup.splitlines() if not l.startswith("--"))
    stmts = [s.strip().rstrip(";") for s in setup.split(";\n") if s.strip()]
    queries = [open(os.path.join(sql_dir, f"{t}.sql"), encoding="utf-8").read().strip().rstrip(";") for t in TABLES]
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads = {threads}")
        for s in stmts:
            con.execute(s)
        run = lambda q: len(con.execute(q).fetchall())  # noqa: E731
    else:
        import datafusion
        cfg = datafusion.SessionConfig()
        if threads:
            cfg = cfg.with_target_partitions(threads)
        ctx = datafusion.SessionContext(cfg)
        for s in stmts:
            ctx.sql(s).collect()
        run = lambda q: ctx.sql(q).to_arrow_table().num_rows  # noqa: E731
    t0 = time.perf_counter()
    rows = sum(run(q) for q in queries)
    secs = time.perf_counter() - t0
    print(f"{engine} tables={len(queries)} rows={rows} seconds={secs:.3f}")


if __name__ == "__main__":
    main()
