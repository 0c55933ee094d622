"""The device-side GPU check, and the CIFAR-10 part that the kit carries.

    python3 scripts/gpu_check.py run --bin SIMCLR --data PART.tar.gz --out DIR [--rehearse]
    python3 scripts/gpu_check.py pack-cifar --from CIFAR_DIR --out PART.tar.gz --train N --test M

`run` is what scripts/gpu-check.sh calls on the GPU machine, which has Python, PyTorch and
CUDA but no Rust: it runs the prebuilt `simclr` binary section by section (bench on CUDA,
bench on the GPU's Vulkan through wgpu, the same step in PyTorch fp32 and bf16, a short
CIFAR-10 pretraining with the kNN monitor, `embed` on CUDA and on the CPU compared), each
under its own time limit and all under one deadline, and writes DIR/gpu-check.log (every
command and what it printed) and DIR/gpu-check.json (the summary). A failing section is
recorded and the next one runs; the exit status is 1 when any section failed.

`--rehearse` runs the same sections at tiny sizes on this machine, on the CPU backend (and
on wgpu where the binary has it and a Vulkan device exists, e.g. lavapipe), with PyTorch
where it is installed: CI runs it so that the script cannot rot between GPU sessions.

Standard library only: the device's Python has PyTorch, CI's has nothing else.
"""

import argparse
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

RECORD = 3073  # CIFAR-10: one label byte and 3,072 pixel bytes
HERE = Path(__file__).resolve().parent

# Sizes and limits: the GPU run fits in 8 minutes; the rehearsal in about 2 on 2 cores.
GPU = {
    "backend": "cuda",
    "deadline_s": 450,
    "bench": [(64, 512), (16, 512)],
    "bench_steps": ["--steps", "10", "--warmup", "3"],
    "wgpu_bench": (16, 512),
    "pretrain": ["--preset", "paper", "--epochs", "3", "--warmup-epochs", "1"],
    "torch_device": "cuda",
    "torch_precisions": ["fp32", "bf16"],
    "torch_steps": ["--steps", "10", "--warmup", "3"],
    "limits": {"bench": 150, "torch": 120, "pretrain": 240, "embed": 120, "wgpu": 150},
}
REHEARSE = {
    "backend": "cpu",
    "deadline_s": 420,
    "bench": [(8, 16), (4, 16)],
    "bench_steps": ["--steps", "2", "--warmup", "1"],
    "wgpu_bench": (4, 8),
    "pretrain": [
        "--preset", "tiny", "--width", "4", "--batch-size", "32", "--epochs", "2",
        "--train-images", "256",
    ],
    "torch_device": "cpu",
    "torch_precisions": ["fp32"],
    "torch_steps": ["--steps", "2", "--warmup", "1"],
    "limits": {"bench": 120, "torch": 120, "pretrain": 180, "embed": 120, "wgpu": 180},
}


