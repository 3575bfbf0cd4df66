#!/usr/bin/env bash
# Makes ONNX Runtime's shared library available to `webinfer native --engine ort`
# and prints its path (the last line of output).
#
# Idempotent: installs the PyPI wheel `onnxruntime==$ORT_VERSION` with pip only
# when `import onnxruntime` fails; the wheel ships capi/libonnxruntime.so.<ver>,
# which webinfer finds by itself (or set ORT_DYLIB_PATH to the printed path).
# 1.30.0 matches onnxruntime-web 1.30.0 in web/package.json, so the native
# baseline runs the same ONNX Runtime release as the page. The `ort` crate
# (2.0.0-rc.15, API level 22) accepts any ONNX Runtime >= 1.22.
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.30.0}"
PYTHON="${PYTHON:-python3}"

probe() {
  "$PYTHON" -c 'import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))' 2>/dev/null
}

if ! dir="$(probe)"; then
  echo "installing onnxruntime==${ORT_VERSION} with pip" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "onnxruntime==${ORT_VERSION}" >&2
  dir="$(probe)" || { echo "error: onnxruntime still not importable after pip install" >&2; exit 1; }
fi

installed="$("$PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)')"
if [ "$installed" != "$ORT_VERSION" ]; then
  echo "note: onnxruntime ${installed} is installed (wanted ${ORT_VERSION}); leaving it as it is" >&2
fi

lib="$(ls "$dir"/capi/libonnxruntime.so* 2>/dev/null | sort | tail -n 1 || true)"
if [ -z "$lib" ]; then
  echo "error: no capi/libonnxruntime.so* in $dir" >&2
  exit 1
fi
echo "$lib"
