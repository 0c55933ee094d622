#!/usr/bin/env bash
# Every check CI runs, on a fresh machine too: installs what the tests need
# (scripts/setup-web.sh: wasm32 target, wasm-bindgen-cli, trunk, wasm-opt, Chromium, npm packages;
# it keeps what is already there), then formatting, lints, docs, unit and CLI tests, the
# wgpu backend against the CPU on lavapipe, the GPU check's rehearsal, the wasm32 and CUDA
# builds, the browser app's wasm-bindgen tests and end-to-end test.
# Real-CIFAR tests read SIMCLR_CIFAR10_DIR: ignored by a plain `cargo test`, run below when it is set
# (and a failure when it is not under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}"
: "${SIMCLR_CIFAR10_DIR:=$(pwd)/../shared/datasets/cifar-10-batches-bin}"
[ -d "$SIMCLR_CIFAR10_DIR" ] && export SIMCLR_CIFAR10_DIR || unset SIMCLR_CIFAR10_DIR

step() { printf '\n== %s\n' "$*"; }

step "tools"
rustup component add clippy rustfmt
scripts/setup-web.sh
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (library and CLI; then with the wgpu and CUDA backends)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p simclr -p simclr-cli --all-targets --features cuda,wgpu -- -D warnings
step "cargo doc (the library and the CPU kernels)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p simclr -p simclr-kernels
step "cargo test (library, CPU kernels and CLI)"
cargo test
step "tests on the real CIFAR-10 (ignored by a plain cargo test: they need SIMCLR_CIFAR10_DIR)"
if [ -n "${SIMCLR_CIFAR10_DIR:-}" ]; then
    cargo test -- --ignored real_cifar10
elif [ "${CI:-}" = true ]; then
    echo "SIMCLR_CIFAR10_DIR must be set under CI=true" >&2
    exit 1
else
    echo "skipped: SIMCLR_CIFAR10_DIR is not set (../shared/datasets/cifar-10-batches-bin is missing)"
fi
step "the GPU code path on lavapipe (Burn's wgpu backend on Mesa's CPU Vulkan driver)"
cargo test -p simclr --features wgpu --lib wgpu_agreement
cargo test -p simclr-cli --features wgpu --test wgpu
step "GPU check rehearsal (scripts/gpu-check.sh --rehearse: the device script at tiny sizes)"
# The binary the wgpu CLI tests just built (CPU and wgpu), before the CUDA build replaces it.
SIMCLR_BIN="$CARGO_TARGET_DIR/debug/simclr" scripts/gpu-check.sh --rehearse
step "wasm32 check of the library"
cargo check -p simclr --target wasm32-unknown-unknown --lib --no-default-features --features flex
step "CUDA build"
cargo build -p simclr-cli --features cuda
step "clippy of the browser app and the CPU kernels (wasm32)"
CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$HOME/.cache/simclr-wasm}" \
    cargo clippy -p simclr-web -p simclr-kernels --target wasm32-unknown-unknown --all-targets \
    -- -D warnings
step "clippy of the threaded CPU worker (wasm32 with atomics, nightly)"
scripts/build-threads-worker.sh --clippy
step "browser app's wasm-bindgen tests (headless Chromium via chromedriver)"
scripts/web-tests.sh
step "browser end-to-end (trunk build, headless Chromium: WebGPU and CPU fallback)"
scripts/e2e.sh
