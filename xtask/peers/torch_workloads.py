"""The PyTorch side of `cargo xtask bench-peers`: the workloads W1-W5 of
`nn bench --workload`, written the way a PyTorch user would, on the same data.

The data are the .npy files `nn bench --dump-data DIR` writes: the 1437
training rows of the digits' seeded 80/20 split (and W5's fold of each row),
and W4's 40 x 256 seeded random rows. Everything is f32, plain SGD
(torch.optim.SGD, lr 0.01; W5's grid sets it), rows reshuffled every epoch
(torch.randperm), the last partial batch kept, and the loss reduced as ours:
summed over a sample's outputs, averaged over the batch
(reduction="sum" / batch). Sequences are channels-last (batch, length,
channels) as in our library: W2 permutes to channels-first for Conv1d and
MaxPool1d and back before Flatten, so Linear(992, 100) sees the same order.

One warm-up epoch, then the median and minimum of the rest, as `nn bench`.
W5 (a whole grid search per timed "epoch") runs its 36 jobs one after the
other on 1 thread ("intra-op"), and on t > 1 threads in t worker processes
of one thread each ("processes"): intra-op threads only slow networks this
small down (with --w5-intra-op, sequential jobs on t intra-op threads are
timed too, and the report's epoch_ms_median is the faster way).

Usage:
    python torch_workloads.py --data DIR --workload W1 --threads 1 [--epochs N]
    python torch_workloads.py --gemm --threads 1
Prints one JSON object.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LR = 0.01
DEFAULT_EPOCHS = {"W1": 21, "W2": 11, "W3": 11, "W4": 6, "W5": 4}
W5_HIDDEN = [50, 100, 200, 400]
W5_LR = [0.01, 0.05, 0.1]
W5_FOLDS = 3
W5_EPOCHS = 10
GEMM_SIZES = [(1024, 1024, 1024), (256, 784, 1024), (256, 1024, 1024), (256, 1024, 10), (32, 64, 100), (32, 992, 100)]


class ChannelsLastConv(nn.Module):
    """Conv1D(3,1,32) -> MaxPool1D(2,2) on (batch, length, channels), output (batch, length', channels')."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 32, 3)
        self.pool = nn.MaxPool1d(2, 2)

    def forward(self, x):
        return self.pool(self.conv(x.permute(0, 2, 1))).permute(0, 2, 1)


def network(name, hidden=100):
    if name in ("W1", "W5"):
        return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    if name == "W2":
        return nn.Sequential(
            ChannelsLastConv(), nn.Flatten(), nn.Linear(992, 100), nn.ReLU(), nn.Linear(100, 10)
        )
    if name == "W3":
        return nn.Sequential(
            nn.Linear(64, 200), nn.Tanh(), nn.Linear(200, 50), nn.Tanh(),
            nn.Linear(50, 200), nn.Tanh(), nn.Linear(200, 64), nn.Sigmoid(),
        )
    if name == "W4":
        return nn.Sequential(
            nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)
        )
    raise SystemExit(f"unknown workload {name!r}")


def cross_entropy(out, labels):
    return F.cross_entropy(out, labels, reduction="sum") / out.shape[0]


def bce(out, target):
    return F.binary_cross_entropy(out, target, reduction="sum") / out.shape[0]


def load(data_dir, name):
    path = lambda f: os.path.join(data_dir, f)  # noqa: E731
    if name == "W4":
        x = torch.from_numpy(np.load(path("w4_x.npy")))
        return x, torch.from_numpy(np.load(path("w4_labels.npy"))), 256
    x = torch.from_numpy(np.load(path("digits_train_x.npy")))
    labels = torch.from_numpy(np.load(path("digits_train_labels.npy")))
    if name == "W2":
        x = x.reshape(x.shape[0], 64, 1)
    return x, labels, 32


def epoch(net, opt, loss_fn, x, y, batch, generator):
    """One epoch: shuffle, every batch (the last partial one kept), SGD steps; the mean loss."""
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator)
    total = 0.0
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * idx.shape[0]
    return total / n


