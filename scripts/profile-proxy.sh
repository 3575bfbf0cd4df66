#!/usr/bin/env bash
# Instruction profile of the webinfer proxy's hot paths under callgrind
# (counts instructions, so the result does not depend on machine load):
#   (a) N keep-alive HTTPS GETs of 1 KiB over C connections through the proxy,
#   (b) one MB-megabyte streamed download through the proxy.
# The origin, the proxy and the client are the same programs as in
# scripts/bench-proxy.sh (capture/examples/bench.rs). With SIDES=1 the origin
# and the client of a DIRECT run are profiled too, to compare the proxy's
# instructions with what the two ends spend on the same work.
# Counters are zeroed after a warm-up (TLS handshakes and the upstream pool
# are excluded from (a) unless COLD=1) and dumped after each phase; prints
# instructions per request / per MB, split by component, and the top
# functions by self cost.
# Usage: scripts/profile-proxy.sh   (env: N=2000 C=4 MB=100 SIDES=0 OUT=dir
#        CARGO_TARGET_DIR, BENCH=prebuilt bench binary; HOOKS=1 profiles the proxy with the trace sink and
#        the injection filter installed, as `webinfer proxy` runs; ORIGIN_H1=1
#        makes the origin speak HTTP/1.1 only)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
C=${C:-4}
MB=${MB:-100}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

# BENCH, WORK, PIDS (killed on exit), wait_file (here up to 60 s: callgrind is slow).
source scripts/proxy-bench-lib.sh
wait_callgrind() { wait_file "$1" 600 0.1; }
CG=(valgrind --tool=callgrind --dump-instr=no --collect-jumps=no -q)

"$BENCH" upstream "$WORK" ${ORIGIN_H1:+h1} & PIDS+=($!)
wait_callgrind "$WORK/upstream.port"
UP=$(cat "$WORK/upstream.port")
SMALL_URL="https://127.0.0.1:$UP/small"
BIG_URL="https://127.0.0.1:$UP/big?n=$((MB * 1000 * 1000))"
UPCA=$WORK/upstream-ca.pem

MODE=proxy
[ -n "${HOOKS:-}" ] && MODE=proxy-hooks
"${CG[@]}" --callgrind-out-file="$OUT/proxy.%p.out" "$BENCH" "$MODE" "$WORK/ca" "$UPCA" "$WORK/proxy.port" \
    2>"$OUT/proxy.valgrind.log" & VPID=$!
PIDS+=("$VPID")
wait_callgrind "$WORK/proxy.port"
PORT=$(cat "$WORK/proxy.port")
PCA=$WORK/ca/webinfer-ca.pem

# (a) warm up C connections (handshakes, upstream pool), zero, measure.
if [ -z "${COLD:-}" ]; then
    "$BENCH" load "$SMALL_URL" "$C" "$C" "$UPCA" "$PCA" --proxy "127.0.0.1:$PORT" >/dev/null
fi
callgrind_control -z "$VPID" >/dev/null
"$BENCH" load "$SMALL_URL" "$N" "$C" "$UPCA" "$PCA" --proxy "127.0.0.1:$PORT" >&2
callgrind_control -d small "$VPID" >/dev/null
# (b) one download (its CONNECT, client handshake and request included).
"$BENCH" download "$BIG_URL" "$UPCA" "$PCA" --proxy "127.0.0.1:$PORT" >&2
callgrind_control -d big "$VPID" >/dev/null
kill -INT "$VPID"; wait "$VPID" 2>/dev/null || true

if [ -n "${SIDES:-}" ]; then
    # The same work without the proxy: client and origin under callgrind.
    kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
    rm -f "$WORK/upstream.port"
    "${CG[@]}" --callgrind-out-file="$OUT/origin.%p.out" "$BENCH" upstream "$WORK" \
        2>"$OUT/origin.valgrind.log" & OPID=$!
    PIDS+=("$OPID")
    wait_callgrind "$WORK/upstream.port"
    UP=$(cat "$WORK/upstream.port")
    SMALL_URL="https://127.0.0.1:$UP/small"
    BIG_URL="https://127.0.0.1:$UP/big?n=$((MB * 1000 * 1000))"
    "$BENCH" load "$SMALL_URL" "$C" "$C" "$WORK/upstream-ca.pem" >/dev/null
    callgrind_control -z "$OPID" >/dev/null
    # The client is profiled whole; a second, minimal run (C requests, 1 MB)
    # is subtracted to remove its start-up and handshakes.
    "${CG[@]}" --callgrind-out-file="$OUT/client-small.out" "$BENCH" load "$SMALL_URL" "$N" "$C" "$WORK/upstream-ca.pem" >&2
    callgrind_control -d small "$OPID" >/dev/null
    "${CG[@]}" --callgrind-out-file="$OUT/client-big.out" "$BENCH" download "$BIG_URL" "$WORK/upstream-ca.pem" >&2
    callgrind_control -d big "$OPID" >/dev/null
    "${CG[@]}" --callgrind-out-file="$OUT/client-small-base.out" "$BENCH" load "$SMALL_URL" "$C" "$C" "$WORK/upstream-ca.pem" >&2
    "${CG[@]}" --callgrind-out-file="$OUT/client-big-base.out" "$BENCH" download "https://127.0.0.1:$UP/big?n=1000000" "$WORK/upstream-ca.pem" >&2
    kill "$OPID"; wait "$OPID" 2>/dev/null || true
fi

python3 scripts/callgrind-split.py "$OUT" "$N" "$MB" "$C"
echo "callgrind files in $OUT" >&2
