"""The SimCLR training step of `simclr bench` in PyTorch, for scripts/bench-vs-pytorch.sh
(fp32 on the CPU) and scripts/gpu_check.py (CUDA, fp32 and bf16 autocast).

Same work as the Rust step: a batch of 32x32 uint8 images, two augmented views on the
compute device (random resized crop + flip by bilinear sampling, colour jitter, random
grayscale, normalisation), a torchvision-style ResNet-18 with the CIFAR stem (3x3 stride-1
conv, no max-pool), the 2-layer projection head, NT-Xent (tau 0.5) and Adam. Prints one
JSON line shaped like `simclr bench`'s.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + identity)


class ResNet18(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        inp = width
        # torchvision's names (layer1 ... layer4), so that scripts/pytorch_hour.py's
        # safetensors load into `simclr probe --weights`.
        for i, stride in enumerate([1, 2, 2, 2]):
            out = width * 2**i
            block = nn.Sequential(BasicBlock(inp, out, stride), BasicBlock(out, out, 1))
            setattr(self, f"layer{i + 1}", block)
            inp = out
        self.dim = inp

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return x.mean(dim=(2, 3))


def rotate_hue(x, turns):
    """Hue shift by `turns` of a full turn per image: a rotation of the chroma plane in
    YIQ, which the HSV hue shift of torchvision's ColorJitter approximates."""
    yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        device=x.device,
    )
    angle = 2 * math.pi * turns
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(x.shape[0], 3, 3, device=x.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    m = torch.linalg.inv(yiq) @ rot @ yiq
    return torch.einsum("nij,njhw->nihw", m, x).clamp(0, 1)


def two_views(pixels, generator, strength=0.5, side=32):
    """Batched SimCLR augmentation of uint8 [N, 32, 32, 3] images into [2N, 3, side,
    side] (the crop resized to `side`), on the images' device: colour jitter of strength s (brightness, contrast and
    saturation 0.8s, hue 0.2s, in that fixed order) with probability 0.8."""
    n = pixels.shape[0]
    device = pixels.device
    x = pixels.permute(0, 3, 1, 2).float().div(255).repeat(2, 1, 1, 1)
    m = 2 * n
    rand = lambda *s: torch.rand(*s, generator=generator, device=device)
    area = 0.08 + 0.92 * rand(m)
    ratio = torch.exp(math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * rand(m))
    w = torch.sqrt(area * ratio).clamp(max=1)
    h = torch.sqrt(area / ratio).clamp(max=1)
    cx = (1 - w) * (2 * rand(m) - 1)
    cy = (1 - h) * (2 * rand(m) - 1)
    flip = torch.where(rand(m) < 0.5, -1.0, 1.0)
    theta = torch.zeros(m, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, [m, 3, side, side], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", align_corners=False)
    jitter = (rand(m) < 0.8).float().view(m, 1, 1, 1)
    brightness = 1 + 0.8 * strength * (2 * rand(m) - 1)
    contrast = 1 + 0.8 * strength * (2 * rand(m) - 1)
    saturation = 1 + 0.8 * strength * (2 * rand(m) - 1)
    hue = 0.2 * strength * (2 * rand(m) - 1)
    gray = lambda t: (0.299 * t[:, 0] + 0.587 * t[:, 1] + 0.114 * t[:, 2]).unsqueeze(1)
    y = (x * brightness.view(m, 1, 1, 1)).clamp(0, 1)
    mean = gray(y).mean(dim=(2, 3), keepdim=True)
    y = (mean + contrast.view(m, 1, 1, 1) * (y - mean)).clamp(0, 1)
    y = (gray(y) + saturation.view(m, 1, 1, 1) * (y - gray(y))).clamp(0, 1)
    y = rotate_hue(y, hue)
    x = jitter * y + (1 - jitter) * x
    to_gray = (rand(m) < 0.2).float().view(m, 1, 1, 1)
    x = to_gray * gray(x).expand_as(x) + (1 - to_gray) * x
    mean = torch.tensor([0.4914, 0.4822, 0.4465], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616], device=device).view(1, 3, 1, 1)
    return (x - mean) / std


def nt_xent(z, temperature):
    n = z.shape[0] // 2
    z = F.normalize(z, dim=1)
    logits = z @ z.t() / temperature
    logits.fill_diagonal_(-1e9)
    targets = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(logits, targets)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: autocast"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        # Its fastest convolution algorithms, as a PyTorch user would run.
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    generator = torch.Generator(device=device).manual_seed(0)
    encoder = ResNet18(args.width)
    head = nn.Sequential(
        nn.Linear(encoder.dim, encoder.dim), nn.ReLU(), nn.Linear(encoder.dim, 128)
    )
    model = nn.Sequential(encoder, head).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pixels = torch.randint(0, 256, (args.batch_size, 32, 32, 3), dtype=torch.uint8).to(device)
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"
    )
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        views = two_views(pixels, generator)
        with autocast:
            loss = nt_xent(model(views).float(), 0.5)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "backend": f"pytorch-{device.type}-{args.precision}",
                "device": torch.cuda.get_device_name(device)
                if device.type == "cuda"
                else "cpu",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "width": args.width,
                "steps": args.steps,
                "median_step_s": median,
                "min_step_s": min(times),
                "views_per_s": 2 * args.batch_size / median,
            }
        )
    )


if __name__ == "__main__":
    main()
