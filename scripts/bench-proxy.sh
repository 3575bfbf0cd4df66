#!/usr/bin/env bash
# Benchmark the webinfer proxy on loopback, side by side with a direct
# connection and with mitmproxy (when installable):
#   - keep-alive HTTPS GETs/s and p50/p99 latency (1 KiB responses, HTTP/1.1,
#     C connections, N requests; identical client code, the proxied runs only
#     add a CONNECT),
#   - a 500 MB streamed download (MB/s),
#   - the proxy's peak RSS (VmHWM) after a 50 MB and after a 500 MB download,
#     each in a fresh proxy process.
# Release build. Usage: scripts/bench-proxy.sh   (env: N, C, BIG_MB, SMALL_MB,
# CARGO_TARGET_DIR, MITMDUMP=/path/to/mitmdump, NO_MITM=1 to skip mitmproxy,
# BENCH=a prebuilt capture/examples/bench binary, e.g. to compare two builds;
# ORIGIN_H1=1 makes the origin speak HTTP/1.1 only, so the proxy pools h1
# upstream connections instead of multiplexing on one h2 connection)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-20000}
C=${C:-16}
BIG_MB=${BIG_MB:-500}
SMALL_MB=${SMALL_MB:-50}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

# BENCH, WORK, PIDS (killed on exit), wait_file.
source scripts/proxy-bench-lib.sh

wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "timeout waiting for port $1" >&2; exit 1; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# CPU time of a process so far in ms, user and system: "USER SYS".
TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TCK" '{printf "%d %d", $14 * 1000 / t, $15 * 1000 / t}' "/proc/$1/stat"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

"$BENCH" upstream "$WORK" ${ORIGIN_H1:+h1} & OPID=$!; PIDS+=("$OPID")
wait_file "$WORK/upstream.port"
UP=$(cat "$WORK/upstream.port")
SMALL_URL="https://127.0.0.1:$UP/small"
big_url() { echo "https://127.0.0.1:$UP/big?n=$(( $1 * 1000 * 1000 ))"; }
UPCA=$WORK/upstream-ca.pem

# ---- direct
log() { echo "$1: $2" >&2; }
# CPU ms (user + system) of the client command (via /usr/bin/time) and of the
# origin and, for proxied runs, the proxy (from /proc/PID/stat) during one
# measurement: sets CPU_CLIENT, CPU_ORIGIN, CPU_PROXY (ms) and OUT.
measure() {
    local proxy_pid=$1; shift
    local o0 p0 o1 p1
    o0=$(cpu_ms "$OPID"); p0=$([ -n "$proxy_pid" ] && cpu_ms "$proxy_pid" || echo "0 0")
    OUT=$(/usr/bin/time -f "%U %S" -o "$WORK/time" "$@")
    o1=$(cpu_ms "$OPID"); p1=$([ -n "$proxy_pid" ] && cpu_ms "$proxy_pid" || echo "0 0")
    CPU_CLIENT=$(awk '{printf "%d", ($1 + $2) * 1000}' "$WORK/time")
    CPU_ORIGIN=$(echo "$o0 $o1" | awk '{print $3 + $4 - $1 - $2}')
    CPU_PROXY=$(echo "$p0 $p1" | awk '{print $3 + $4 - $1 - $2}')
}
measure "" "$BENCH" load "$SMALL_URL" "$N" "$C" "$UPCA"; D_LOAD=$OUT; log "direct load" "$D_LOAD"
DC_LOAD="$CPU_CLIENT $CPU_ORIGIN 0"
measure "" "$BENCH" download "$(big_url "$BIG_MB")" "$UPCA"; D_BIG=$OUT; log "direct $BIG_MB MB" "$D_BIG"
DC_BIG="$CPU_CLIENT $CPU_ORIGIN 0"

