"""The `cifar10-hour` recipe in PyTorch: the peer that issue 27 compares the Rust run with.

Same recipe as `simclr pretrain --preset cifar10-hour` (all 50,000 CIFAR-10 training
images, ResNet-18 at width 16 with the CIFAR stem, 2-layer projection head to 128, batch
128, Adam 1e-3 with weight decay 1e-6, one warm-up epoch then cosine decay per step,
NT-Xent at tau 0.1, colour jitter 0.5, random grayscale 0.2, crops resized to 24 px), same
machine, same wall-clock budget. PyTorch runs as its users run it on a CPU: fp32, its own threads (one
per core), batched augmentation on tensors (scripts/pytorch_step.py's, the work
`simclr bench` is compared with).

The budget is wall-clock, so the schedule is planned from the measured step time: after
`--calibrate` steps the run fixes its step count to what fits in the budget, and the
cosine schedule ends there (as scripts/search-hour.sh plans the Rust candidates).

At the end the encoder is written as safetensors with torchvision's names, the format
`simclr probe --weights` reads, so both encoders get the same probes:

    python scripts/pytorch_hour.py --data DIR --out runs/pytorch-hour
    simclr probe --weights runs/pytorch-hour/encoder.safetensors --data DIR
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_step import ResNet18, nt_xent, two_views  # noqa: E402

TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def load_train_images(folder):
    """The 50,000 training images as uint8 [N, 32, 32, 3] (labels are not used)."""
    parts = []
    for name in TRAIN_FILES:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            data = f.read()
        if len(data) % 3073:
            sys.exit(f"{path}: {len(data)} bytes is not a whole number of 3,073-byte records")
        records = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(-1, 3073)
        parts.append(records[:, 1:].reshape(-1, 3, 32, 32).permute(0, 2, 3, 1))
    return torch.cat(parts).contiguous()


def lr_at(step, peak, warmup, total):
    """The Rust schedule (src/train/optim/schedule.rs): linear warm-up, cosine to 0."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def save_encoder(encoder, width, path):
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in encoder.state_dict().items()}
    metadata = {
        "width": str(width),
        "stem": "cifar",
        "normalize_mean": ",".join(map(str, MEAN)),
        "normalize_std": ",".join(map(str, STD)),
    }
    save_file(tensors, path + ".tmp", metadata=metadata)
    os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="cifar-10-batches-bin folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-6)
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--image-size", type=int, default=24, help="side of the views")
    p.add_argument("--color-jitter", type=float, default=0.5)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    p.add_argument("--calibrate", type=int, default=30, help="steps timed to plan the run")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    budget = 60 * args.minutes
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    images = load_train_images(args.data)
    steps_per_epoch = images.shape[0] // args.batch_size
    warmup = max(1, round(args.warmup_epochs * steps_per_epoch))
    encoder = ResNet18(args.width)
    head = nn.Sequential(
        nn.Linear(encoder.dim, encoder.dim), nn.ReLU(), nn.Linear(encoder.dim, 128)
    )
    model = nn.Sequential(encoder, head)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=args.lr, weight_decay=args.weight_decay
    )
    total = None  # planned after calibration
    step, order = 0, None
    log = open(os.path.join(args.out, "metrics.csv"), "w", newline="")
    writer = csv.writer(log)
    writer.writerow(["step", "epoch", "lr", "loss", "elapsed_s"])
    calibration_start = None
    while total is None or step < total:
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
        if step % steps_per_epoch == 0:
            order = torch.randperm(images.shape[0], generator=generator)
        offset = (step % steps_per_epoch) * args.batch_size
        batch = images[order[offset : offset + args.batch_size]]
        lr = lr_at(step, args.lr, warmup, total or 10**9)
        for group in optimizer.param_groups:
            group["lr"] = lr
        views = two_views(batch, generator, args.color_jitter, args.image_size)
        loss = nt_xent(model(views), args.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step == 5:
            calibration_start = time.perf_counter()
        if step == 5 + args.calibrate:
            per_step = (time.perf_counter() - calibration_start) / args.calibrate
            left = budget - (time.perf_counter() - start)
            total = step + int(left / per_step)
            print(f"{per_step:.3f} s/step: {total} steps planned", flush=True)
        if step % 50 == 0 or step == total:
            now = time.perf_counter() - start
            writer.writerow([step, step // steps_per_epoch, lr, loss.item(), f"{now:.1f}"])
            log.flush()
            print(f"step {step}/{total} loss {loss.item():.4f} {now:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    model.eval()
    save_encoder(encoder, args.width, os.path.join(args.out, "encoder.safetensors"))
    summary = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "steps": step,
        "planned_steps": total,
        "epochs": step / steps_per_epoch,
        "seconds": seconds,
        "views_per_s": 2 * args.batch_size * step / seconds,
        "final_loss": loss.item(),
        "args": vars(args),
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
