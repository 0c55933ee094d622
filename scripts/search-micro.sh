#!/usr/bin/env bash
# The page's default run (the `micro` preset) searched for a map that groups the classes
# (issue 27, part 2; results in docs/main-job.md). Each candidate pretrains natively on the
# built-in images for several seeds, on one thread as the page's worker runs where the
# page cannot be isolated, and gives one row per seed: its linear probe at 10 / 100%
# labels (3 label subsets, the 512 test images) against the random encoder of the same
# seed, and the 2-D 1-NN accuracy of t-SNE and UMAP maps of 300 test images, as the page
# draws them.
#
#   scripts/search-micro.sh
#
# Environment: SIMCLR_BIN (default: the release binary), OUT (default runs/search-micro),
# SEEDS (default "0 1 2"), CANDIDATES (names to run; default all), THREADS (default 1),
# PYTHON (one with numpy, for the 1-NN of the features themselves; default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIMCLR_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}/release/simclr}
OUT=${OUT:-runs/search-micro}
SEEDS=${SEEDS:-0 1 2}
PY=${PYTHON:-python3}
export RAYON_NUM_THREADS=${THREADS:-1}
mkdir -p "$OUT"
# shellcheck source=scripts/candidates.sh
. scripts/candidates.sh

# name | flags over the micro preset | TOML keys (view size). Every candidate names its
# epochs, τ and view size, so that the table means the same runs whatever the preset holds
# (`before` is the preset until issue 27, `chosen` the one after).
CANDIDATES_TABLE='
before        | --epochs 10 --temperature 0.2 | image_size = 32
tau01         | --epochs 10 --temperature 0.1 | image_size = 32
lr5           | --epochs 10 --temperature 0.2 --lr 0.005 | image_size = 32
lr2           | --epochs 10 --temperature 0.2 --lr 0.002 | image_size = 32
lr5tau01      | --epochs 10 --temperature 0.1 --lr 0.005 | image_size = 32
px24          | --epochs 10 --temperature 0.2 | image_size = 24
px24tau01     | --epochs 10 --temperature 0.1 | image_size = 24
px24w6tau01   | --epochs 10 --temperature 0.1 --width 6 | image_size = 24
px24e18       | --epochs 18 --temperature 0.2 | image_size = 24
px24e18lr5    | --epochs 18 --temperature 0.2 --lr 0.005 | image_size = 24
px24e18tau005 | --epochs 18 --temperature 0.05 | image_size = 24
px24e18tau01  | --epochs 18 --temperature 0.1 | image_size = 24
px20e25tau01  | --epochs 25 --temperature 0.1 | image_size = 20
px16e30       | --epochs 30 --temperature 0.2 | image_size = 16
px16e30tau01  | --epochs 30 --temperature 0.1 | image_size = 16
chosen        | --epochs 30 --temperature 0.1 | image_size = 24
px24e36tau01  | --epochs 36 --temperature 0.1 | image_size = 24
'

# "10% 100%" linear top-1 of a probe.json, in percent.
probe_pair() {
    python3 - "$1" <<'EOF'
import json, sys
rows = {r["label_fraction"]: r["top1"] for r in json.load(open(sys.argv[1])) if r["head"] == "linear"}
print(f"{100 * rows[0.1]:.1f}\t{100 * rows[1.0]:.1f}")
EOF
}

# Leave-one-out 1-NN accuracy of the features `h` themselves (all test images), by
# Euclidean and by cosine distance: what a 2-D map can at best keep.
feature_nn() {
    "$PY" - "$1" "$2" <<'EOF'
import sys
import numpy as np
h = np.load(sys.argv[1]).astype(np.float64)
y = np.load(sys.argv[2])
def loo(x):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return 100 * (y[d.argmin(1)] == y).mean()
unit = h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
print(f"{loo(h):.1f}\t{loo(unit):.1f}")
EOF
}

# The 1-NN figure `simclr tsne` prints.
map_nn() {
    sed -n 's/.*2-D 1-NN accuracy \([0-9.]*\)%.*/\1/p' "$1"
}

[ -f "$OUT/results.tsv" ] ||
    printf 'name\tflags\tseed\tseconds\tloss\tprobe10\tprobe100\trandom10\trandom100\ttsne_nn\tumap_nn\th_nn\th_cos_nn\n' >"$OUT/results.tsv"
candidates | while IFS='|' read -r name flags toml; do
    for seed in $SEEDS; do
        dir="$OUT/$name/seed-$seed"
        rm -rf "$dir"
        mkdir -p "$dir"
        echo "$toml" >"$dir/settings.toml"
        start=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$BIN" pretrain --preset micro --config "$dir/settings.toml" $flags --seed "$seed" --knn-every 0 \
            --run-dir "$dir/run" 2>"$dir/pretrain.txt"
        seconds=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
        width=$(python3 -c "import json; print(json.load(open('$dir/run/config.json'))['width'])")
        loss=$(printf '%.3f' "$(last_metric "$dir/run/metrics.csv" loss)")
        "$BIN" probe --run-dir "$dir/run" --label-fraction 0.1,1 --head linear --seeds 3 \
            --out "$dir/probe.json" >/dev/null 2>&1
        "$BIN" probe --random-init --width "$width" --seed "$seed" --synthetic-train 1024 \
            --synthetic-test 512 --label-fraction 0.1,1 --head linear --seeds 3 \
            --out "$dir/random.json" >/dev/null 2>&1
        "$BIN" embed --run-dir "$dir/run" --out "$dir/h.npy" 2>/dev/null
        for method in tsne umap; do
            "$BIN" tsne --run-dir "$dir/run" --points 300 --method "$method" \
                --out "$dir/$method" 2>"$dir/$method.txt"
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$flags" "$seed" "$seconds" \
            "$loss" "$(probe_pair "$dir/probe.json")" "$(probe_pair "$dir/random.json")" \
            "$(map_nn "$dir/tsne.txt")" "$(map_nn "$dir/umap.txt")" \
            "$(feature_nn "$dir/h.npy" "$dir/h.labels.npy")" | tee -a "$OUT/results.tsv"
    done
done
