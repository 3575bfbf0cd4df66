#!/usr/bin/env bash
# Scale benchmark of `webinfer analyze` (a benchmark, not a test).
#
#   scripts/bench-analyze.sh [SIZE_GB ...]      default: 1
#
# For each size: generates that many GB of synthetic JSONL traces into a
# temporary folder on disk (one page file + one proxy file per session,
# 60 s sessions with kernel records), prints the size, then runs, alternating
# on the same files BENCH_REPEATS times (default 3), the release build of
# `webinfer analyze` (the full report: md + csv) and the core aggregation in
# DuckDB over the same JSONL (scripts/bench_analyze_duckdb.py, the SQL from
# `webinfer analyze --print-sql --sql-table core`, when `python3 -c 'import
# duckdb'` works) and every metric table of the report in DuckDB over the
# same JSONL (the same script with the SQL of `--sql-dir`: the same input and
# the same tables as the full report), each under /usr/bin/time -v: wall time, CPU time (user +
# system, getrusage of the process), records/s, records/s divided by the
# cores, records per CPU second and peak RSS. With BENCH_BASELINE_BIN=PATH an
# older `webinfer` binary runs in the same rounds (before/after; its
# metrics.csv must be identical). The last table gives the medians and the
# ratios webinfer / DuckDB (both DuckDB runs; BENCH_DUCK_ALL=0 skips the
# all-tables one, which holds the parsed JSONL in memory: about 6 GB per GB): records/s, and per core = records per CPU second
# (the number of cores a tool keeps busy does not enter it).
# Unless BENCH_SQL=0 it then exports the traces with `webinfer export parquet`
# and runs every metric table of `webinfer analyze --sql-dir` on the export in
# DuckDB and DataFusion (scripts/bench_sql_tables.py; query time only, the
# export's own time is its row). Targets: >= 2x DuckDB and >= 1 M records per
# CPU second, peak RSS < 2 GB at 10 GB of input. BENCH_TMP=DIR chooses where the
# traces go.
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
# every metric table of the report, for DuckDB over the same JSONL (its setup is not used)
"$BIN" analyze --sql-dir "$TMP/sql-jsonl" --sql-dialect duckdb --sql-source "$TMP/none" > /dev/null
have_duckdb=0
python3 -c 'import duckdb' 2>/dev/null && have_duckdb=1

