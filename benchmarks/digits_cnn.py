"""The digits CNN under lamina's numpy backend against PyTorch, in one run: CPU seconds, one thread.

    python benchmarks/digits_cnn.py [--repeats 3] [--epochs 40] [--python-epochs 1]

The network, split and training settings are `../shared/baselines/torch_digits.py cnn`'s:
Conv2d(1,16,3,padding=1)-ReLU-MaxPool2d(2)-Conv2d(16,32,3,padding=1)-ReLU-MaxPool2d(2)-Flatten-
Linear(128,10), CrossEntropyLoss, Adam lr 1e-3, batch 32 shuffled each epoch, float64, on
scikit-learn's 1,437 training digits; test accuracy on the other 360. Each contender runs in its own
process with BLAS and PyTorch on one thread and times only its training loop (`time.process_time`);
each repeat runs both in turn (interleaved rounds), and the ratio is of the medians. Then one epoch
on lamina's default pure-Python backend, reported as a ratio to one numpy epoch.
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
from pathlib import Path

from training_loop import timed_training

BASELINE = Path(__file__).resolve().parents[2] / "shared" / "baselines" / "torch_digits.py"
TARGET = 1.5  # lamina numpy's CPU time at most this times PyTorch's (issue 10), at equal or better accuracy


def lamina_cnn(backend, epochs):
    """(training CPU seconds, test accuracy in %) of the baseline's run, in lamina."""
    import lamina
    from lamina import nn, optim
    from lamina.data import DataLoader, TensorDataset

    lamina.set_backend(backend)
    inputs, targets = lamina.registry().create("datasets", "digits")
    train = DataLoader(TensorDataset(inputs[:1437], targets[:1437]), batch_size=32, shuffle=True)
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 10))
    opt, loss_fn = optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss()
    seconds = timed_training(model, loss_fn, opt, train, epochs)
    model.eval()
    correct = (model(inputs[1437:]).argmax(1) == targets[1437:]).sum()
    return seconds, 100.0 * correct / 360


def run_one(who, epochs):
    if who == "torch float64":
        out = subprocess.run([sys.executable, str(BASELINE), "cnn", "--epochs", str(epochs)],
                             capture_output=True, text=True, check=True).stdout
        found = re.search(r"train cpu ([\d.]+)s\s+test acc ([\d.]+)%", out)
        print(f"seconds {found.group(1)} accuracy {found.group(2)}")
    else:
        seconds, accuracy = lamina_cnn(who.split()[1], epochs)
        print(f"seconds {seconds} accuracy {accuracy}")


def measure(who, epochs):
    result = subprocess.run([sys.executable, __file__, "--run", who, "--epochs", str(epochs)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"digits_cnn: {who} failed: {last}")
    found = re.search(r"seconds ([\d.e-]+) accuracy ([\d.]+)", result.stdout)
    return float(found.group(1)), float(found.group(2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--python-epochs", type=int, default=1, help="epochs on the pure-Python backend (0: skip)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one contender, here
    args = parser.parse_args(argv)
    if args.run:
        return run_one(args.run, args.epochs)
    if not BASELINE.exists():
        parser.error(f"no torch_digits.py at {BASELINE}")
    runs = {"lamina numpy": [], "torch float64": []}
    for _ in range(args.repeats):
        for who in runs:
            runs[who].append(measure(who, args.epochs))
    print(f"digits CNN, {args.epochs} epochs, CPU seconds of training (median of {args.repeats}), test accuracy:")
    for who, results in runs.items():
        seconds = statistics.median(s for s, _ in results)
        accuracies = ", ".join(f"{a:.1f}%" for _, a in results)
        print(f"  {who:14} {seconds:8.2f}s   accuracy {accuracies}")
    ours, theirs = (statistics.median(s for s, _ in runs[who]) for who in runs)
    ratio = ours / theirs
    as_accurate = min(a for _, a in runs["lamina numpy"]) >= statistics.median(a for _, a in runs["torch float64"])
    print(f"  lamina numpy / torch float64: {ratio:.2f}x (median)  target <= {TARGET}x: "
          f"{'meets' if ratio <= TARGET else 'misses'}; accuracy {'equal or better' if as_accurate else 'lower'}")
    if args.python_epochs:
        python_seconds, _ = measure("lamina python", args.python_epochs)
        per_numpy_epoch = ours / args.epochs
        print(f"  one epoch on the pure-Python backend: {python_seconds / args.python_epochs:.2f}s, "
              f"{python_seconds / args.python_epochs / per_numpy_epoch:.0f}x a numpy epoch")
    return None


if __name__ == "__main__":
    main()
