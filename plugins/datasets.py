"""Datasets: small synthetic tasks, each a function returning (inputs, targets) tensors.

Each draws from its own `random.Random(seed)`, so the data never depends on lamina's seed; targets
are an (N, 1) column of class indices (0.0, 1.0, ...), which BCE-style losses read as 0/1 labels
and CrossEntropyLoss as classes.
"""

import math
import numbers
import random

import lamina


def _check(dataset, n, noise, *, n_minimum=1):
    if isinstance(n, bool) or not isinstance(n, int) or n < n_minimum:
        raise ValueError(f"{dataset}(n={n!r}): n must be an integer >= {n_minimum}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"{dataset}(noise={noise!r}): noise must be a number >= 0")


def _linspace(start, stop, count):
    if count == 1:
        return [float(start)]
    step = (stop - start) / (count - 1)
    return [start + i * step for i in range(count)]


def circle(n=500, seed=42):
    """The lesson's task: points in [-2, 2]^2, label 1 inside x^2 + y^2 < 1.5."""
    _check("circle", n, 0.0)
    rng = random.Random(seed)  # its own generator: the data never depends on lamina's seed
    inputs, targets = [], []
    for _ in range(n):
        x = rng.uniform(-2, 2)
        y = rng.uniform(-2, 2)
        inputs.append([x, y])
        targets.append([1.0 if x * x + y * y < 1.5 else 0.0])
    return lamina.tensor(inputs), lamina.tensor(targets)


def spiral(n=100, classes=3, noise=0.2, seed=42, shuffle=True):
    """Interleaved spiral arms, n points per class (the classic CS231n task): arm j has radii
    evenly spaced in [0, 1] and angles evenly spaced in [4j, 4(j + 1)] plus N(0, noise^2) jitter.
    The rows are shuffled, so any slice of them (a held-out test set) has every class;
    shuffle=False keeps them grouped by class, as the classic generator does."""
    _check("spiral", n, noise)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"spiral(classes={classes!r}): classes must be an integer >= 2")
    rng = random.Random(seed)
    points = []
    for j in range(classes):
        radii = _linspace(0.0, 1.0, n)
        angles = [t + rng.gauss(0.0, noise) for t in _linspace(4.0 * j, 4.0 * (j + 1), n)]
        points += [([r * math.sin(t), r * math.cos(t)], float(j)) for r, t in zip(radii, angles)]
    if shuffle:
        rng.shuffle(points)
    return lamina.tensor([xy for xy, _ in points]), lamina.tensor([[label] for _, label in points])


def xor(n=200, noise=0.0, seed=42):
    """Points uniform in [-1, 1]^2, class 1 where the signs of x and y differ (x y < 0), then
    N(0, noise^2) jitter on the inputs: the task no linear model can solve."""
    _check("xor", n, noise)
    rng = random.Random(seed)
    inputs, targets = [], []
    for _ in range(n):
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        targets.append([1.0 if x * y < 0 else 0.0])
        inputs.append([x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)])
    return lamina.tensor(inputs), lamina.tensor(targets)


def moons(n=200, noise=0.1, seed=42):
    """Two interleaving half circles, as scikit-learn's make_moons: n // 2 points on the upper
    arc (class 0), the rest on the lower one shifted by (1, -0.5) (class 1), shuffled, then
    N(0, noise^2) jitter on each coordinate."""
    _check("moons", n, noise, n_minimum=2)
    rng = random.Random(seed)
    outer, inner = n // 2, n - n // 2
    points = [([math.cos(a), math.sin(a)], 0.0) for a in _linspace(0.0, math.pi, outer)]
    points += [([1 - math.cos(a), 0.5 - math.sin(a)], 1.0) for a in _linspace(0.0, math.pi, inner)]
    rng.shuffle(points)
    inputs = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for (x, y), _ in points]
    return lamina.tensor(inputs), lamina.tensor([[label] for _, label in points])


@lamina.hookimpl
def lamina_register_datasets():
    return [circle, spiral, xor, moons]
