#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests (unit, integration, and
# end-to-end in headless Chromium and Firefox), and the hook script's Node
# tests. Run scripts/setup.sh first (the README's command does).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== node --test (hook script)"
node --test injector/js/test/
echo "== cargo test"
cargo test --workspace --no-fail-fast
