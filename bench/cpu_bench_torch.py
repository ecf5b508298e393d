#!/usr/bin/env python3
"""PyTorch peer of kiln's cpu.train for bench/cpu_bench.sh.

Trains the same architecture as cpu.train (nn.Sequential with the layout of docs/artifacts.md)
on the same normalised dataset files kiln trained on (safetensors written by data.normalize,
read with numpy), with the same batch size, SGD with momentum, lr and epochs, on N threads;
then evaluates the test set. Prints one JSON object: samples/s over the training epochs
(evaluation excluded), per-epoch seconds, test accuracy, peak RSS of this process.

    cpu_bench_torch.py --arch mlp --train train.safetensors --test test.safetensors --epochs 10
"""
import argparse, json, os, resource, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from read_safetensors import load  # noqa: E402


def build(arch, in_shape, classes):
    if arch == "mlp":
        f = int(np.prod(in_shape))
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(f, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, classes))
    c, h, w = in_shape
    s = ((h - 2) // 2 - 2) // 2
    return torch.nn.Sequential(torch.nn.Conv2d(c, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(64 * s * s, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, classes))


def dataset(path, arch):
    t, meta = load(path)
    x = t["x"].astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]  # [N, H, W] -> [N, 1, H, W]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(t["y"].astype(np.int64)), meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["mlp", "cnn"], required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                    help="cosine: annealed per step from lr to 0 over the run (cpu.train's)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y, meta = dataset(a.train, a.arch)
    tx, ty, _ = dataset(a.test, a.arch)
    classes = int(meta.get("kiln.num_classes", int(y.max()) + 1))
    net = build(a.arch, list(x.shape[1:]), classes)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    lossf = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    steps = (n + a.batch - 1) // a.batch
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps)
             if a.schedule == "cosine" else None)
    epoch_s = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        net.train()
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        epoch_s.append(time.perf_counter() - t0)
    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, tx.shape[0], 1000):
            correct += int((net(tx[s:s + 1000]).argmax(1) == ty[s:s + 1000]).sum())
    total = sum(epoch_s)
    print(json.dumps({
        "peer": "pytorch %s" % torch.__version__,
        "arch": a.arch, "threads": a.threads, "epochs": a.epochs, "train_samples": n,
        "samples_per_s": n * a.epochs / total if total > 0 else 0.0,
        "epoch_s": [round(e, 3) for e in epoch_s],
        "test_accuracy": correct / tx.shape[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