# ---- webinfer (instance 1: load + small download; instance 2: big download)
start_webinfer() {
    rm -f "$WORK/proxy.port"
    "$BENCH" proxy "$WORK/ca" "$UPCA" "$WORK/proxy.port" & WPID=$!
    PIDS+=("$WPID")
    wait_file "$WORK/proxy.port"
    WPORT=$(cat "$WORK/proxy.port")
}
start_webinfer
read -r U0 S0 <<<"$(cpu_ms "$WPID")"
measure "$WPID" "$BENCH" load "$SMALL_URL" "$N" "$C" "$UPCA" "$WORK/ca/webinfer-ca.pem" --proxy "127.0.0.1:$WPORT"
W_LOAD=$OUT; log "webinfer load" "$W_LOAD"; WC_LOAD="$CPU_CLIENT $CPU_ORIGIN $CPU_PROXY"
read -r U1 S1 <<<"$(cpu_ms "$WPID")"
W_SMALL=$("$BENCH" download "$(big_url "$SMALL_MB")" "$WORK/ca/webinfer-ca.pem" --proxy "127.0.0.1:$WPORT")
W_RSS_SMALL=$(hwm_mib "$WPID"); log "webinfer $SMALL_MB MB" "$W_SMALL rss=$W_RSS_SMALL"
kill -INT "$WPID"; wait "$WPID" 2>/dev/null || true
start_webinfer
read -r U2 S2 <<<"$(cpu_ms "$WPID")"
measure "$WPID" "$BENCH" download "$(big_url "$BIG_MB")" "$WORK/ca/webinfer-ca.pem" --proxy "127.0.0.1:$WPORT"
W_BIG=$OUT; WC_BIG="$CPU_CLIENT $CPU_ORIGIN $CPU_PROXY"
read -r U3 S3 <<<"$(cpu_ms "$WPID")"
W_RSS_BIG=$(hwm_mib "$WPID"); log "webinfer $BIG_MB MB" "$W_BIG rss=$W_RSS_BIG"
kill -INT "$WPID"; wait "$WPID" 2>/dev/null || true

# ---- mitmproxy
MITM_REASON=""
MITMDUMP=${MITMDUMP:-}
if [ -n "${NO_MITM:-}" ]; then
    MITM_REASON="skipped (NO_MITM set)"
elif [ -z "$MITMDUMP" ]; then
    if command -v mitmdump >/dev/null; then
        MITMDUMP=$(command -v mitmdump)
    elif [ -x "$CARGO_TARGET_DIR/mitm-venv/bin/mitmdump" ]; then
        MITMDUMP=$CARGO_TARGET_DIR/mitm-venv/bin/mitmdump
    else
        echo "installing mitmproxy into $CARGO_TARGET_DIR/mitm-venv ..." >&2
        if python3 -m venv "$CARGO_TARGET_DIR/mitm-venv" >&2 &&
            "$CARGO_TARGET_DIR/mitm-venv/bin/pip" install -q mitmproxy >&2; then
            MITMDUMP=$CARGO_TARGET_DIR/mitm-venv/bin/mitmdump
        else
            MITM_REASON="skipped: pip install mitmproxy failed"
        fi
    fi
fi
M_LOAD=""; M_BIG=""; M_SMALL=""; M_RSS_SMALL=""; M_RSS_BIG=""; M_VERSION=""
if [ -z "$MITM_REASON" ]; then
    M_VERSION=$("$MITMDUMP" --version 2>/dev/null | head -1 || true)
    MPORT=$(( UP + 1 )); [ "$MPORT" -gt 65000 ] && MPORT=18089
    start_mitm() {
        "$MITMDUMP" -q --listen-host 127.0.0.1 -p "$MPORT" --set confdir="$WORK/mitm" \
            --set ssl_verify_upstream_trusted_ca="$UPCA" --set stream_large_bodies=1m \
            >/dev/null 2>&1 & MPID=$!
        PIDS+=("$MPID")
        wait_port "$MPORT"
        wait_file "$WORK/mitm/mitmproxy-ca-cert.pem"
    }
    start_mitm
    M_LOAD=$("$BENCH" load "$SMALL_URL" "$N" "$C" "$WORK/mitm/mitmproxy-ca-cert.pem" --proxy "127.0.0.1:$MPORT"); log "mitmproxy load" "$M_LOAD"
    M_SMALL=$("$BENCH" download "$(big_url "$SMALL_MB")" "$WORK/mitm/mitmproxy-ca-cert.pem" --proxy "127.0.0.1:$MPORT")
    M_RSS_SMALL=$(hwm_mib "$MPID"); log "mitmproxy $SMALL_MB MB" "$M_SMALL rss=$M_RSS_SMALL"
    kill "$MPID"; wait "$MPID" 2>/dev/null || true
    start_mitm
    M_BIG=$("$BENCH" download "$(big_url "$BIG_MB")" "$WORK/mitm/mitmproxy-ca-cert.pem" --proxy "127.0.0.1:$MPORT")
    M_RSS_BIG=$(hwm_mib "$MPID"); log "mitmproxy $BIG_MB MB" "$M_BIG rss=$M_RSS_BIG"
    kill "$MPID"; wait "$MPID" 2>/dev/null || true
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
val() { [ -n "$1" ] && echo "$1" | field "$2" || echo "-"; }

