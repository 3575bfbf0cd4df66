#!/usr/bin/env bash
# Scale benchmark of `webinfer analyze` (a benchmark, not a test).
#
#   scripts/bench-analyze.sh [SIZE_GB ...]      default: 1
#
# For each size: generates that many GB of synthetic JSONL traces into a
# temporary folder on disk (one page file + one proxy file per session,
# 60 s sessions with kernel records), prints the size, runs the release
# build of `webinfer analyze` under /usr/bin/time -v (records/s, records/s
# divided by the cores, records per CPU second (user + system), peak RSS), runs the same core aggregation with DuckDB
# (scripts/bench_analyze_duckdb.py, the SQL from `webinfer analyze
# --print-sql --sql-table core`) when `python3 -c 'import duckdb'` works, prints a table and
# deletes the traces. It then exports the traces with `webinfer export parquet`
# and runs every metric table of `webinfer analyze --sql-dir` on the export in
# DuckDB and DataFusion (scripts/bench_sql_tables.py; query time only, the
# export's own time is its row). Targets: >= 1 M records/s per core, peak RSS < 2 GB
# at 10 GB of input. BENCH_TMP=DIR chooses where the traces go.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1)

# BENCH_BIN_DIR=DIR uses DIR/webinfer and DIR/examples/gen-traces as built (e.g. a debug
# build to try the script quickly); by default both are built in release mode.
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  bins="$BENCH_BIN_DIR"
else
  cargo build --release -q -p webinfer --bin webinfer
  cargo build --release -q -p webinfer-analyzer --example gen-traces
  bins="$CARGO_TARGET_DIR/release"
fi
BIN="$bins/webinfer"
GEN="$bins/examples/gen-traces"
CORES=$(nproc)

base="${BENCH_TMP:-/var/tmp}"
TMP=$(mktemp -d "$base/webinfer-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$BIN" analyze --print-sql --sql-table core > "$TMP/core.sql"
have_duckdb=0
python3 -c 'import duckdb' 2>/dev/null && have_duckdb=1

cpu_s() { awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.2f", s}' "$1"; }

rows=()
# row LOG WHAT: appends the table row of WHAT, from its `/usr/bin/time -v` LOG, for
# $records records of $gb GB: wall and CPU seconds, records/s (per core, per CPU second), peak RSS.
row() {
  local w m c rps rpc rpcpu
  w=$(wall_s "$1"); m=$(rss_mb "$1"); c=$(cpu_s "$1")
  rps=$(python3 -c "print(f'{$records / $w:,.0f}')")
  rpc=$(python3 -c "print(f'{$records / $w / $CORES:,.0f}')")
  rpcpu=$(python3 -c "print(f'{$records / max($c, 1e-9):,.0f}')")
  rows+=("| ${gb} GB | $records | $2 | $w | $c | $rps | $rpc | $rpcpu | $m |")
}
for gb in "${sizes[@]}"; do
  dir="$TMP/traces-${gb}g"
  bytes=$(python3 -c "print(int(float('$gb') * 1e9))")
  echo "== generating ${gb} GB of traces in $dir"
  gen_out=$("$GEN" "$dir" --bytes "$bytes" --seconds 60)
  echo "$gen_out"
  records=$(sed -E 's/.*records=([0-9]+).*/\1/' <<<"$gen_out")
  size=$(du -sb "$dir" | cut -f1)
  echo "input: $(du -sh "$dir" | cut -f1) ($size bytes, $(find "$dir" -type f | wc -l) files)"
  # a cold-ish page cache is not guaranteed; both tools read the same warm files
  /usr/bin/time -v "$BIN" analyze "$dir" --out "$TMP/report-${gb}g" --format md,csv 2> "$TMP/time.log" || { cat "$TMP/time.log"; exit 1; }
  grep -E '^(Read|analyzed)' "$TMP/time.log" || true
  row "$TMP/time.log" "webinfer analyze ($(basename "$bins"), $CORES threads)"
  if [ "$have_duckdb" = 1 ]; then
    /usr/bin/time -v python3 scripts/bench_analyze_duckdb.py "$dir" "$TMP/core.sql" "$CORES" > "$TMP/duck.out" 2> "$TMP/duck.log" || { cat "$TMP/duck.log"; exit 1; }
    cat "$TMP/duck.out"
    ver=$(python3 -c 'import duckdb; print(duckdb.__version__)')
    row "$TMP/duck.log" "DuckDB $ver, same core SQL ($CORES threads)"
  else
    rows+=("| ${gb} GB | $records | DuckDB not installed (pip install duckdb) | – | – | – | – | – | – |")
  fi
  # every metric table: webinfer's Parquet export, then the SQL of `--sql-dir` in each engine
  /usr/bin/time -v "$BIN" export parquet "$dir" --out "$TMP/pq-${gb}g" --partition-by label 2> "$TMP/export.log" || { cat "$TMP/export.log"; exit 1; }
  grep -E 'records of' "$TMP/export.log" || true
  row "$TMP/export.log" "webinfer export parquet ($(du -sh "$TMP/pq-${gb}g" | cut -f1) written)"
  for engine in duckdb datafusion; do
    python3 -c "import $engine" 2>/dev/null || continue
    "$BIN" analyze --sql-dir "$TMP/sql-$engine" --sql-dialect "$engine" --sql-source "$TMP/pq-${gb}g" 2>/dev/null
    /usr/bin/time -v python3 scripts/bench_sql_tables.py "$engine" "$TMP/sql-$engine" "$CORES" > "$TMP/sql.out" 2> "$TMP/sql.log" || { cat "$TMP/sql.log"; exit 1; }
    cat "$TMP/sql.out"
    ver=$(python3 -c "import $engine; print($engine.__version__)")
    row "$TMP/sql.log" "$engine $ver, all 8 metric tables on the export ($CORES threads)"
  done
  rm -rf "$dir" "$TMP/report-${gb}g" "$TMP/pq-${gb}g"
done

echo
echo "machine: $CORES cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM"
echo "| input | records | tool | wall s | CPU s | records/s | records/s ÷ cores | records per CPU s | peak RSS MB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
