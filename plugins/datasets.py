"""Datasets: small synthetic tasks, each a function returning (inputs, targets) tensors."""

import random

import lamina


def circle(n=500, seed=42):
    """The lesson's task: points in [-2, 2]^2, label 1 inside x^2 + y^2 < 1.5."""
    rng = random.Random(seed)  # its own generator: the data never depends on lamina's seed
    inputs, targets = [], []
    for _ in range(n):
        x = rng.uniform(-2, 2)
        y = rng.uniform(-2, 2)
        inputs.append([x, y])
        targets.append([1.0 if x * x + y * y < 1.5 else 0.0])
    return lamina.tensor(inputs), lamina.tensor(targets)


@lamina.hookimpl
def lamina_register_datasets():
    return [circle]
