#!/usr/bin/env bash
# Spark SQL check of the metric tables: exports the sample traces and the seeded
# all-families fixture (scripts/sql_fixture.py) to Parquet, runs every query of
# `webinfer analyze --sql-dir --sql-dialect spark` in PySpark local mode and compares
# each value with `webinfer analyze`'s metrics.csv (scripts/sql_check.py).
# Needs Java 17 and `pip install pyspark` (installed here when missing). Not part of
# scripts/test.sh: Spark takes minutes where DuckDB and DataFusion take seconds.
#
# Usage: scripts/spark-check.sh            (BIN=path/to/webinfer to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v java >/dev/null || { echo "spark-check: java not found (Spark needs Java 17)" >&2; exit 1; }
python3 -c 'import pyspark' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pyspark
if [ -z "${BIN:-}" ]; then
  cargo build --quiet -p webinfer
  BIN="${CARGO_TARGET_DIR:-target}/debug/webinfer"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 scripts/sql_fixture.py "$TMP/fixture"
status=0
for set in samples fixture; do
  if [ "$set" = samples ]; then in=traces/samples; keys=label,variant; else in="$TMP/fixture"; keys=label,variant,browser,day; fi
  "$BIN" analyze "$in" --out "$TMP/$set-report" --format csv >/dev/null 2>&1
  "$BIN" export parquet "$in" --out "$TMP/$set-pq" --partition-by "$keys" 2>/dev/null
  "$BIN" analyze --sql-dir "$TMP/$set-sql" --sql-dialect spark --sql-source "$TMP/$set-pq" 2>/dev/null
  echo "== $set (partitioned by $keys)"
  start=$(date +%s)
  python3 scripts/sql_check.py spark "$TMP/$set-sql" "$TMP/$set-report/metrics.csv" 2> >(grep -v 'WARN\|log4j\|setLogLevel\|incubator' >&2) || status=1
  echo "$set: $(( $(date +%s) - start )) s"
done
python3 -c 'import pyspark; print("pyspark", pyspark.__version__)'
exit $status
