#!/usr/bin/env python3
"""Runs webinfer's tables with DuckDB over JSON Lines traces, for a side-by-side
comparison with `webinfer analyze` in scripts/bench-analyze.sh.

Usage: bench_analyze_duckdb.py TRACE_DIR SQL [THREADS]

- SQL a file: the core aggregation (`webinfer analyze --print-sql --sql-table
  core`) over a `records` view of the JSONL.
- SQL a folder (`webinfer analyze --sql-dir DIR --sql-dialect duckdb`): every
  metric table of the report, over the same JSONL. The JSONL is parsed once
  into a table holding every column of format/parquet-export.md (the
  export's schema, read from that file), and the export's six tables
  (session, calls, mem, frames, events, net) are views over it with the
  session attributes joined in, so the tables' SQL runs unchanged; its
  setup.sql (which reads Parquet) is not used. The attributes are resolved
  more simply than `webinfer analyze` does (no user-agent parsing, page =
  the session URL without query and fragment), which spares DuckDB work.

Prints one line: "duckdb rows=<result rows> seconds=<wall time>" (for a
folder also tables=<n>); the time includes reading the JSONL.
"""
import os
import re
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT_DOC = os.path.join(HERE, "..", "format", "parquet-export.md")

COLUMNS = {
    "v": "BIGINT", "sid": "VARCHAR", "seq": "BIGINT", "ts": "DOUBLE", "kind": "VARCHAR", "by": "VARCHAR",
    "source": "VARCHAR", "label": "VARCHAR", "variant": "VARCHAR",
    "browser": "STRUCT(name VARCHAR, version VARCHAR, flags VARCHAR[])",
    "framework": "VARCHAR", "model": "VARCHAR", "backend": "VARCHAR",
    "start": "DOUBLE", "dur": "DOUBLE", "call": "BIGINT", "bytes": "DOUBLE",
}
SQL_TYPE = {"string": "VARCHAR", "double": "DOUBLE", "int64": "BIGINT", "boolean": "BOOLEAN",
            "string (JSON)": "JSON"}
ATTRS = ["label", "variant", "browser", "day", "browser_version", "source", "page"]
HEADER = ["v", "sid", "seq", "ts", "kind", "by"]


def export_tables():
    """{table: (kinds, [(column, type, record field)])} from format/parquet-export.md."""
    doc = open(EXPORT_DOC, encoding="utf-8").read()
    out = {}
    for m in re.finditer(r"^### `(\w+)`\n(.*?)(?=^### |\Z)", doc, re.S | re.M):
        name, body = m.group(1), m.group(2)
        kinds_line = re.search(r"^Kinds: (.*?)\.", body, re.M)
        kinds = re.findall(r"`(\w+)`", kinds_line.group(1)) if kinds_line else []
        cols = re.findall(r"^\| `(\w+)` \| ([a-z0-9 ()A-Z]+?) \| `(\w+)` \|", body, re.M)
        out[name] = (kinds, cols)
    return out


def read_columns(tables):
    """The JSON fields to read, with their DuckDB types (frames' `t`/`presented` are arrays)."""
    cols = {"v": "BIGINT", "sid": "VARCHAR", "seq": "BIGINT", "ts": "DOUBLE", "kind": "VARCHAR",
            "by": "VARCHAR"}
    for name, (_, tcols) in tables.items():
        for col, ty, field in tcols:
            if name == "frames" and field in ("t", "presented"):
                cols[field] = "DOUBLE[]" if field == "t" else "BIGINT[]"
            elif name == "frames" and field == "i":
                continue
            else:
                t = SQL_TYPE[ty]
                if cols.setdefault(field, t) != t:
                    raise SystemExit(f"field {field} has two types in {EXPORT_DOC}")
    return cols


def all_tables(con, trace_dir, sql_dir):
    tables = export_tables()
    cols = read_columns(tables)
    spec = ", ".join(f"'{k}': '{v}'" for k, v in cols.items())
    con.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_ndjson('{trace_dir}/**/*.jsonl', "
        f"columns = {{{spec}}}, ignore_errors = true, format = 'newline_delimited')"
    )
    session_kinds = ", ".join(f"'{k}'" for k in tables["session"][0])
    con.execute(f"""
        CREATE TABLE attrs AS
        SELECT sid,
          coalesce(max(label), max(regexp_replace(url, '[?#].*$', '')), '') AS label,
          coalesce(max(variant), '') AS variant,
          coalesce(max(json_extract_string(browser, '$.name')), max('native-' || engine), '') AS browser,
          coalesce(strftime(make_timestamp(CAST(min(time_origin) * 1000 AS BIGINT)), '%Y-%m-%d'), '') AS day,
          coalesce(max(json_extract_string(browser, '$.version')), max(engine_version), '') AS browser_version,
          coalesce(max(source), '') AS source,
          coalesce(max(regexp_replace(url, '[?#].*$', '')), '') AS page
        FROM raw WHERE kind IN ({session_kinds}) GROUP BY sid""")
    attr_sel = ", ".join(f"coalesce(a.{k}, '') AS {k}" for k in ATTRS)
    head = ", ".join(f"r.{c}" for c in HEADER)
    for name, (kinds, tcols) in tables.items():
        if name == "other":
            continue
        kind_list = ", ".join(f"'{k}'" for k in kinds)
        sel = []
        for col, ty, field in tcols:
            if name == "frames" and field in ("i", "t", "presented"):
                sel.append({"i": "CAST(u.i - 1 AS BIGINT) AS i", "t": "r.t[u.i] AS t",
                            "presented": "r.presented[u.i] AS presented"}[field])
            elif SQL_TYPE[ty] == "JSON":
                sel.append(f"CAST(r.{field} AS VARCHAR) AS {col}")
            else:
                sel.append(f"r.{field} AS {col}")
        src = "raw r"
        if name == "frames":
            src = ("raw r LEFT JOIN LATERAL (SELECT unnest(generate_series(1, len(r.t))) AS i) u "
                   "ON true")
        con.execute(
            f"CREATE VIEW {name} AS SELECT {head}, {attr_sel}, {', '.join(sel)}, "
            f"CAST(NULL AS VARCHAR) AS extra FROM {src} LEFT JOIN attrs a ON a.sid = r.sid "
            f"WHERE r.kind IN ({kind_list})"
        )
    names = sorted(f[:-4] for f in os.listdir(sql_dir) if f.endswith(".sql") and f != "setup.sql")
    rows = 0
    for t in names:
        q = open(os.path.join(sql_dir, f"{t}.sql"), encoding="utf-8").read().strip().rstrip(";")
        rows += len(con.execute(q).fetchall())
    return len(names), rows


def main() -> None:
    trace_dir, sql = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else None
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    t0 = time.perf_counter()
    if os.path.isdir(sql):
        n, rows = all_tables(con, trace_dir, sql)
        secs = time.perf_counter() - t0
        print(f"duckdb tables={n} rows={rows} seconds={secs:.3f}")
        return
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
    con.execute(
        f"CREATE VIEW records AS SELECT * FROM read_ndjson('{trace_dir}/**/*.jsonl', "
        f"columns = {{{cols}}}, ignore_errors = true, format = 'newline_delimited')"
    )
    t0 = time.perf_counter()
    rows = con.execute(open(sql, encoding="utf-8").read()).fetchall()
    secs = time.perf_counter() - t0
    print(f"duckdb rows={len(rows)} seconds={secs:.3f}")


if __name__ == "__main__":
    main()
