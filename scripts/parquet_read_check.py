#!/usr/bin/env python3
"""Reads every table of a `webinfer export parquet` folder as it is with pyarrow,
polars, DuckDB and DataFusion (hive partitions included) and checks the row
counts and the partition columns.

Usage: parquet_read_check.py EXPORT_DIR ROWS_JSON
  ROWS_JSON: {"table": rows, ...} as the export reported them (tables missing: 0)
Exits 1 on any difference.
"""

import json
import os
import sys


def main():
    root, want = sys.argv[1], json.loads(sys.argv[2])
    manifest = json.load(open(os.path.join(root, "_webinfer_export.json"), encoding="utf-8"))
    keys = manifest["partition_by"]
    import datafusion
    import duckdb
    import polars as pl
    import pyarrow.parquet as pq

    bad = []
    for table in manifest["tables"]:
        path = os.path.join(root, table)
        n = want.get(table, 0)
        got = {}
        t = pq.read_table(path)
        got["pyarrow"] = t.num_rows
        cols = {"pyarrow": set(t.column_names)}
        df = pl.scan_parquet(os.path.join(path, "**", "*.parquet"), hive_partitioning=True).collect()
        got["polars"] = df.height
        cols["polars"] = set(df.columns)
        r = duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true, "
                       "hive_types_autocast = false, union_by_name = true)")
        got["duckdb"] = len(r.fetchall())
        cols["duckdb"] = set(r.columns)
        ctx = datafusion.SessionContext()
        part = f" PARTITIONED BY ({', '.join(keys)})" if keys else ""
        ctx.sql(f"CREATE EXTERNAL TABLE t STORED AS PARQUET{part} LOCATION '{path}/'").collect()
        at = ctx.sql("SELECT * FROM t").to_arrow_table()
        got["datafusion"] = at.num_rows
        cols["datafusion"] = set(at.column_names)
        for engine, rows in got.items():
            if rows != n:
                bad.append(f"{table}: {engine} reads {rows} rows, the export wrote {n}")
            missing = [c for c in keys + ["sid", "kind", "extra"] if c not in cols[engine]]
            if missing and n > 0:
                bad.append(f"{table}: {engine} has no column {missing}")
        print(f"{table}: {n} rows read by " + ", ".join(got))
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
