"""The digits MLP: lamina's numpy backend against the same training written by hand in numpy.

    python benchmarks/digits_mlp.py [--repeats 9] [--epochs 40] [--dtype float64|float32] [--torch]

scikit-learn's real 8x8 digits (bundled, no download), split as `../shared/baselines/torch_digits.py`
splits them (a numpy default_rng(0) permutation, the first 1,437 rows to train, the last 360 to
test, pixels / 16), fed as flat (N, 64) rows. The network is 64-128-64-10 with ReLU,
cross-entropy, Adam lr 1e-3, batch 32, shuffled every epoch.

Every contender runs in its own process with BLAS (and PyTorch) held to one thread, and times only
its training loop with `time.process_time` (CPU seconds, which hold on a busy machine). Each repeat
is a round: lamina and the hand-written loop each train a fresh model, in lockstep, one epoch in
turn (who goes first alternates), so that a slow spell of a shared machine, which lasts seconds,
falls on both rather than on whichever happened to be running. The table shows the medians over
the rounds of each one's training time (the sum of its epochs) and test accuracy, then lamina's
ratios. Target: lamina numpy at most 1.3x the hand-written numpy. With --torch,
`torch_digits.py mlp` also trains once a round, whole, for reference.
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
import tempfile
import time
from pathlib import Path

from training_loop import train

BASELINES = Path(__file__).resolve().parents[2] / "shared" / "baselines"
TARGET = 1.3  # lamina numpy / numpy by hand, at most (issue 14)
TRAIN_ROWS = 1437


def digits(dtype, rows=None):
    """(train x, train labels, test x, test labels) as numpy arrays, split as torch_digits.py does;
    `rows` keeps only that many training rows (for a quick run)."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    x, y = (data.data[order] / 16.0).astype(dtype), data.target[order]
    train = slice(0, TRAIN_ROWS if rows is None else min(rows, TRAIN_ROWS))
    return x[train], y[train], x[TRAIN_ROWS:], y[TRAIN_ROWS:]


# --- the two timed contenders, each in its own process ------------------------------------------
# Each builds its data and a fresh, seeded model (so every round trains the same) and returns
# (one_epoch, accuracy): one_epoch trains one epoch, accuracy() is the test accuracy.


def lamina_numpy(dtype, rows):
    """lamina's training step as the README writes it, on the numpy backend."""
    import lamina
    from lamina import nn, optim
    from lamina.data import DataLoader, TensorDataset

    lamina.set_backend("numpy")
    lamina.set_default_dtype(dtype)
    lamina.manual_seed(0)
    x, y, test_x, test_y = digits(dtype, rows)
    loader = DataLoader(TensorDataset(lamina.tensor(x), lamina.tensor(y.astype(dtype))), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3)

    def accuracy():
        predicted = model.eval()(lamina.tensor(test_x)).argmax(1).tolist()
        return sum(p == t for p, t in zip(predicted, test_y)) / len(test_y)

    return (lambda: train(model, loss_fn, opt, loader)), accuracy