class Check:
    """Runs commands into one log and collects the summary."""

    def __init__(self, out: Path, profile: dict, rehearse: bool):
        self.out = out
        self.profile = profile
        self.start = time.monotonic()
        self.log = open(out / "gpu-check.log", "w", encoding="utf-8")
        self.summary = {
            "mode": "rehearse" if rehearse else "gpu",
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "sections": {},
        }

    def say(self, text: str):
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def left(self) -> float:
        return self.profile["deadline_s"] - (time.monotonic() - self.start)

    def command(self, name: str, argv: list, limit: float) -> str:
        """Runs argv, logs it; returns stdout or raises with the reason."""
        limit = min(limit, self.left())
        if limit < 10:
            raise Skipped("the script's deadline has passed")
        self.say(f"$ {' '.join(str(a) for a in argv)}")
        try:
            done = subprocess.run(
                [str(a) for a in argv], capture_output=True, text=True, timeout=limit
            )
        except subprocess.TimeoutExpired as e:
            self.say(tail(e.stderr))
            raise Failed(f"{name}: no answer within {limit:.0f} s") from None
        self.say(done.stdout.rstrip())
        if done.stderr.strip():
            self.say(tail(done.stderr))
        if done.returncode != 0:
            raise Failed(f"{name}: exit {done.returncode}: {last_line(done.stderr)}")
        return done.stdout

    def section(self, name: str, work):
        """Runs one section; records its result, or why it failed or was skipped."""
        self.say(f"\n== {name}")
        begun = time.monotonic()
        entry = {}
        try:
            entry = {"status": "ok", "result": work()}
        except Skipped as e:
            entry = {"status": "skipped", "why": str(e)}
            self.say(f"skipped: {e}")
        except Failed as e:
            entry = {"status": "failed", "why": str(e)}
            self.say(f"FAILED: {e}")
        except Exception as e:  # a bug of this script's, or a file the binary did not write
            entry = {"status": "failed", "why": f"{type(e).__name__}: {e}"}
            self.say(f"FAILED: {type(e).__name__}: {e}")
        entry["seconds"] = round(time.monotonic() - begun, 1)
        self.summary["sections"][name] = entry
        return entry.get("result")

    def finish(self) -> int:
        sections = self.summary["sections"]
        self.summary["seconds"] = round(time.monotonic() - self.start, 1)
        self.summary["failed"] = [n for n, s in sections.items() if s["status"] == "failed"]
        (self.out / "gpu-check.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        self.say("\n== summary")
        for name, entry in sections.items():
            self.say(f"{name:28} {entry['status']:8} {entry['seconds']:7.1f} s  {brief(entry)}")
        self.say(f"written: {self.out / 'gpu-check.json'}, {self.out / 'gpu-check.log'}")
        return 1 if self.summary["failed"] else 0


class Failed(Exception):
    pass


class Skipped(Exception):
    pass


def tail(text, lines=25) -> str:
    text = text if isinstance(text, str) else (text or b"").decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def last_line(text: str) -> str:
    """The last line that names an error (a traceback ends in notes), else the last."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    # simclr's "error: …" or Python's "torch.AcceleratorError: …".
    errors = [l for l in lines if re.match(r"error:|[\w.]+(Error|Exception): ", l)]
    return (errors or lines or ["(nothing on stderr)"])[-1]


def brief(entry: dict) -> str:
    if entry["status"] != "ok":
        return entry["why"]
    result = entry["result"]
    if isinstance(result, dict):
        keys = ["views_per_s", "ratio", "max_relative", "final_knn", "gpu"]
        return ", ".join(f"{k} {fmt(result[k])}" for k in keys if k in result)
    return ""


def fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def json_line(stdout: str, what: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise Failed(f"{what}: no JSON line in its output")


def read_npy(path: Path) -> tuple:
    """A little-endian float32 2-D `.npy` file as (rows, cols, values)."""
    data = path.read_bytes()
    if data[:6] != b"\x93NUMPY":
        raise Failed(f"{path}: not a .npy file")
    header_len = struct.unpack("<H", data[8:10])[0]
    header = data[10 : 10 + header_len].decode("latin-1")
    if "'<f4'" not in header:
        raise Failed(f"{path}: not float32 ({header.strip()})")
    shape = header.split("'shape': (")[1].split(")")[0]
    rows, cols = (int(x) for x in shape.split(",")[:2])
    count = rows * cols
    values = struct.unpack(f"<{count}f", data[10 + header_len : 10 + header_len + 4 * count])
    return rows, cols, values


def compare_features(a: Path, b: Path) -> dict:
    """Largest per-row ‖a − b‖ / ‖b‖ and the largest |a − b| over max |b|."""
    ra, ca, va = read_npy(a)
    rb, cb, vb = read_npy(b)
    if (ra, ca) != (rb, cb):
        raise Failed(f"shapes differ: {ra}x{ca} vs {rb}x{cb}")
    worst_row, worst_abs, scale = 0.0, 0.0, 0.0
    for r in range(ra):
        x, y = va[r * ca : (r + 1) * ca], vb[r * cb : (r + 1) * cb]
        diff = sum((p - q) ** 2 for p, q in zip(x, y))
        norm = sum(q * q for q in y)
        if norm == 0.0:
            raise Failed(f"row {r} of {b} is all zeros")
        worst_row = max(worst_row, math.sqrt(diff / norm))
        worst_abs = max(worst_abs, max(abs(p - q) for p, q in zip(x, y)))
        scale = max(scale, max(abs(q) for q in y))
    return {"rows": ra, "cols": ca, "max_relative": worst_row, "max_abs_over_max": worst_abs / scale}


def nvidia_smi(check: Check) -> dict:
    query = "name,memory.total,driver_version,compute_cap"
    out = check.command(
        "nvidia-smi", ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], 30
    )
    gpus = [line.strip() for line in out.strip().splitlines() if line.strip()]
    if not gpus:
        raise Failed("nvidia-smi lists no GPU")
    return {"gpu": gpus[0], "count": len(gpus), "all": gpus}


def bench(check: Check, binary: str, backend: str, width: int, batch: int, limit: str) -> dict:
    argv = [binary, "bench", "--backend", backend, "--width", width, "--batch-size", batch,
            "--optimizer", "adam", *check.profile["bench_steps"]]
    return json_line(check.command("bench", argv, check.profile["limits"][limit]), "bench")


def torch_python() -> str:
    """The Python with PyTorch: TORCH_PYTHON, else scripts/bench-vs-pytorch.sh's venv
    where it exists, else this one."""
    venv = Path.home() / ".cache/simclr-torch-venv/bin/python"
    return os.environ.get("TORCH_PYTHON") or (str(venv) if venv.exists() else sys.executable)


def torch_step(check: Check, width: int, batch: int, precision: str) -> dict:
    python = torch_python()
    found = subprocess.run([python, "-c", "import torch"], capture_output=True, timeout=120)
    if found.returncode != 0:
        raise Skipped(f"PyTorch is not installed for {python}")
    argv = [python, "-W", "ignore", HERE / "pytorch_step.py", "--device",
            check.profile["torch_device"], "--precision", precision, "--width", width,
            "--batch-size", batch, *check.profile["torch_steps"]]
    return json_line(check.command("pytorch", argv, check.profile["limits"]["torch"]), "pytorch")


def pretrain(check: Check, binary: str, data, run: Path) -> dict:
    argv = [binary, "pretrain", "--backend", check.profile["backend"], "--run-dir", run,
            "--knn-every", "1", *check.profile["pretrain"]]
    if data:
        argv += ["--data", data]
    check.command("pretrain", argv, check.profile["limits"]["pretrain"])
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    header = rows[0].split(",")
    epochs = [dict(zip(header, r.split(","))) for r in rows[1:]]
    epochs = [{k: float(v) if v not in ("", "nan") else None for k, v in e.items()} for e in epochs]
    if not epochs:
        raise Failed("pretrain wrote no epoch row")
    return {"epochs": epochs, "final_knn": epochs[-1].get("knn_top1"),
            "views_per_s": epochs[-1].get("views_per_s")}


def embed_agreement(check: Check, binary: str, data, run: Path, backends: tuple) -> dict:
    weights = check.out / "encoder.safetensors"
    check.command("export", [binary, "export", "--run-dir", run, "--out", weights, "--force"], 60)
    outputs = []
    for index, backend in enumerate(backends):
        out = check.out / f"h{index}-{backend}.npy"
        argv = [binary, "embed", "--weights", weights, "--backend", backend, "--out", out,
                "--force", "--split", "test"]
        if data:
            argv += ["--data", data]
        else:
            argv += ["--synthetic-test", "256"]
        check.command(f"embed on {backend}", argv, check.profile["limits"]["embed"])
        outputs.append(out)
    result = compare_features(outputs[0], outputs[1])
    result["backends"] = list(backends)
    for out in outputs:
        out.unlink()
        Path(str(out)[: -len(".npy")] + ".labels.npy").unlink(missing_ok=True)
    if result["max_relative"] > 1e-4:
        raise Failed(f"features differ: {result}")
    return result


def has_wgpu(binary: str) -> bool:
    """Whether the binary was built with wgpu: `--version` lists its backends."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    backends = done.stdout.split("backends:")[-1] if "backends:" in done.stdout else ""
    return "wgpu" in backends


def run(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    profile = REHEARSE if args.rehearse else GPU
    check = Check(out, profile, args.rehearse)
    binary, data, backend = args.bin, args.data, profile["backend"]
    check.say(f"simclr gpu check ({check.summary['mode']}): {binary}, data {data or 'synthetic'}")
    if args.rehearse:
        check.section("device", lambda: (_ for _ in ()).throw(Skipped("rehearsal: no GPU")))
    else:
        check.section("device", lambda: nvidia_smi(check))

    width, batch = profile["bench"][0]
    ours = check.section(f"bench {backend} w{width} b{batch}",
                         lambda: bench(check, binary, backend, width, batch, "bench"))
    torch_results = {}
    for precision in profile["torch_precisions"]:
        torch_results[precision] = check.section(
            f"pytorch {precision} w{width} b{batch}",
            lambda p=precision: torch_step(check, width, batch, p))
    run_dir = out / "run"
    # The folder is this script's: a run left by an earlier check is not resumed.
    shutil.rmtree(run_dir, ignore_errors=True)
    trained = check.section("pretrain cifar10" if data else "pretrain synthetic",
                            lambda: pretrain(check, binary, data, run_dir))
    # Rehearsed on wgpu (lavapipe in CI) where the binary has it: a GPU code path either way.
    accelerator = "wgpu" if args.rehearse and has_wgpu(binary) else backend
    check.section(f"embed {accelerator} vs cpu",
                  lambda: embed_agreement(check, binary, data, run_dir, (accelerator, "cpu"))
                  if trained else skip("no trained run to export"))
    width2, batch2 = profile["bench"][1]
    check.section(f"bench {backend} w{width2} b{batch2}",
                  lambda: bench(check, binary, backend, width2, batch2, "bench"))
    check.section(f"pytorch fp32 w{width2} b{batch2}",
                  lambda: torch_step(check, width2, batch2, "fp32"))
    ww, wb = profile["wgpu_bench"]
    check.section(f"bench wgpu w{ww} b{wb}",
                  lambda: bench(check, binary, "wgpu", ww, wb, "wgpu")
                  if has_wgpu(binary) else skip("this binary has no wgpu backend"))
    check.summary["ratios"] = ratios(check.summary["sections"])
    for name, value in check.summary["ratios"].items():
        check.say(f"ratio {name}: {value:.3f}")
    return check.finish()


def skip(why: str):
    raise Skipped(why)


def ratios(sections: dict) -> dict:
    """simclr's views/s over PyTorch's on the same model and batch, per precision."""
    views = {n: s["result"]["views_per_s"] for n, s in sections.items()
             if s["status"] == "ok" and isinstance(s.get("result"), dict)
             and "views_per_s" in s["result"] and not n.startswith("pretrain")}
    found = {}
    for name, value in views.items():
        if not name.startswith("bench") or name.startswith("bench wgpu"):
            continue
        shape = name.split(" ", 2)[2]
        for torch_name, torch_value in views.items():
            if torch_name.startswith("pytorch") and torch_name.endswith(shape):
                precision = torch_name.split(" ")[1]
                found[f"simclr/pytorch-{precision} {shape}"] = value / torch_value
    return found


def pack_cifar(args) -> int:
    """A `.tar.gz` holding the first N training and M test records of CIFAR-10 (the
    archive loader takes any subset of the batch files, each a whole number of records)."""
    source = Path(args.source)
    train = (source / "data_batch_1.bin").read_bytes()[: args.train * RECORD]
    test = (source / "test_batch.bin").read_bytes()[: args.test * RECORD]
    if len(train) != args.train * RECORD or len(test) != args.test * RECORD:
        sys.exit(f"{source}: fewer records than asked for ({args.train} train, {args.test} test)")
    files = [("data_batch_1.bin", train), ("test_batch.bin", test)]
    meta = source / "batches.meta.txt"
    if meta.is_file():
        files.append(("batches.meta.txt", meta.read_bytes()))
    target = Path(args.out)
    partial = target.with_name(target.name + ".partial")
    # CIFAR bytes do not compress: gzip's fastest level, only for the loader's format.
    with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
        for name, data in files:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    partial.replace(target)
    print(f"{target}: {args.train} training and {args.test} test images, "
          f"{target.stat().st_size / 2**20:.1f} MiB")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="run the check (on the GPU machine, or --rehearse here)")
    r.add_argument("--bin", required=True, help="the simclr binary")
    r.add_argument("--data", help="CIFAR-10 (folder, batch or .tar.gz); synthetic when absent")
    r.add_argument("--out", required=True, help="folder for gpu-check.log and gpu-check.json")
    r.add_argument("--rehearse", action="store_true", help="tiny sizes on the CPU backend")
    p = sub.add_parser("pack-cifar", help="the CIFAR-10 part of the kit")
    p.add_argument("--from", dest="source", required=True, help="cifar-10-batches-bin folder")
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, required=True)
    p.add_argument("--test", type=int, required=True)
    args = parser.parse_args()
    return run(args) if args.verb == "run" else pack_cifar(args)


if __name__ == "__main__":
    sys.exit(main())
