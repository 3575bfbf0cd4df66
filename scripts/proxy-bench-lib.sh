# shellcheck shell=bash
# Setup shared by the proxy benchmark scripts (bench-proxy.sh, profile-proxy.sh,
# syscalls-proxy.sh), sourced after `cd` to the repo root and CARGO_TARGET_DIR:
#   - BENCH: the release capture/examples/bench binary, built unless BENCH is set;
#   - WORK: a fresh temp folder; every pid pushed on PIDS is killed and WORK
#     removed on exit;
#   - wait_file FILE [TRIES [STEP]]: waits until FILE is non-empty, polling
#     TRIES times (200) every STEP seconds (0.05), else exits with an error.

if [ -z "${BENCH:-}" ]; then
    echo "building (release)..." >&2
    cargo build --release -q -p webinfer-capture --example bench
    BENCH=$CARGO_TARGET_DIR/release/examples/bench
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_file() {
    for _ in $(seq "${2:-200}"); do [ -s "$1" ] && return 0; sleep "${3:-0.05}"; done
    echo "timeout waiting for $1" >&2
    exit 1
}
