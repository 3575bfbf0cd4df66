#!/usr/bin/env bash
# Heavy run of the property ("fuzz") tests of bad input: the HTML rewriter, the CSP patcher,
# the trace reader and the trace endpoint's batch parser, in release, with many generated
# cases each (CI runs the same tests with their small default case counts).
#
#   scripts/fuzz.sh                      # all targets, PROPTEST_CASES=20000
#   PROPTEST_CASES=100000 scripts/fuzz.sh
#   scripts/fuzz.sh prop_csp sink_prop   # only these targets
#   FUZZ_PROFILE=dev scripts/fuzz.sh     # debug build (no release build of polars needed)
#
# Prints, per target, the number of cases per property and the wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-20000}"
profile="${FUZZ_PROFILE:-release}"
case "$profile" in
  release) mode=(--release) ;;
  dev) mode=() ;;
  *) echo "FUZZ_PROFILE is release or dev, not $profile" >&2; exit 2 ;;
esac

# "package target [test binary]": with a test binary, the target is the module
# `target::` inside it (a crate whose integration tests are one binary).
all=(
  "webinfer-injector prop_rewrite tests"
  "webinfer-injector prop_csp tests"
  "webinfer-analyzer prop_read integration"
  "webinfer-proxy sink_prop"
)
targets=()
for t in "${all[@]}"; do
  name=$(cut -d' ' -f2 <<<"$t")
  if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qx "$name"; then
    targets+=("$t")
  fi
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "no such target: $* (targets: prop_rewrite prop_csp prop_read sink_prop)" >&2
  exit 2
fi

echo "building the property tests ($profile)…"
for t in "${targets[@]}"; do
  set -- $t
  cargo test "${mode[@]}" -q -p "$1" --test "${3:-$2}" --no-run 2>/dev/null || cargo test "${mode[@]}" -p "$1" --test "${3:-$2}" --no-run
done

printf "%-32s %10s %12s %10s  (%s)\n" target tests "cases/prop" seconds "$profile"
status=0
for t in "${targets[@]}"; do
  set -- $t
  filter=()
  if [ -n "${3:-}" ]; then filter=("$2::"); fi
  start=$(date +%s.%N)
  if out=$(cargo test "${mode[@]}" -q -p "$1" --test "${3:-$2}" -- "${filter[@]}" 2>&1); then
    result=ok
  else
    result=FAILED
    status=1
  fi
  end=$(date +%s.%N)
  props=$(printf '%s\n' "$out" | sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed.*/\1/p' | head -1)
  printf '%-32s %10s %12s %10.1f %s\n' "$1/$2" "${props:-?}" "$PROPTEST_CASES" \
    "$(echo "$end - $start" | bc)" "$result"
  if [ "$result" = FAILED ]; then
    printf '%s\n' "$out" | tail -40
  fi
done
exit $status
