#!/usr/bin/env bash
# Builds the page with trunk (release) and runs the end-to-end test in headless Chromium:
# WebGPU on SwiftShader (--enable-unsafe-webgpu), then the CPU fallback. Screenshots land in
# target/e2e/. Needs scripts/setup-web.sh once.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$HOME/.cache/simclr-wasm}"
trunk build --release --offline
ls -l dist/*.wasm
(cd tests/e2e && E2E_OUT="$(pwd)/../../target/e2e" node app.test.mjs)