def numpy_by_hand(dtype, rows):
    """The same network and step as a careful numpy programmer writes it: the moments updated in
    place, the ReLU mask applied with the input gradient, no input gradient for the first layer."""
    import numpy as np

    rng = np.random.default_rng(0)
    x, y, test_x, test_y = digits(dtype, rows)
    sizes, params = [64, 128, 64, 10], []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        params += [rng.normal(0, np.sqrt(2 / fan_in), (fan_out, fan_in)).astype(dtype), np.zeros(fan_out, dtype)]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    beta1, beta2, lr, eps, step = 0.9, 0.999, 1e-3, 1e-8, 0
    last = len(params) - 2

    def one_epoch():
        nonlocal step
        order = rng.permutation(len(y))
        for s in range(0, len(y), 32):
            chosen = order[s:s + 32]
            activations = [x[chosen]]
            for k in range(0, len(params), 2):
                z = activations[-1] @ params[k].T
                z += params[k + 1]
                activations.append(np.maximum(z, 0.0, out=z) if k < last else z)
            z = activations[-1]
            e = np.exp(z - z.max(1, keepdims=True))
            grad = e / e.sum(1, keepdims=True)
            grad[np.arange(len(chosen)), y[chosen]] -= 1.0
            grad /= len(chosen)
            grads = [None] * len(params)
            for k in range(last, -1, -2):
                grads[k], grads[k + 1] = grad.T @ activations[k // 2], grad.sum(0)
                if k:
                    grad = (grad @ params[k]) * (activations[k // 2] > 0)
            step += 1
            for p, g, m, v in zip(params, grads, first, second):
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                p -= (lr / (1 - beta1 ** step)) * m / (np.sqrt(v / (1 - beta2 ** step)) + eps)

    def accuracy():
        h = test_x
        for k in range(0, len(params), 2):
            h = h @ params[k].T + params[k + 1]
            h = np.maximum(h, 0.0) if k < last else h
        return float((h.argmax(1) == test_y).mean())

    return one_epoch, accuracy


CONTENDERS = {"lamina numpy": lamina_numpy, "numpy by hand": numpy_by_hand}


def serve(who, dtype, rows):
    """A contender's process: one answer line on stdout per command line on stdin. "start" builds a
    fresh model, "epoch" trains it one epoch and answers the CPU seconds that took, "accuracy"
    answers its test accuracy."""
    one_epoch = accuracy = None
    for command in sys.stdin:
        command = command.strip()
        if command == "start":
            one_epoch, accuracy = CONTENDERS[who](dtype, rows)
            answer = "ready"
        elif command == "epoch":
            start = time.process_time()
            one_epoch()
            answer = repr(time.process_time() - start)
        elif command == "accuracy":
            answer = repr(float(accuracy()))
        else:
            raise SystemExit(f"digits_mlp --serve: unknown command {command!r}; expected start, epoch or accuracy")
        print(answer, flush=True)


def torch_mlp(epochs, dtype):
    """(CPU seconds, accuracy) of one whole run of torch_digits.py mlp, in its own process."""
    out = subprocess.run([sys.executable, str(BASELINES / "torch_digits.py"), "mlp", "--dtype", dtype,
                          "--epochs", str(epochs)], capture_output=True, text=True, check=True).stdout
    found = re.search(r"train cpu ([\d.]+)s\s+test acc ([\d.]+)%", out)
    return float(found.group(1)), float(found.group(2)) / 100


# --- the run -----------------------------------------------------------------------------------------


class Contender:
    """A contender's serving process, started once and asked for each round's epochs."""

    def __init__(self, who, args):
        self.who = who
        self.errors = tempfile.TemporaryFile("w+")
        command = [sys.executable, __file__, "--serve", who, "--dtype", args.dtype]
        if args.rows is not None:
            command += ["--rows", str(args.rows)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.errors, text=True)

    def ask(self, command):
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it has stopped: readline finds no answer, and the error says why
        answer = self.process.stdout.readline()
        if not answer:
            self.process.wait()
            self.errors.seek(0)
            last = (self.errors.read().strip().splitlines() or ["(no output)"])[-1]
            raise SystemExit(f"digits_mlp: {self.who} failed: {last}")
        return answer.strip()

    def close(self):
        self.process.stdin.close()
        self.process.wait()
        self.errors.close()


def one_round(contenders, epochs):
    """Each contender trains a fresh model, epoch by epoch in turn: {who: (seconds, accuracy)}."""
    for contender in contenders:
        contender.ask("start")
    seconds = {contender.who: 0.0 for contender in contenders}
    for epoch in range(epochs):
        for contender in contenders if epoch % 2 == 0 else contenders[::-1]:  # neither always first
            seconds[contender.who] += float(contender.ask("epoch"))
    return {c.who: (seconds[c.who], float(c.ask("accuracy"))) for c in contenders}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)  # 9: a slow spell over a few rounds leaves the medians alone
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--rows", type=int, help="train on only this many rows (a quick run)")
    parser.add_argument("--torch", action="store_true", help="also run ../shared/baselines/torch_digits.py mlp")
    parser.add_argument("--serve", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)  # internal: a contender's process
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.dtype, args.rows)
    if args.torch and not (BASELINES / "torch_digits.py").exists():
        parser.error(f"--torch: no torch_digits.py in {BASELINES}")
    names = list(CONTENDERS) + (["torch"] if args.torch else [])
    times, accuracy = {name: [] for name in names}, {}
    contenders = [Contender(who, args) for who in CONTENDERS]
    try:
        for _ in range(args.repeats):
            for who, (seconds, accuracy[who]) in one_round(contenders, args.epochs).items():
                times[who].append(seconds)
            if args.torch:
                seconds, accuracy["torch"] = torch_mlp(args.epochs, args.dtype)
                times["torch"].append(seconds)
    finally:
        for contender in contenders:
            contender.close()
    print(f"digits MLP 64-128-64-10, {args.epochs} epochs, {args.dtype}, {args.repeats} rounds (lamina and the "
          "hand-written loop epoch by epoch in turn), CPU seconds of the training loop, one thread")
    for name in names:
        print(f"  {name:14} median {statistics.median(times[name]):8.3f} s   test acc {accuracy[name] * 100:5.1f}%")
    ours = statistics.median(times["lamina numpy"])
    for name in names[1:]:
        theirs = statistics.median(times[name])
        if theirs <= 0:
            print(f"  lamina numpy / {name}: the baseline took no measurable time; use more --epochs")
            continue
        ratio = ours / theirs
        verdict = f"  target <= {TARGET}x: {'meets' if ratio <= TARGET else 'misses'}" if name == "numpy by hand" else ""
        print(f"  lamina numpy / {name}: {ratio:.2f}x (median){verdict}")
    paired = [mine / hand for mine, hand in zip(times["lamina numpy"], times["numpy by hand"]) if hand > 0]
    if paired:  # each round's pair trained side by side: how far apart their rounds' ratios are
        print(f"  lamina numpy / numpy by hand, round by round: {min(paired):.2f}x to {max(paired):.2f}x")
    return times


if __name__ == "__main__":
    main()