d_rps=$(val "$D_LOAD" rps); w_rps=$(val "$W_LOAD" rps); m_rps=$(val "$M_LOAD" rps)
d_p50=$(val "$D_LOAD" p50_ms); w_p50=$(val "$W_LOAD" p50_ms); m_p50=$(val "$M_LOAD" p50_ms)
d_p99=$(val "$D_LOAD" p99_ms); w_p99=$(val "$W_LOAD" p99_ms); m_p99=$(val "$M_LOAD" p99_ms)
d_mbs=$(val "$D_BIG" mb_per_s); w_mbs=$(val "$W_BIG" mb_per_s); m_mbs=$(val "$M_BIG" mb_per_s)
w_mbs_small=$(val "$W_SMALL" mb_per_s); m_mbs_small=$(val "$M_SMALL" mb_per_s)
mr() { [ -n "$M_LOAD$M_BIG" ] && ratio "$1" "$2" || echo "-"; }

echo
echo "webinfer proxy benchmark: loopback, $(nproc) cores, N=$N requests over C=$C keep-alive HTTP/1.1 connections, 1 KiB responses"
[ -n "$M_VERSION" ] && echo "mitmproxy: $M_VERSION ($MITMDUMP)"
[ -n "$MITM_REASON" ] && echo "mitmproxy: $MITM_REASON"
echo
echo "| metric | direct | webinfer | mitmproxy | webinfer / direct | webinfer / mitmproxy |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| keep-alive HTTPS GETs/s | $d_rps | $w_rps | ${m_rps} | $(ratio "$w_rps" "$d_rps") | $(mr "$w_rps" "$m_rps") |"
echo "| p50 latency (ms) | $d_p50 | $w_p50 | ${m_p50} | $(ratio "$w_p50" "$d_p50") | $(mr "$w_p50" "$m_p50") |"
echo "| p99 latency (ms) | $d_p99 | $w_p99 | ${m_p99} | $(ratio "$w_p99" "$d_p99") | $(mr "$w_p99" "$m_p99") |"
echo "| $BIG_MB MB download (MB/s) | $d_mbs | $w_mbs | ${m_mbs} | $(ratio "$w_mbs" "$d_mbs") | $(mr "$w_mbs" "$m_mbs") |"
echo "| $SMALL_MB MB download (MB/s) | - | $w_mbs_small | ${m_mbs_small} | - | $(mr "$w_mbs_small" "$m_mbs_small") |"
echo "| proxy peak RSS after $SMALL_MB MB (MiB) | - | $W_RSS_SMALL | ${M_RSS_SMALL:--} | - | - |"
echo "| proxy peak RSS after $BIG_MB MB (MiB) | - | $W_RSS_BIG | ${M_RSS_BIG:--} | - | - |"
echo
# The proxy's own CPU time (user + system, from /proc/PID/stat): less
# sensitive to other load on the machine than the rates above.
awk -v n="$N" -v u=$((U1 - U0)) -v s=$((S1 - S0)) 'BEGIN { printf "webinfer CPU per small request: %.1f us (user %.1f, system %.1f)\n", (u + s) * 1000 / n, u * 1000 / n, s * 1000 / n }'
awk -v mb="$BIG_MB" -v u=$((U3 - U2)) -v s=$((S3 - S2)) 'BEGIN { printf "webinfer CPU per MB downloaded: %.2f ms (user %.2f, system %.2f)\n", (u + s) / mb, u / mb, s / mb }'
echo
echo "CPU time (user + system) of each process during the measurement, per request / per MB:"
echo
echo "| run | client | origin | proxy | all three |"
echo "| --- | ---: | ---: | ---: | ---: |"
cpu_row() { echo "$2" | awk -v name="$1" -v n="$3" -v unit="$4" '{ printf "| %s | %.2f %s | %.2f %s | %.2f %s | %.2f %s |\n", name, $1 * n, unit, $2 * n, unit, $3 * n, unit, ($1 + $2 + $3) * n, unit }'; }
cpu_row "direct, small GETs" "$DC_LOAD" "$(awk -v n="$N" 'BEGIN { print 1000 / n }')" us
cpu_row "webinfer, small GETs" "$WC_LOAD" "$(awk -v n="$N" 'BEGIN { print 1000 / n }')" us
cpu_row "direct, $BIG_MB MB" "$DC_BIG" "$(awk -v n="$BIG_MB" 'BEGIN { print 1 / n }')" ms
cpu_row "webinfer, $BIG_MB MB" "$WC_BIG" "$(awk -v n="$BIG_MB" 'BEGIN { print 1 / n }')" ms
