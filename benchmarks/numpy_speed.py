"""The numpy backend against hand-written numpy and PyTorch, in one run: CPU seconds, one thread.

    python benchmarks/numpy_speed.py [--repeats 3] [--n 12000] [--only mnist,inference,tensor] [--dtype float32]

Every contender runs in its own process with BLAS (and PyTorch) held to one thread, and times only
its own loop with `time.process_time`, so the figures hold on a busy machine. Each repeat runs every
contender once, in turn (interleaved rounds); the table shows medians, then lamina's ratios:

- mnist: one epoch of a 784-256-128-10 ReLU MLP, cross-entropy, Adam lr 1e-3, batch 64, on
  MNIST-shaped N(0, 1) data (`../shared/baselines/mnist_shape.py numpy|torch`, the same network);
  with --dtype float32, lamina under `lamina.set_default_dtype("float32")` against both in float32.
- inference: the circle model (2-16-16-8-1) predicting 10,000 rows in eval mode, 50 times, against
  the same forward pass written in numpy.
- tensor: `lamina.tensor` of a 60,000 x 784 float64 array under the numpy backend, against
  `torch.from_numpy(array).clone()`, and the peak memory lamina takes beyond the array itself
  (traced with tracemalloc, which sees numpy's and Python's allocations).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy loads: every contender on one thread

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from training_loop import timed_training

BASELINES = Path(__file__).resolve().parents[2] / "shared" / "baselines"
TARGETS = {  # lamina's contender and the baselines it is held to: at most these ratios (issue 14)
    "mnist": ("lamina numpy", {"torch float64": 1.1, "torch float32": 1.15, "numpy float32": 1.1}),
    "inference": ("lamina numpy", {"numpy by hand": 1.3}),
    "tensor": ("lamina.tensor", {"torch clone": 2.0}),
}


# --- the contenders, each run in its own process ------------------------------------------------


def lamina_mnist(n, dtype="float64"):
    import numpy as np

    import lamina
    from lamina import nn, optim
    from lamina.data import DataLoader, TensorDataset

    lamina.set_backend("numpy")
    lamina.set_default_dtype(dtype)
    rng = np.random.default_rng(0)
    x = lamina.tensor(rng.normal(size=(n, 784)).astype(dtype))
    y = lamina.tensor(rng.integers(0, 10, (n, 1)).astype(dtype))
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt, loss_fn = optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    return timed_training(model, loss_fn, opt, loader)


def circle_model():
    import lamina
    from lamina import nn

    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, 1), nn.Sigmoid())


def lamina_inference(rounds=50):
    import numpy as np

    import lamina

    lamina.set_backend("numpy")
    model = circle_model().eval()
    x = lamina.tensor(np.random.default_rng(0).uniform(-2, 2, (10_000, 2)))
    start = time.process_time()
    for _ in range(rounds):
        model(x)
    return time.process_time() - start


def numpy_inference(rounds=50):
    import numpy as np

    weights = [(p.weight.tolist(), p.bias.tolist()) for p in circle_model().layers if hasattr(p, "weight")]
    weights = [(np.array(w), np.array(b).reshape(-1)) for w, b in weights]
    x = np.random.default_rng(0).uniform(-2, 2, (10_000, 2))
    last = len(weights) - 1
    start = time.process_time()
    for _ in range(rounds):  # as a careful numpy programmer writes it: in place wherever it can be
        h = x
        for k, (w, b) in enumerate(weights):
            h = h @ w.T
            h += b
            if k < last:
                np.maximum(h, 0.0, out=h)
            else:
                np.negative(h, out=h), np.exp(h, out=h), np.add(h, 1.0, out=h), np.reciprocal(h, out=h)
    return time.process_time() - start


def tensor_from_array(who):
    """Seconds to take the array in, and the peak memory beyond the array, in bytes."""
    import tracemalloc

    import numpy as np

    array = np.random.default_rng(0).normal(size=(60_000, 784))
    if who == "lamina.tensor":
        import lamina

        lamina.set_backend("numpy")
        take_in = lamina.tensor
    else:
        import torch

        def take_in(values):
            return torch.from_numpy(values).clone()

    start = time.process_time()
    kept = take_in(array)
    seconds = time.process_time() - start
    del kept
    if who != "lamina.tensor":
        return seconds, None  # PyTorch's allocator is not one tracemalloc sees
    tracemalloc.start()  # a second time, traced: tracing slows every allocation, so it is not timed
    kept = take_in(array)
    peak = tracemalloc.get_traced_memory()[1]
    return seconds, peak


def run_one(row, who, n, dtype):
    if row == "mnist":
        if who == "lamina numpy":
            print(f"seconds {lamina_mnist(n, dtype)}")
        else:
            library, dtype = who.split()
            out = subprocess.run([sys.executable, str(BASELINES / "mnist_shape.py"), library, "--dtype", dtype,
                                  "--n", str(n)], capture_output=True, text=True, check=True).stdout
            print("seconds", re.search(r"train cpu ([\d.]+)s", out).group(1))
    elif row == "inference":
        print(f"seconds {lamina_inference() if who == 'lamina numpy' else numpy_inference()}")
    else:
        seconds, peak = tensor_from_array(who)
        print(f"seconds {seconds}" + ("" if peak is None else f" peak {peak}"))


# --- the run -----------------------------------------------------------------------------------------

def contenders(dtype):
    return {
        "mnist": ["lamina numpy", f"numpy {dtype}", f"torch {dtype}"],
        "inference": ["lamina numpy", "numpy by hand"],
        "tensor": ["lamina.tensor", "torch clone"],
    }


CONTENDERS = contenders("float64")


def measure(row, who, n, dtype):
    command = [sys.executable, __file__, "--run", row, who, "--n", str(n), "--dtype", dtype]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"numpy_speed: {row} / {who} failed: {last}")
    seconds = float(re.search(r"seconds ([\d.e-]+)", result.stdout).group(1))
    peak = re.search(r"peak (\d+)", result.stdout)
    return seconds, int(peak.group(1)) if peak else None


def ratio_line(name, ours, theirs, limit=None):
    if min(theirs) <= 0:  # a clock too coarse for the baseline: no ratio can be trusted
        return f"  {name}: the baseline took no measurable time; run with a larger --n"
    ratio = statistics.median(ours) / statistics.median(theirs)
    verdict = "" if limit is None else f"  target <= {limit}x: {'meets' if ratio <= limit else 'misses'}"
    return f"  {name}: {ratio:.2f}x (median){verdict}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=12_000, help="samples in the mnist epoch")
    parser.add_argument("--only", default="mnist,inference,tensor")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="the mnist row's dtype")
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)  # internal: one contender, here
    args = parser.parse_args(argv)
    if args.run:
        run_one(*args.run, args.n, args.dtype)
        return None
    chosen = contenders(args.dtype)
    rows = [row for row in args.only.split(",") if row]
    unknown = [row for row in rows if row not in CONTENDERS]
    if unknown:
        parser.error(f"--only: unknown rows {unknown}; the rows are {', '.join(CONTENDERS)}")
    if "mnist" in rows and not (BASELINES / "mnist_shape.py").exists():
        parser.error(f"no mnist_shape.py in {BASELINES}")
    times = {(row, who): [] for row in rows for who in chosen[row]}
    peaks = {}
    for _ in range(args.repeats):
        for row in rows:
            for who in chosen[row]:
                seconds, peaks[row, who] = measure(row, who, args.n, args.dtype)
                times[row, who].append(seconds)
    print(f"{args.repeats} interleaved rounds, CPU seconds, one thread; mnist epoch of {args.n} samples, {args.dtype}")
    for row in rows:
        print(f"\n{row}")
        for who in chosen[row]:
            memory = f"   peak {peaks[row, who] / 2**20:8.1f} MiB" if peaks.get((row, who)) is not None else ""
            print(f"  {who:16} median {statistics.median(times[row, who]):8.3f} s{memory}")
        ours, limits = TARGETS[row]
        for who in chosen[row]:
            if who != ours:
                print(ratio_line(f"{ours} / {who}", times[row, ours], times[row, who], limits.get(who)))
        if row == "tensor":
            print(f"  {ours} memory / the array's: {peaks[row, ours] / (60_000 * 784 * 8):.2f}x  target <= 2x")
    return times


if __name__ == "__main__":
    main()
