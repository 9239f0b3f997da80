"""Per-sample stepping against mini-batch stepping, on the lesson's circle task.

    python examples/per_sample_vs_minibatch.py [--epochs 20]

The lesson's first loop updates the weights after every single sample: 400 small, noisy steps per
epoch. Mini-batch training averages the gradient over 16 samples and steps once per batch: 25
steps per epoch, each one over a whole batch in one forward and backward. Gradient accumulation
(`grad_accumulation=16` with batches of one sample) takes the mini-batch's steps while computing
the gradient one sample at a time: the same training as batches of 16, at per-sample cost. This is
how a model too large for a big batch still trains with a big batch's gradient.

All three start from the same weights and see the samples in the same shuffled order, so the
loss per epoch compares the stepping alone; wall time shows what each costs.
"""

from __future__ import annotations

import argparse
import time

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

REGIMES = {
    "per-sample": {"batch_size": 1, "grad_accumulation": 1},
    "mini-batch 16": {"batch_size": 16, "grad_accumulation": 1},
    "1 x accumulate 16": {"batch_size": 1, "grad_accumulation": 16},
}


def lesson_network():
    return nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(),
        nn.Linear(16, 16), nn.ReLU(),
        nn.Linear(16, 8), nn.ReLU(),
        nn.Linear(8, 1), nn.Sigmoid(),
    )


def train(batch_size, grad_accumulation, epochs, seed=42):
    """One regime from a fixed seed: (loss per epoch, test accuracy, seconds, optimizer steps)."""
    lamina.manual_seed(seed)
    x, y = lamina.registry().create("datasets", "circle", n=500, seed=42)
    model = lesson_network()
    trainer = lamina.Trainer(
        model, nn.BCELoss(), optim.Adam(model.parameters(), lr=0.01),
        max_epochs=epochs, metrics=["accuracy"], grad_accumulation=grad_accumulation,
    )
    train_loader = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    history = trainer.fit(train_loader)
    seconds = time.perf_counter() - start
    accuracy = trainer.evaluate(DataLoader(TensorDataset(x[400:], y[400:]), batch_size=100))["accuracy"]
    return {"loss": history["loss"], "accuracy": accuracy, "seconds": seconds, "steps": trainer.global_step}


def compare(epochs):
    return {name: train(epochs=epochs, **settings) for name, settings in REGIMES.items()}


def report(results):
    names = list(results)
    width = max(len(name) for name in names) + 2
    print("epoch " + "".join(f"{name:>{width}}" for name in names) + "   (training loss)")
    for epoch in range(len(results[names[0]]["loss"])):
        print(f"{epoch + 1:5d} " + "".join(f"{results[name]['loss'][epoch]:>{width}.4f}" for name in names))
    for label, key, shown in (
        ("steps", "steps", "{:d}"),
        ("time s", "seconds", "{:.2f}"),
        ("test acc", "accuracy", "{:.3f}"),
    ):
        print(f"{label:>5} " + "".join(f"{shown.format(results[name][key]):>{width}}" for name in names))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    report(compare(parser.parse_args().epochs))
