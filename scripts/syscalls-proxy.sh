#!/usr/bin/env bash
# System calls of the webinfer proxy (strace -c, all threads) for one MB-megabyte
# download and for N keep-alive small GETs over 16 connections, through the
# bench proxy of scripts/bench-proxy.sh (the kernel side callgrind cannot see).
# Usage: scripts/syscalls-proxy.sh   (env: MB=100 N=2000, BENCH=prebuilt
#        capture/examples/bench binary, CARGO_TARGET_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${MB:-100}
N=${N:-2000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
command -v strace >/dev/null || { echo "strace is needed (apt-get install strace)" >&2; exit 1; }
# BENCH, WORK, PIDS (killed on exit), wait_file.
source scripts/proxy-bench-lib.sh
W=$WORK
"$BENCH" upstream "$W" & PIDS+=($!)
wait_file "$W/upstream.port"
UP=$(cat "$W/upstream.port")
"$BENCH" proxy "$W/ca" "$W/upstream-ca.pem" "$W/proxy.port" & PP=$!; PIDS+=("$PP")
wait_file "$W/proxy.port"
P=$(cat "$W/proxy.port")
ROOTS=("$W/upstream-ca.pem" "$W/ca/webinfer-ca.pem" --proxy "127.0.0.1:$P")
"$BENCH" load "https://127.0.0.1:$UP/small" 16 16 "${ROOTS[@]}" >/dev/null
traced() {
    strace -c -f -p "$PP" -o "$W/strace.txt" 2>/dev/null & local s=$!
    sleep 1
    "$@" >&2
    kill -INT "$s"; wait "$s" 2>/dev/null || true
    head -12 "$W/strace.txt"
}
echo "## one $MB MB download"
traced "$BENCH" download "https://127.0.0.1:$UP/big?n=$((MB * 1000 * 1000))" "${ROOTS[@]}"
echo "## $N small GETs over 16 connections"
traced "$BENCH" load "https://127.0.0.1:$UP/small" "$N" 16 "${ROOTS[@]}"
