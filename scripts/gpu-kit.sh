#!/usr/bin/env bash
# Lays out .gpu/ (git-ignored), what a GPU machine without Rust needs for
# scripts/gpu-check.sh: the release `simclr` built here with CUDA and wgpu (and so with
# Burn's autotune), stripped and xz-compressed; the first 10,000 CIFAR-10 training images
# and as many test images as fit (from SIMCLR_CIFAR10_DIR, as a .tar.gz the archive loader
# reads); and the Vulkan loader packages (libvulkan1 and friends, for wgpu on the GPU's
# Vulkan driver). Fails above 60 MiB: the device tool carries 64 MiB with the working tree.
#
#   scripts/gpu-kit.sh        then, with the device tool: run scripts/gpu-check.sh, carry [".gpu"]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}"
cifar="${SIMCLR_CIFAR10_DIR:-$(pwd)/../shared/datasets/cifar-10-batches-bin}"
limit=$((60 * 1024 * 1024))
record=3073

[ -f "$cifar/data_batch_1.bin" ] || { echo "no CIFAR-10 at $cifar (set SIMCLR_CIFAR10_DIR)" >&2; exit 1; }

echo "== release build with cuda and wgpu"
cargo build --release -p simclr-cli --features cuda,wgpu

new=.gpu.new
rm -rf "$new"
mkdir -p "$new/debs"
echo "== binary: strip, xz"
strip -o "$new/simclr" "$CARGO_TARGET_DIR/release/simclr"
xz -T0 -9 "$new/simclr"

echo "== Vulkan loader packages (amd64)"
lists="$(mktemp -d)"
mkdir -p "$lists/partial"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$new/debs" && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 \
    libgl1 libglx0 libgles2 >/dev/null)

echo "== CIFAR-10 part"
used=$(du -sb "$new" | cut -f1)
# What is left under the limit, less 1 MiB for the archive's headers and the training
# batch, in whole test records (at most the 10,000 of the test batch).
room=$(((limit - used - 1024 * 1024 - 10000 * record) / record))
test=$((room < 10000 ? room : 10000))
[ "$test" -ge 500 ] || { echo "only room for $test test images: the binary is too large" >&2; exit 1; }
python3 scripts/gpu_check.py pack-cifar --from "$cifar" --out "$new/cifar10-part.tar.gz" \
    --train 10000 --test "$test"

size=$(du -sb "$new" | cut -f1)
if [ "$size" -gt "$limit" ]; then
    echo "the kit is $((size / 1024 / 1024)) MiB, above 60 MiB" >&2
    exit 1
fi
rm -rf .gpu
mv "$new" .gpu
ls -l .gpu .gpu/debs
printf 'kit: .gpu, %.1f MiB (binary %.1f MiB xz, %d test images)\n' \
    "$(echo "$size / 1048576" | bc -l)" "$(echo "$(stat -c %s .gpu/simclr.xz) / 1048576" | bc -l)" "$test"
