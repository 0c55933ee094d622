#!/usr/bin/env bash
# Hostile and careless inputs against a `simclr` binary, one table row each: the exit
# status (101 = panic, 124 = hung past the limit, 134/137 = abort or out of memory) and the
# first line of what it said. Used for issue 11's before/after table:
#   scripts/hardening-cases.sh path/to/simclr > cases.md
set -u
bin=$(realpath "${1:?usage: hardening-cases.sh SIMCLR_BINARY}")
limit=${CASE_TIMEOUT:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
small=(--synthetic-train 100 --synthetic-test 50)
tiny=(--preset tiny --width 4 --batch-size 25 --epochs 1 "${small[@]}")

row() { # category, description, command...
  local category=$1 what=$2
  shift 2
  local dir="$work/case"
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$work/fixtures/." "$dir/" 2>/dev/null
  local out status
  out=$(cd "$dir" && ulimit -v 8000000 && timeout "$limit" "$@" 2>&1 >/dev/null)
  status=$?
  local said
  # The error when there is one, else the first thing said.
  said=$(printf '%s\n' "$out" | grep -m1 -E "^(error|thread|memory allocation|fatal)" ||
    printf '%s\n' "$out" | grep -v '^\s*$' | head -1)
  said=$(printf '%s' "$said" | cut -c1-150)
  said=${said//|/\\|}
  printf '| %s | %s | %s | %s |\n' "$category" "$what" "$status" "$said"
}

mkdir -p "$work/fixtures"
(
  cd "$work/fixtures"
  "$bin" pretrain --run-dir adam --optimizer adam "${tiny[@]}" >/dev/null 2>&1
  "$bin" export --run-dir adam --out enc.safetensors >/dev/null 2>&1
  printf 'epochz = 3\n' >typo.toml
  printf '[knn]\nk = 0\n' >knn0.toml
  mkdir -p stl && head -c 27648 /dev/zero >stl/train_X.bin && mkdir stl/train_y.bin
  mkdir -p folder/cat folder/dog
  "$bin" augment-preview --out folder/cat/a.png --count 1 >/dev/null 2>&1
  cp folder/cat/a.png folder/dog/b.png
  mkfifo fifo.bin
  python3 - <<'PY'
import json, struct
def tensor_file(meta, conv1_shape):
    n = 1
    for d in conv1_shape: n *= d
    header = {"__metadata__": meta,
              "conv1.weight": {"dtype": "F32", "shape": conv1_shape, "data_offsets": [0, 4 * n]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"\0" * (4 * n)
open("wide.safetensors", "wb").write(tensor_file({"width": "100000"}, [4, 3, 3, 3]))
ck = open("adam/checkpoints/last.ckpt", "rb").read()
flipped = bytearray(ck); flipped[len(ck) // 2] ^= 1
open("flipped.ckpt", "wb").write(bytes(flipped))
PY
)

echo "| category | case | exit | first line said |"
echo "| --- | --- | ---: | --- |"
row 1-panic "--epochs 2^64-1" "$bin" pretrain --run-dir r --epochs 18446744073709551615 "${tiny[@]:0:6}" "${small[@]}"
row 1-panic "knn.k = 0 in a config file" "$bin" pretrain --run-dir r --config knn0.toml "${tiny[@]}"
row 1-panic "--image-size 0 (folder data)" "$bin" pretrain --run-dir r --data folder --image-size 0 "${tiny[@]}"
row 1-panic "supervised --width 0" "$bin" supervised --run-dir s --width 0 "${small[@]}"
row 2-memory "--width 100000" "$bin" pretrain --run-dir r --width 100000 --preset tiny "${small[@]}"
row 2-memory "--image-size 100000 (folder data)" "$bin" pretrain --run-dir r --data folder --image-size 100000 "${tiny[@]}"
row 2-memory "safetensors metadata width 100000" "$bin" embed --weights wide.safetensors --out h.npy "${small[@]}"
row 2-memory "augment-preview --count 10^9" "$bin" augment-preview --out p.png --count 1000000000
row 2-memory "tsne --points 10^9" "$bin" tsne --random-init --width 4 --points 1000000000 --out t "${small[@]}"
row 3-non-finite "--warmup-epochs nan" "$bin" pretrain --run-dir r --warmup-epochs nan "${tiny[@]}"
row 3-non-finite "--temperature inf" "$bin" pretrain --run-dir r --temperature inf "${tiny[@]}"
row 3-non-finite "--color-jitter inf" "$bin" pretrain --run-dir r --color-jitter inf "${tiny[@]}"
row 3-non-finite "supervised --lr nan" "$bin" supervised --run-dir s --lr nan "${small[@]}"
row 3-non-finite "tsne --perplexity 0" "$bin" tsne --random-init --width 4 --perplexity 0 --out t "${small[@]}"
row 3-non-finite "tsne --iterations 0" "$bin" tsne --random-init --width 4 --iterations 0 --out t "${small[@]}"
row 4-stuck "--stop-after-epoch 0, then --resume" bash -c "'$bin' pretrain --run-dir r --stop-after-epoch 0 ${tiny[*]} >/dev/null 2>&1; '$bin' pretrain --run-dir r --resume"
row 4-stuck "--resume where no run started" "$bin" pretrain --run-dir fresh --resume "${tiny[@]}"
row 5-resume "--resume --width 8 on a width-4 run" "$bin" pretrain --run-dir adam --resume --width 8
row 5-resume "--resume --optimizer sgd on an Adam run" "$bin" pretrain --run-dir adam --resume --optimizer sgd
row 5-resume "--resume --lr nan" "$bin" pretrain --run-dir adam --resume --lr nan
row 5-resume "a byte flipped in last.ckpt" bash -c "cp flipped.ckpt adam/checkpoints/last.ckpt && '$bin' pretrain --run-dir adam --resume"
row 5-resume "embed from a flipped last.ckpt" bash -c "cp flipped.ckpt adam/checkpoints/last.ckpt && '$bin' embed --run-dir adam --out h.npy"
row 6-writes "export --out over the run's last.ckpt" "$bin" export --run-dir adam --out adam/checkpoints/last.ckpt --force
row 6-writes "embed --out over an existing file" bash -c "touch h.npy && '$bin' embed --run-dir adam --out h.npy"
row 7-errors "unknown key in a config file" "$bin" pretrain --run-dir r --config typo.toml "${tiny[@]}"
row 7-errors "a folder as STL-10's label file" "$bin" pretrain --run-dir r --data stl --dataset stl10 "${tiny[@]}"
row 7-errors "a FIFO as --data" "$bin" pretrain --run-dir r --data fifo.bin "${tiny[@]}"
row 7-errors "a 1-byte CIFAR-10 batch" bash -c "printf x > data_batch_1.bin && '$bin' pretrain --run-dir r --data data_batch_1.bin ${tiny[*]}"
