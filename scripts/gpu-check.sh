#!/usr/bin/env bash
# The GPU check, on the GPU machine, from the kit that scripts/gpu-kit.sh lays out in .gpu/
# (that machine has CUDA, Python and PyTorch, but no Rust, crates or network):
#
#   scripts/gpu-check.sh              # there: with the device tool, carry [".gpu"]
#   scripts/gpu-check.sh --rehearse   # here: the same sections at tiny sizes on the CPU
#
# Sections (scripts/gpu_check.py): nvidia-smi; `bench` on CUDA at width 64 and 16, batch
# 512 (warm-up excluded); the same step in PyTorch on the same GPU, fp32 and bf16 autocast,
# and the ratio; a 3-epoch CIFAR-10 pretraining on the kit's 10,000 images with the kNN
# monitor; `embed` of its encoder on CUDA and on the CPU, features compared (relative
# 1e-4); `bench` on the GPU's Vulkan through wgpu. Within 8 minutes; writes
# $OUT/gpu-check.log and $OUT/gpu-check.json (a temporary folder when OUT is unset).
#
# --rehearse uses the binary that cargo built here (SIMCLR_BIN, else the debug build), a
# small CIFAR-10 part packed from SIMCLR_CIFAR10_DIR (the synthetic set when unset), the CPU
# backend, and wgpu (lavapipe) for the embed comparison where the binary has it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"

if [ "${1:-}" = "--rehearse" ]; then
    bin="${SIMCLR_BIN:-${CARGO_TARGET_DIR:-target}/debug/simclr}"
    [ -x "$bin" ] || { echo "no simclr binary at $bin: cargo build -p simclr-cli first" >&2; exit 2; }
    data=()
    if [ -n "${SIMCLR_CIFAR10_DIR:-}" ]; then
        part="$(mktemp -d)"
        trap 'rm -rf "$part"' EXIT
        python3 scripts/gpu_check.py pack-cifar --from "$SIMCLR_CIFAR10_DIR" \
            --out "$part/cifar10-part.tar.gz" --train 512 --test 256
        data=(--data "$part/cifar10-part.tar.gz")
    fi
    python3 scripts/gpu_check.py run --rehearse --bin "$bin" "${data[@]}" --out "$out"
    exit
fi

kit=.gpu
[ -f "$kit/simclr.xz" ] || { echo "no kit in $kit: run scripts/gpu-kit.sh here first" >&2; exit 2; }
# The Vulkan loader for wgpu (the device image has NVIDIA's driver but maybe no loader);
# these packages unpack safely over / (the device tool's README).
if ! ldconfig -p | grep -q libvulkan.so.1; then
    for deb in "$kit"/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
bin="$(mktemp -d)/simclr"
xz -dc "$kit/simclr.xz" >"$bin"
chmod +x "$bin"
"$bin" --version
exec python3 scripts/gpu_check.py run --bin "$bin" --data "$kit/cifar10-part.tar.gz" --out "$out"
