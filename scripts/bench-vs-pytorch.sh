#!/usr/bin/env bash
# The CPU training step side by side with PyTorch fp32 on this machine: `simclr bench`
# as `cargo run` builds it (dev profile) and scripts/pytorch_step.py (the same step),
# alternated for three rounds; prints both views/s and the median ratio per width.
# Not part of CI. PyTorch lives in its own venv outside the repository.
#
#   scripts/bench-vs-pytorch.sh [WIDTH...]      (default: 64 16)
# Environment: ROUNDS (3), BATCH_SIZE (64), STEPS (3), WARMUP (1),
#              TORCH_VENV (~/.cache/simclr-torch-venv), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3}
batch=${BATCH_SIZE:-64}
steps=${STEPS:-3}
warmup=${WARMUP:-1}
venv=${TORCH_VENV:-$HOME/.cache/simclr-torch-venv}
widths=("$@")
[ ${#widths[@]} -gt 0 ] || widths=(64 16)

if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  echo "setting up PyTorch in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch
fi

cargo build --quiet -p simclr-cli
simclr="${CARGO_TARGET_DIR:-target}/debug/simclr"

views_per_s() { sed -n 's/.*"views_per_s": *\([0-9.eE+-]*\).*/\1/p' | tail -n 1; }

"$simclr" bench --gemm-only
for width in "${widths[@]}"; do
  ratios=()
  for round in $(seq "$rounds"); do
    ours=$("$simclr" bench --width "$width" --batch-size "$batch" --steps "$steps" \
      --warmup "$warmup" --optimizer adam | views_per_s)
    torch=$("$venv/bin/python" -W ignore scripts/pytorch_step.py --width "$width" \
      --batch-size "$batch" --steps "$steps" --warmup "$warmup" 2>/dev/null | views_per_s)
    ratio=$(python3 -c "print(f'{$ours / $torch:.3f}')")
    ratios+=("$ratio")
    printf 'width %3s round %s: simclr %8.2f views/s, pytorch %8.2f views/s, ratio %s\n' \
      "$width" "$round" "$ours" "$torch" "$ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "$(((rounds + 1) / 2))p")
  echo "width $width: median ratio simclr / pytorch = $median (batch $batch, $rounds rounds)"
done
