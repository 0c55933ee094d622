#!/usr/bin/env bash
# Builds the threaded CPU worker (web/src/bin/worker_threads.rs) into the page's output:
# worker-threads.js + worker-threads_bg.wasm (wasm-bindgen --target web), the module entry
# worker-threads-main.js, and wasm-bindgen-rayon's thread script under snippets/.
#
# Shared wasm memory needs the standard library rebuilt with atomics, which only nightly
# cargo can do (-Z build-std). trunk runs this as a post_build hook (Trunk.toml) with
# $TRUNK_STAGING_DIR; by hand: scripts/build-threads-worker.sh [out-dir] (default dist/);
# `--clippy` lints the threaded build instead (scripts/test.sh).
# Without a nightly toolchain with rust-src (scripts/setup-web.sh installs one) it builds
# nothing and says so: the page then runs every job on the single-threaded worker.
# SIMCLR_NO_THREADS=1 skips it on purpose (a faster `trunk serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TRUNK_STAGING_DIR:-${1:-dist}}"
[ "$out" = --clippy ] && out=dist

if [ -n "${SIMCLR_NO_THREADS:-}" ]; then
    echo "build-threads-worker: SIMCLR_NO_THREADS is set; no threaded worker" >&2
    exit 0
fi
toolchain="${SIMCLR_THREADS_TOOLCHAIN:-nightly}"
sysroot=$(rustup run "$toolchain" rustc --print sysroot 2>/dev/null || true)
if [ -z "$sysroot" ] || [ ! -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]; then
    echo "build-threads-worker: no $toolchain toolchain with rust-src (scripts/setup-web.sh" \
        "installs one); the page will run on one thread" >&2
    exit 0
fi

# Its own target folder: these flags rebuild every crate, std included.
target_dir="${THREADS_TARGET_DIR:-$HOME/.cache/simclr-wasm-threads}"
# The memory is shared and imported (every thread instantiates the module on it), with
# thread-local storage set up per thread by wasm-bindgen. 4 GiB is wasm32's whole address
# space: shared memory cannot grow past its declared maximum, and a full CIFAR-10 upload
# with a model needs more than 1 GiB.
link="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls"
link="$link --export=__tls_size --export=__tls_align --export=__tls_base"
flags="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128"
for arg in $link; do flags="$flags -C link-arg=$arg"; done
threads_cargo() {
    local command="$1"
    shift
    RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target_dir" \
        cargo "+$toolchain" "$command" -Z build-std=std,panic_abort \
        --target wasm32-unknown-unknown --release -p simclr-web --bin worker-threads \
        --no-default-features --features threads "$@"
}

if [ "${1:-}" = "--clippy" ]; then
    threads_cargo clippy -- -D warnings
    exit 0
fi
threads_cargo build

mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name worker-threads \
    "$target_dir/wasm32-unknown-unknown/release/worker-threads.wasm"
if wasm-opt --version 2>/dev/null | grep -q 'version 116'; then
    wasm-opt -O3 --enable-threads --enable-simd --enable-bulk-memory --enable-sign-ext \
        --enable-nontrapping-float-to-int --enable-mutable-globals --enable-multivalue \
        --enable-reference-types "$out/worker-threads_bg.wasm" -o "$out/worker-threads_bg.wasm.opt"
    mv "$out/worker-threads_bg.wasm.opt" "$out/worker-threads_bg.wasm"
else
    echo "build-threads-worker: no wasm-opt 116; the threaded worker is not optimised" >&2
fi
cp web/worker-threads-main.js "$out/"
