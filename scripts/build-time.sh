#!/usr/bin/env bash
# Clean-build and test wall time of one commit, as issue 12 asks ("the clean
# build and `cargo test` wall time on this machine, before and after").
#
#   scripts/build-time.sh REV [TARGET_DIR] [OUT_PREFIX]
#
# Clones this repository at REV into a temporary folder, fetches the crates
# (not timed), empties TARGET_DIR (default: a temporary one), then times
#   1. `cargo test --workspace --no-run`   (the clean debug build of every test),
#   2. `cargo test --workspace --no-fail-fast` (running them, browsers included),
# and writes the times, the number of test executables and the exit codes to
# OUT_PREFIX.txt (logs beside it). Run scripts/setup.sh first; run it on an
# idle machine: it measures wall time.
set -uo pipefail
rev=${1:?usage: scripts/build-time.sh REV [TARGET_DIR] [OUT_PREFIX]}
repo=$(cd "$(dirname "$0")/.." && pwd)
tgt=${2:-$(mktemp -d /tmp/webinfer-bt-target.XXXXXX)}
out=${3:-$PWD/build-time-$rev}
src=$(mktemp -d /tmp/webinfer-bt-src.XXXXXX)
git clone -q "$repo" "$src" && git -C "$src" checkout -q "$rev" || exit 1
# The npm packages the browser tests load (hard links: no copy).
if [ -d "$repo/web/node_modules" ]; then cp -al "$repo/web/node_modules" "$src/web/"; fi
cd "$src" || exit 1
export CARGO_TARGET_DIR=$tgt CARGO_TERM_COLOR=never
cargo fetch -q || exit 1
rm -rf "$tgt" && mkdir -p "$tgt"
{
  echo "commit $(git rev-parse --short HEAD) cores $(nproc) start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out.txt"
/usr/bin/time -f "build_wall_s %e user_s %U sys_s %S" -a -o "$out.txt" \
  cargo test --workspace --no-run > "$out.build.log" 2>&1
echo "build_exit $?" >> "$out.txt"
echo "test_executables $(grep -c 'Executable' "$out.build.log")" >> "$out.txt"
/usr/bin/time -f "test_wall_s %e user_s %U sys_s %S" -a -o "$out.txt" \
  cargo test --workspace --no-fail-fast > "$out.test.log" 2>&1
echo "test_exit $?" >> "$out.txt"
echo "tests_passed $(grep -o '[0-9]* passed' "$out.test.log" | awk '{s+=$1} END {print s+0}') failed $(grep -o '[0-9]* failed' "$out.test.log" | awk '{s+=$1} END {print s+0}')" >> "$out.txt"
echo "end $(date -u +%FT%TZ)" >> "$out.txt"
rm -rf "$src"
cat "$out.txt"