cpu_s() { awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.2f", s}' "$1"; }

# one measured run: "$1" = label, rest = the command; appends a row, sets w c
REPEATS="${BENCH_REPEATS:-3}"
run_one() {
  local tool="$1"; shift
  /usr/bin/time -v "$@" > "$TMP/run.out" 2> "$TMP/run.log" || { cat "$TMP/run.log"; exit 1; }
  grep -hE '^(duckdb|analyzed)' "$TMP/run.out" "$TMP/run.log" | tail -1 || true
  w=$(wall_s "$TMP/run.log"); m=$(rss_mb "$TMP/run.log"); c=$(cpu_s "$TMP/run.log")
  local rps rpc rpcpu
  rps=$(python3 -c "print(f'{$records / $w:,.0f}')")
  rpc=$(python3 -c "print(f'{$records / $w / $CORES:,.0f}')")
  rpcpu=$(python3 -c "print(f'{$records / max($c, 1e-9):,.0f}')")
  rows+=("| ${gb} GB | $records | $tool | $w | $c | $rps | $rpc | $rpcpu | $m |")
  # the median over the repeats goes into the ratio table
  vals_rps["$tool"]+="$(python3 -c "print($records / $w)") "
  vals_cpu["$tool"]+="$(python3 -c "print($records / max($c, 1e-9))") "
}
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" $1; }

rows=()
ratios=()
for gb in "${sizes[@]}"; do
  dir="$TMP/traces-${gb}g"
  bytes=$(python3 -c "print(int(float('$gb') * 1e9))")
  echo "== generating ${gb} GB of traces in $dir"
  gen_out=$("$GEN" "$dir" --bytes "$bytes" --seconds 60)
  echo "$gen_out"
  records=$(sed -E 's/.*records=([0-9]+).*/\1/' <<<"$gen_out")
  size=$(du -sb "$dir" | cut -f1)
  echo "input: $(du -sh "$dir" | cut -f1) ($size bytes, $(find "$dir" -type f | wc -l) files)"
  declare -A vals_rps=() vals_cpu=()
  wi="webinfer analyze, full report ($(basename "$bins"), $CORES threads)"
  base_tool="webinfer analyze before (BENCH_BASELINE_BIN)"
  duck="" duck_all=""
  if [ "$have_duckdb" = 1 ]; then
    dv=$(python3 -c 'import duckdb; print(duckdb.__version__)')
    duck="DuckDB $dv, core SQL on the JSONL ($CORES threads)"
    [ "${BENCH_DUCK_ALL:-1}" = 0 ] || duck_all="DuckDB $dv, all 8 metric tables on the JSONL ($CORES threads)"
  fi
  # the tools alternate on the same (warm) files, BENCH_REPEATS times
  for ((r = 1; r <= REPEATS; r++)); do
    echo "-- round $r of $REPEATS"
    run_one "$wi" "$BIN" analyze "$dir" --out "$TMP/report-${gb}g" --format md,csv
    if [ -n "$duck" ]; then
      run_one "$duck" python3 scripts/bench_analyze_duckdb.py "$dir" "$TMP/core.sql" "$CORES"
      [ -z "$duck_all" ] || run_one "$duck_all" python3 scripts/bench_analyze_duckdb.py "$dir" "$TMP/sql-jsonl" "$CORES"
    fi
    if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
      run_one "$base_tool" "$BENCH_BASELINE_BIN" analyze "$dir" --out "$TMP/report-base-${gb}g" --format md,csv
      cmp -s "$TMP/report-${gb}g/metrics.csv" "$TMP/report-base-${gb}g/metrics.csv" \
        || { echo "metrics.csv differs between $BIN and $BENCH_BASELINE_BIN"; exit 1; }
    fi
  done
  for tool in "$wi" "$base_tool"; do
    [ -n "${vals_rps[$tool]:-}" ] || continue
    for d in "$duck_all" "$duck"; do
      [ -n "$d" ] || continue
      a=$(median "${vals_rps[$tool]}"); b=$(median "${vals_rps[$d]}")
      ac=$(median "${vals_cpu[$tool]}"); bc=$(median "${vals_cpu[$d]}")
      ratios+=("$(python3 -c "print(f'| ${gb} GB | $tool | $d | {$a:,.0f} | {$b:,.0f} | {$a / $b:.2f}x | {$ac:,.0f} | {$bc:,.0f} | {$ac / $bc:.2f}x |')")")
    done
  done
  if [ "${BENCH_SQL:-1}" = 0 ]; then
    rm -rf "$dir" "$TMP/report-${gb}g" "$TMP/report-base-${gb}g"
    continue
  fi
  # every metric table: webinfer's Parquet export, then the SQL of `--sql-dir` in each engine
  /usr/bin/time -v "$BIN" export parquet "$dir" --out "$TMP/pq-${gb}g" --partition-by label 2> "$TMP/export.log" || { cat "$TMP/export.log"; exit 1; }
  grep -E 'records of' "$TMP/export.log" || true
  w=$(wall_s "$TMP/export.log"); m=$(rss_mb "$TMP/export.log"); c=$(cpu_s "$TMP/export.log")
  rps=$(python3 -c "print(f'{$records / $w:,.0f}')")
  rpc=$(python3 -c "print(f'{$records / $w / $CORES:,.0f}')")
  rpcpu=$(python3 -c "print(f'{$records / max($c, 1e-9):,.0f}')")
  rows+=("| ${gb} GB | $records | webinfer export parquet ($(du -sh "$TMP/pq-${gb}g" | cut -f1) written) | $w | $c | $rps | $rpc | $rpcpu | $m |")
  for engine in duckdb datafusion; do
    python3 -c "import $engine" 2>/dev/null || continue
    "$BIN" analyze --sql-dir "$TMP/sql-$engine" --sql-dialect "$engine" --sql-source "$TMP/pq-${gb}g" 2>/dev/null
    /usr/bin/time -v python3 scripts/bench_sql_tables.py "$engine" "$TMP/sql-$engine" "$CORES" > "$TMP/sql.out" 2> "$TMP/sql.log" || { cat "$TMP/sql.log"; exit 1; }
    cat "$TMP/sql.out"
    w=$(wall_s "$TMP/sql.log"); m=$(rss_mb "$TMP/sql.log"); c=$(cpu_s "$TMP/sql.log")
    rps=$(python3 -c "print(f'{$records / $w:,.0f}')")
    rpc=$(python3 -c "print(f'{$records / $w / $CORES:,.0f}')")
    rpcpu=$(python3 -c "print(f'{$records / max($c, 1e-9):,.0f}')")
    ver=$(python3 -c "import $engine; print($engine.__version__)")
    rows+=("| ${gb} GB | $records | $engine $ver, all 8 metric tables on the export ($CORES threads) | $w | $c | $rps | $rpc | $rpcpu | $m |")
  done
  rm -rf "$dir" "$TMP/report-${gb}g" "$TMP/report-base-${gb}g" "$TMP/pq-${gb}g"
done

echo
echo "machine: $CORES cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM"
echo "| input | records | tool | wall s | CPU s | records/s | records/s ÷ cores | records per CPU s | peak RSS MB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
if [ ${#ratios[@]} -gt 0 ]; then
  echo
  echo "medians of $REPEATS alternating rounds; per core = records per CPU second (user + system, getrusage of the process via /usr/bin/time)"
  echo "| input | webinfer | DuckDB | records/s | DuckDB records/s | ratio | records per CPU s | DuckDB records per CPU s | ratio per core |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${ratios[@]}"
fi
