#!/usr/bin/env python3
"""PyTorch counterpart of `npm run bench`: the same architectures as lib/ml/model.ts, the
same Fashion-MNIST files, batch size, augmentation and thread count. Prints one JSON line on
stdout; progress goes to stderr. Started by lib/bench/pytorch.ts, not meant to be run alone.
"""
import argparse
import gzip
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SIDE = 28


def read_idx(directory, name):
    """One IDX file, raw or gzipped (raw wins, as lib/formats/idx.ts does)."""
    for candidate in (os.path.join(directory, name), os.path.join(directory, name + ".gz")):
        if os.path.exists(candidate):
            with open(candidate, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise FileNotFoundError(os.path.join(directory, name) + "[.gz]")


def he_normal_(module):
    """tf.initializers.heNormal: a normal of std sqrt(2 / fan_in), truncated at two std."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        fan_in = module.weight[0].numel()
        std = math.sqrt(2.0 / fan_in)
        nn.init.trunc_normal_(module.weight, 0.0, std, -2 * std, 2 * std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def batch_norm(channels, two_d=True):
    # tf.layers.batchNormalization defaults: epsilon 1e-3, moving-average momentum 0.99
    # (PyTorch counts momentum the other way round).
    return (nn.BatchNorm2d if two_d else nn.BatchNorm1d)(channels, eps=1e-3, momentum=0.01)


def mlp(k):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(SIDE * SIDE, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, k),
    )


def lenet5(k):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, k),
    )


def cnn(k):
    def conv(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), batch_norm(c_out), nn.ReLU()]

    return nn.Sequential(
        *conv(1, 32), nn.MaxPool2d(2),
        *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
        *conv(64, 128), nn.MaxPool2d(2), nn.Dropout(0.25),  # 7x7 -> 3x3, 'valid' as in tfjs
        nn.Flatten(),
        nn.Linear(128 * 3 * 3, 256, bias=False), batch_norm(256, two_d=False), nn.ReLU(), nn.Dropout(0.4),
        nn.Linear(256, k),
    )


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch norm, the input added back before the last ReLU (a stride-2 block
    halves the image, and its shortcut is a stride-2 1x1 conv with batch norm)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False), batch_norm(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), batch_norm(c_out),
        )
        self.shortcut = (
            nn.Identity() if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), batch_norm(c_out))
        )

    def forward(self, x):
        return torch.relu(self.branch(x) + self.shortcut(x))


def resnet20(k):
    layers = [nn.Conv2d(1, 16, 3, padding=1, bias=False), batch_norm(16), nn.ReLU()]
    c_in = 16
    for stage, c_out in enumerate([16, 32, 64]):
        for block in range(3):
            layers.append(BasicBlock(c_in, c_out, 2 if stage > 0 and block == 0 else 1))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, k)]
    return nn.Sequential(*layers)


BUILDERS = {"mlp": mlp, "lenet5": lenet5, "cnn": cnn, "resnet20": resnet20}


def augment(images, rng):
    """lib/ml/data.ts augmentBatch: shift up to 2 px (zero fill), horizontal flip with p=0.5,
    random erasing of 2-20% of the image with noise with p=0.3. images: uint8 [n,28,28]."""
    n = images.shape[0]
    padded = np.zeros((n, SIDE + 4, SIDE + 4), dtype=np.uint8)
    padded[:, 2:-2, 2:-2] = images
    dx = rng.integers(-2, 3, n)
    dy = rng.integers(-2, 3, n)
    flip = rng.random(n) < 0.5
    grid = np.arange(SIDE)
    sy = grid[None, :] - dy[:, None]
    sx_shifted = grid[None, :] - dx[:, None]
    sx = np.where(flip[:, None], SIDE - 1 - sx_shifted, sx_shifted)
    out = padded[np.arange(n)[:, None, None], sy[:, :, None] + 2, sx[:, None, :] + 2].astype(np.float32) / 255.0
    for b in np.nonzero(rng.random(n) < 0.3)[0]:
        area = (0.02 + rng.random() * 0.18) * SIDE * SIDE
        aspect = math.exp((rng.random() * 2 - 1) * math.log(3))
        h = min(SIDE, max(1, round(math.sqrt(area * aspect))))
        w = min(SIDE, max(1, round(math.sqrt(area / aspect))))
        top = int(rng.integers(0, SIDE - h + 1))
        left = int(rng.integers(0, SIDE - w + 1))
        out[b, top : top + h, left : left + w] = rng.random((h, w))
    return torch.from_numpy(out).unsqueeze(1)


def measure_training(arch, images, labels, k, args):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    model = BUILDERS[arch](k)
    model.apply(he_normal_)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    count = args.train_steps * args.batch_size
    order = rng.permutation(count)
    targets = torch.from_numpy(labels[:count].astype(np.int64))

    def step(s):
        idx = order[(s * args.batch_size) % count :][: args.batch_size]
        x = augment(images[idx], rng)
        loss = F.cross_entropy(model(x), targets[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()  # one read per step, as Loupe's trainModel does

    for s in range(args.warmup_steps):
        step(s)
    started = time.perf_counter()
    for s in range(args.train_steps):
        step(s)
    seconds = time.perf_counter() - started
    return {"imagesPerSecond": count / seconds, "steps": args.train_steps, "batchSize": args.batch_size, "seconds": seconds}


def measure_inference(arch, images, k, args):
    torch.manual_seed(1)
    model = BUILDERS[arch](k)
    model.apply(he_normal_)
    model.eval()
    count = min(args.infer_count, images.shape[0])
    batch = 512  # predictLogits' default batch

    def run(n):
        with torch.no_grad():
            for start in range(0, n, batch):
                x = torch.from_numpy(images[start : min(n, start + batch)].astype(np.float32) / 255.0).unsqueeze(1)
                model(x)

    run(min(batch, count))
    started = time.perf_counter()
    cpu_started = time.process_time()
    run(count)
    seconds = time.perf_counter() - started
    # CPU time of every thread of this process: less sensitive than wall time to a busy machine.
    cpu_seconds = time.process_time() - cpu_started
    return {"imagesPerSecond": count / seconds, "count": count, "weights": "fresh", "cpuSeconds": cpu_seconds}


def measure_matmul(size, repeats):
    """The same square float32 matMul as lib/bench/flops.ts measureMatMulPeak: best of repeats
    after two warm-ups, in GFLOP/s on this process's threads."""
    a = torch.rand(size, size) * 2 - 1
    b = torch.rand(size, size) * 2 - 1
    best = math.inf
    for i in range(repeats + 2):
        started = time.perf_counter()
        torch.mm(a, b)
        if i >= 2:
            best = min(best, time.perf_counter() - started)
    return {"gflops": 2 * size**3 / best / 1e9, "size": size, "repeats": repeats}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--archs", default="mlp,lenet5,cnn")
    parser.add_argument("--sections", default="train,infer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--infer-count", type=int, default=10000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--matmul-size", type=int, default=0, help="also time a square matMul of this side (0: no)")
    parser.add_argument("--matmul-repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sections = set(args.sections.split(","))
    result = {"version": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(), "archs": {}}
    train_images = train_labels = test_images = None
    if "train" in sections:
        train_images = read_idx(args.dataset, "train-images-idx3-ubyte")
        train_labels = read_idx(args.dataset, "train-labels-idx1-ubyte")
    if "infer" in sections:
        test_images = read_idx(args.dataset, "t10k-images-idx3-ubyte")
    for arch in args.archs.split(","):
        model = BUILDERS[arch](args.classes)
        # Counted as tfjs countParams() does: batch-norm moving statistics included.
        figures = {"params": sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))}
        if train_images is not None:
            print(f"[bench_torch] {arch}: training", file=sys.stderr)
            figures["train"] = measure_training(arch, train_images, train_labels, args.classes, args)
        if test_images is not None:
            print(f"[bench_torch] {arch}: inference", file=sys.stderr)
            figures["infer"] = measure_inference(arch, test_images, args.classes, args)
        result["archs"][arch] = figures
    if args.matmul_size > 0:
        result["matMul"] = measure_matmul(args.matmul_size, args.matmul_repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