def time_workload(data_dir, name, epochs):
    x, labels, batch = load(data_dir, name)
    torch.manual_seed(0)
    net = network(name)
    if name == "W3":
        y, loss_fn = x, bce
    else:
        y, loss_fn = labels, cross_entropy
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(0)
    times = []
    last = None
    for e in range(epochs):
        started = time.perf_counter()
        last = epoch(net, opt, loss_fn, x, y, batch, generator)
        if e > 0:
            times.append((time.perf_counter() - started) * 1e3)
    steps = -(-x.shape[0] // batch)
    median = statistics.median(times)
    return {
        "epoch_ms_median": median,
        "epoch_ms_min": min(times),
        "step_us_median": median * 1e3 / steps,
        "steps_per_epoch": steps,
        "epochs_timed": len(times),
        "last_epoch_loss": last,
    }


# W5 ------------------------------------------------------------------------

_W5 = {}


def _w5_init(data_dir, threads):
    torch.set_num_threads(threads)
    x, labels, _ = load(data_dir, "W5")
    folds = torch.from_numpy(np.load(os.path.join(data_dir, "digits_train_folds.npy")))
    _W5.update(x=x, labels=labels, folds=folds)


def _w5_job(job):
    """Trains point p on the other folds for 10 epochs, returns its accuracy on fold f."""
    p, f = job
    hidden, lr = W5_HIDDEN[p // len(W5_LR)], W5_LR[p % len(W5_LR)]
    x, labels, folds = _W5["x"], _W5["labels"], _W5["folds"]
    train, val = folds != f, folds == f
    xt, yt = x[train], labels[train]
    torch.manual_seed(p)
    net = network("W5", hidden)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(p * W5_FOLDS + f)
    for _ in range(W5_EPOCHS):
        epoch(net, opt, cross_entropy, xt, yt, 32, generator)
    with torch.no_grad():
        return (net(x[val]).argmax(1) == labels[val]).float().mean().item()


def _w5_jobs():
    return [(p, f) for p in range(len(W5_HIDDEN) * len(W5_LR)) for f in range(W5_FOLDS)]


def time_w5(data_dir, threads, searches, intra_op):
    ways = {}
    if threads == 1 or intra_op:
        _w5_init(data_dir, threads)
        times = []
        for s in range(searches):
            started = time.perf_counter()
            scores = [_w5_job(job) for job in _w5_jobs()]
            if s > 0:
                times.append((time.perf_counter() - started) * 1e3)
        ways["intra-op"] = {"epoch_ms_median": statistics.median(times), "epoch_ms_min": min(times)}
    if threads > 1:
        context = multiprocessing.get_context("spawn")
        with context.Pool(threads, initializer=_w5_init, initargs=(data_dir, 1)) as pool:
            times = []
            for s in range(searches):
                started = time.perf_counter()
                scores = pool.map(_w5_job, _w5_jobs(), chunksize=1)
                if s > 0:
                    times.append((time.perf_counter() - started) * 1e3)
        ways["processes"] = {"epoch_ms_median": statistics.median(times), "epoch_ms_min": min(times)}
    best = min(ways, key=lambda w: ways[w]["epoch_ms_median"])
    return {
        **ways[best],
        "way": best,
        "ways": ways,
        "epochs_timed": searches - 1,
        "mean_accuracy": sum(scores) / len(scores),
    }


# GEMM ----------------------------------------------------------------------

def time_gemm():
    sizes = []
    generator = torch.Generator().manual_seed(0)
    for m, k, n in GEMM_SIZES:
        a = torch.rand(m, k, generator=generator) * 2 - 1
        b = torch.rand(k, n, generator=generator) * 2 - 1
        c = torch.empty(m, n)
        torch.matmul(a, b, out=c)
        started = time.perf_counter()
        torch.matmul(a, b, out=c)
        first = max(time.perf_counter() - started, 1e-7)
        repeats = max(1, min(100_000, int(0.1 / first) + 1))
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(repeats):
                torch.matmul(a, b, out=c)
            samples.append((time.perf_counter() - started) / repeats)
        seconds = statistics.median(samples)
        sizes.append({"m": m, "k": k, "n": n, "ms_median": seconds * 1e3, "gflops": 2 * m * k * n / seconds / 1e9})
    return {"gemm": sizes, "peak_gflops": max(s["gflops"] for s in sizes)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the directory of `nn bench --dump-data`")
    parser.add_argument("--workload", choices=["W1", "W2", "W3", "W4", "W5"])
    parser.add_argument("--gemm", action="store_true", help="time torch.matmul instead")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, help="epochs in all, the first a warm-up")
    parser.add_argument(
        "--w5-intra-op",
        action="store_true",
        help="W5 on t > 1 threads: also time sequential jobs on t intra-op threads (slow on a busy machine)",
    )
    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    torch.set_num_threads(args.threads)
    info = {"threads": args.threads, "torch": torch.__version__, "mkl": torch.backends.mkl.is_available()}
    if args.gemm:
        print(json.dumps({**info, **time_gemm()}))
        return
    if not args.workload or not args.data:
        parser.error("give --workload and --data, or --gemm")
    epochs = args.epochs or DEFAULT_EPOCHS[args.workload]
    if epochs < 2:
        parser.error("--epochs must be at least 2 (one warm-up epoch, then the timed ones)")
    if args.workload == "W5":
        result = time_w5(args.data, args.threads, epochs, args.w5_intra_op)
    else:
        result = time_workload(args.data, args.workload, epochs)
    print(json.dumps({**info, "workload": args.workload, **result}))


if __name__ == "__main__":
    sys.exit(main())
