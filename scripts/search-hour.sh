#!/usr/bin/env bash
# The cifar10-hour recipe search (issue 27): every candidate pretrains on all 50,000
# CIFAR-10 training images for the same wall-clock budget, and the kNN monitor's top-1 at
# the end of its (shortened, fully scheduled) run is the proxy.
#
# Two passes, so that the search's results do not depend on what else the machine does:
# 1. calibrate: each candidate's views/s from a short run, all of them one after the
#    other on an otherwise idle machine; its budget becomes a step count;
# 2. train: each candidate for its steps (deterministic: the same steps give the same
#    result however busy the machine is), a tenth of them warming up, then one TSV row.
# Candidates of the same compute (same width, batch and view size) should share one
# calibration figure: average their lines of calibration.txt before training.
#
#   scripts/search-hour.sh [calibrate|train|all]     (all: both)
#
# Environment: SIMCLR_BIN (default: the release binary), SIMCLR_CIFAR10_DIR, OUT (default
# runs/search-hour), BUDGET seconds per candidate (default 360), CANDIDATES (names to run;
# default all).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIMCLR_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}/release/simclr}
DATA=${SIMCLR_CIFAR10_DIR:?set SIMCLR_CIFAR10_DIR to the cifar-10-batches-bin folder}
OUT=${OUT:-runs/search-hour}
BUDGET=${BUDGET:-360}
mkdir -p "$OUT"
# shellcheck source=scripts/candidates.sh
. scripts/candidates.sh

# name | flags over the small preset | TOML keys (view size, kNN)
CANDIDATES_TABLE='
base      | --width 16 --batch-size 128 |
w8        | --width 8 --batch-size 128 |
w32       | --width 32 --batch-size 128 |
b256      | --width 16 --batch-size 256 --lr 0.002 |
tau02     | --width 16 --batch-size 128 --temperature 0.2 |
jitter1   | --width 16 --batch-size 128 --color-jitter 1.0 |
px24      | --width 16 --batch-size 128 | image_size = 24
lars      | --width 16 --batch-size 256 --optimizer lars --lr 1.0 |
tau01     | --width 16 --batch-size 128 --temperature 0.1 |
w8tau02   | --width 8 --batch-size 128 --temperature 0.2 |
px24tau02 | --width 16 --batch-size 128 --temperature 0.2 | image_size = 24
px24tau01 | --width 16 --batch-size 128 --temperature 0.1 | image_size = 24
'

# The same monitor for every candidate: 10,000 training and 2,000 test images, k 200.
knn_toml() {
    printf '%s\n[knn]\ntrain_samples = 10000\ntest_samples = 2000\nk = 200\n' "$1"
}

calibrate() {
    candidates | while IFS='|' read -r name flags toml; do
        dir="$OUT/calibrate/$name"
        rm -rf "$dir"
        mkdir -p "$dir"
        knn_toml "$toml" >"$dir.toml"
        # 30 steps of the candidate's batch: the first few (allocation, caches) are in it, as
        # they are in the real run.
        # shellcheck disable=SC2086
        "$BIN" pretrain --preset small --data "$DATA" --config "$dir.toml" $flags \
            --max-steps 30 --epochs 1 --knn-every 0 --run-dir "$dir/run" 2>/dev/null
        vps=$(last_metric "$dir/run/metrics.csv" views_per_s)
        echo "$name $vps" | tee -a "$OUT/calibration.txt"
    done
}

train() {
    # Appends, so that a second CANDIDATES pass keeps the first pass's rows.
    [ -f "$OUT/results.tsv" ] ||
        printf 'name\tflags\ttoml\tviews_per_s\tsteps\tepochs\tseconds\tloss\tknn_top1\n' >"$OUT/results.tsv"
    candidates | while IFS='|' read -r name flags toml; do
        vps=$(awk -v n="$name" '$1 == n {v = $2} END {print v}' "$OUT/calibration.txt")
        batch=$(echo "$flags" | sed -n 's/.*--batch-size \([0-9]*\).*/\1/p')
        steps=$(python3 -c "print(int($BUDGET * $vps / (2 * $batch)))")
        epochs=$(python3 -c "import math; print(max(1, math.ceil($steps / (50000 // $batch))))")
        # A tenth of the run warms up, as 6 of the hour's ~60 minutes would: the presets'
        # warm-ups (1 epoch for Adam, 10 for LARS) would be most of a shortened run.
        warmup=$(python3 -c "print(round(0.1 * $steps / (50000 // $batch), 3))")
        dir="$OUT/train/$name"
        rm -rf "$dir"
        mkdir -p "$dir"
        knn_toml "$toml" >"$dir.toml"
        start=$(date +%s)
        # shellcheck disable=SC2086
        "$BIN" pretrain --preset small --data "$DATA" --config "$dir.toml" $flags \
            --max-steps "$steps" --epochs "$epochs" --warmup-epochs "$warmup" \
            --knn-every 1000 --checkpoint-every 0 \
            --run-dir "$dir/run" 2>"$dir/stderr.txt"
        seconds=$(($(date +%s) - start))
        loss=$(last_metric "$dir/run/metrics.csv" loss)
        knn=$(last_metric "$dir/run/metrics.csv" knn_top1)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$flags" "$toml" "$vps" \
            "$steps" "$epochs" "$seconds" "$loss" "$knn" | tee -a "$OUT/results.tsv"
    done
}

case "${1:-all}" in
calibrate) calibrate ;;
train) train ;;
all) calibrate && train ;;
*) echo "usage: $0 [calibrate|train|all]" >&2; exit 2 ;;
esac
