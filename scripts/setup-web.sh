#!/usr/bin/env bash
# One-time setup for the browser app and the GPU code path's tests: the wasm32 target (and
# a nightly toolchain with rust-src for the threaded worker), wasm-bindgen-cli at
# the version in Cargo.lock, trunk, wasm-opt (binaryen 116), Debian's Chromium +
# ChromeDriver, Mesa's lavapipe (a Vulkan device on the CPU, for the native wgpu tests),
# and the e2e test's npm packages. Safe to run again: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown
# The threaded CPU worker rebuilds std with wasm atomics (-Z build-std): nightly only.
# Installed once and then kept (not updated), so its std build stays cached.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add rust-src clippy --toolchain nightly
rustup target add wasm32-unknown-unknown --toolchain nightly

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$bindgen_version" ]; then
    # Without --locked: its lock file pins crates that do not build here.
    cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
# trunk 0.22 needs a newer rustc than this toolchain; 0.21.14 builds with --locked (without
# it, newer lightningcss/cssparser releases break its build).
if ! trunk --version 2>/dev/null | grep -q '^trunk 0.21.14'; then
    cargo install trunk --version 0.21.14 --locked
fi

# wasm-opt for the release build (index.html), at the version Trunk.toml names.
if ! wasm-opt --version 2>/dev/null | grep -q 'version 116'; then
    cargo install wasm-opt --version 0.116.1
fi

packages=()
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    packages+=(chromium chromium-driver)
fi
if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
    packages+=(mesa-vulkan-drivers libvulkan1)
fi
if [ ${#packages[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y "${packages[@]}"
fi

(cd tests/e2e && npm ci --no-audit --no-fund)
