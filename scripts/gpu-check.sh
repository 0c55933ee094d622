#!/usr/bin/env bash
# One-shot GPU check (about 5-8 minutes on an H200): build with CUDA, time full training
# steps at batch 512 / width 64, then pretrain on CIFAR-10 for a few epochs and print
# views/s and kNN accuracy per epoch.
#
#   scripts/gpu-check.sh [CIFAR10_DIR_OR_BATCH_FILE] [EPOCHS]
#
# The data may be the full cifar-10-batches-bin folder or a single data_batch_N.bin (a
# smaller copy to carry to a remote machine); a single batch has no test split, so the
# kNN monitor is then skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${SIMCLR_CIFAR10_DIR:-../shared/datasets/cifar-10-batches-bin}}"
epochs="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "== build (release, cuda)"
time cargo build --release -p simclr-cli --features cuda
bin="$CARGO_TARGET_DIR/release/simclr"

echo "== bench: batch 512, width 64"
"$bin" bench --backend cuda --batch-size 512 --width 64 --steps 10 --warmup 3
echo "== bench: batch 512, width 16"
"$bin" bench --backend cuda --batch-size 512 --width 16 --steps 10 --warmup 3

echo "== pretrain on CIFAR-10: $epochs epochs, paper recipe"
run="$(mktemp -d)/run"
time "$bin" pretrain --backend cuda --data "$data" --preset paper --epochs "$epochs" \
    --warmup-epochs 1 --run-dir "$run"
cat "$run/metrics.csv"

# Several GPUs: data-parallel scaling at a fixed global batch per GPU (weak scaling: each
# GPU keeps 512 images), views/s and efficiency against one GPU.
gpus="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l || echo 0)"
if [ "$gpus" -gt 1 ]; then
    echo "== multi-device: 1 to $gpus GPUs, 512 images per GPU, width 64, --sync-bn"
    one=""
    for n in $(seq 1 "$gpus"); do
        line="$("$bin" bench --backend cuda --batch-size $((512 * n)) --width 64 --steps 10 \
            --warmup 3 --devices "$n" --sync-bn)"
        echo "$line"
        views="$(echo "$line" | sed -E 's/.*"views_per_s":([0-9.e+-]+).*/\1/')"
        [ -z "$one" ] && one="$views"
        awk -v n="$n" -v v="$views" -v one="$one" \
            'BEGIN { printf "   %d GPU(s): %.0f views/s, scaling efficiency %.1f%%\n", n, v, 100 * v / (n * one) }'
    done
else
    echo "== multi-device: skipped ($gpus GPU visible)"
fi
