#!/usr/bin/env bash
# The PyTorch peer of the cifar10-hour study (issue 27): the same recipe in PyTorch
# (scripts/pytorch_hour.py) for the same wall-clock pretraining time on this machine, then
# its encoder through the study's own probes (`simclr probe --weights`: linear and MLP at
# 1 / 10 / 100% labels, 3 label subsets, the 10,000 test images), so that only the
# pretraining differs between the two rows.
#
#   scripts/peer-hour.sh [STUDY]     STUDY: the Rust study folder (runs/experiment-cifar10-hour)
#
# The budget is the study's pretraining wall time from STUDY/phases.json (MINUTES overrides
# it). Run it on an otherwise idle machine, as the study ran.
#
# Environment: SIMCLR_BIN (default: the release binary), SIMCLR_CIFAR10_DIR, PYTHON (one
# with torch, safetensors and numpy), OUT (default runs/pytorch-hour), MINUTES.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIMCLR_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/simclr-target}/release/simclr}
DATA=${SIMCLR_CIFAR10_DIR:?set SIMCLR_CIFAR10_DIR to the cifar-10-batches-bin folder}
PY=${PYTHON:-python3}
STUDY=${1:-runs/experiment-cifar10-hour}
OUT=${OUT:-runs/pytorch-hour}

if [ -z "${MINUTES:-}" ]; then
    [ -f "$STUDY/phases.json" ] || {
        echo "error: $STUDY/phases.json not found: run the study first, or set MINUTES" >&2
        exit 2
    }
    MINUTES=$("$PY" - "$STUDY/phases.json" <<'EOF'
import json, sys
phases = json.load(open(sys.argv[1]))
print(round(phases["1 pretrain"] / 60, 2))
EOF
)
fi
echo "PyTorch peer: $MINUTES minutes of pretraining into $OUT" >&2
"$PY" scripts/pytorch_hour.py --data "$DATA" --out "$OUT" --minutes "$MINUTES"
"$BIN" probe --weights "$OUT/encoder.safetensors" --data "$DATA" \
    --label-fraction 0.01,0.1,1 --head linear,mlp --seeds 3 --out "$OUT/probe.json"
