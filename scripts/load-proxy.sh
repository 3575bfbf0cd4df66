#!/usr/bin/env bash
# Load test of the webinfer proxy: 200 concurrent HTTPS clients through the
# real `webinfer proxy` binary for WEBINFER_LOAD_SECS seconds (default 60),
# without and with HTML rewriting, release build. The tests assert 0 failed
# requests and no RSS growth after warm-up (cli/tests/load.rs); this script
# prints their numbers as a table.
#
# Usage: scripts/load-proxy.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-${WEBINFER_LOAD_SECS:-60}}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
WEBINFER_LOAD_SECS="$secs" cargo test --release -p webinfer --test load -- \
    --nocapture --test-threads=1 2>&1 | tee "$log" || status=$?
echo
echo "webinfer proxy load: 200 clients (half HTTP/1.1, half HTTP/2), ${secs} s each, $(nproc) cores shared by origin, clients and proxy"
printf '%-8s %10s %9s %9s %10s %14s %13s %14s\n' \
    run requests failures req/s html_pages rss_warm_MiB rss_end_MiB bound_MiB
grep '^LOAD ' "$log" | while read -r _ fields; do
    declare -A f=()
    for kv in $fields; do f["${kv%%=*}"]="${kv#*=}"; done
    printf '%-8s %10s %9s %9s %10s %14.1f %13.1f %14.1f\n' \
        "${f[name]}" "${f[requests]}" "${f[failures]}" "${f[rps]}" "${f[html]}" \
        "$(awk "BEGIN{print ${f[rss_warm_kib]}/1024}")" \
        "$(awk "BEGIN{print ${f[rss_end_kib]}/1024}")" \
        "$(awk "BEGIN{print ${f[rss_bound_kib]}/1024}")"
done
if [ "$status" -ne 0 ]; then
    echo "load tests FAILED (see the output above)" >&2
fi
exit "$status"
