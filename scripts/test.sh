#!/usr/bin/env bash
# Every check CI runs: formatting, lints, unit + CLI tests, the wasm32 build of the
# library, the CUDA build, the browser app's wasm-bindgen tests and end-to-end test (need
# scripts/setup-web.sh once). Real-CIFAR tests read SIMCLR_CIFAR10_DIR (skipped when unset,
# except under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}"
: "${SIMCLR_CIFAR10_DIR:=$(pwd)/../shared/datasets/cifar-10-batches-bin}"
[ -d "$SIMCLR_CIFAR10_DIR" ] && export SIMCLR_CIFAR10_DIR || unset SIMCLR_CIFAR10_DIR

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --all-targets -- -D warnings
step "cargo test"
cargo test
step "wasm32 check of the library"
cargo check --target wasm32-unknown-unknown --lib --no-default-features --features flex
step "CUDA build"
cargo build --features cuda
step "clippy of the browser app (wasm32)"
CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$HOME/.cache/simclr-wasm}" \
    cargo clippy -p simclr-web --target wasm32-unknown-unknown --all-targets -- -D warnings
step "browser app's wasm-bindgen tests (headless Chromium via chromedriver)"
scripts/web-tests.sh
step "browser end-to-end (trunk build, headless Chromium: WebGPU and CPU fallback)"
scripts/e2e.sh
