#!/usr/bin/env bash
# The browser app's wasm-bindgen tests (web/tests/) in headless Chromium, through
# wasm-bindgen-test-runner and Debian's chromedriver. Release build: a debug wasm test
# binary of Burn is ~600 MB. Needs scripts/setup-web.sh once.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$HOME/.cache/simclr-wasm}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$(pwd)/web/webdriver.json"
cargo test -p simclr-web --target wasm32-unknown-unknown --release --tests
