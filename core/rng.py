"""The one random generator behind initialisers, Dropout masks and DataLoader shuffling.

One generator (not Python's global `random`) so that `manual_seed` makes a whole run repeatable and
a checkpoint can carry the exact generator state to resume bit-identically.
"""

from __future__ import annotations

import random

_generator = random.Random()


def manual_seed(seed: int) -> None:
    """Seed lamina's generator; the same seed gives a bit-identical run."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"manual_seed expects an integer seed, got {seed!r}")
    _generator.seed(seed)


def generator() -> random.Random:
    return _generator


def get_rng_state():
    """The generator state as plain JSON-friendly lists."""
    version, internal, gauss_next = _generator.getstate()
    return [version, list(internal), gauss_next]


def set_rng_state(state) -> None:
    try:
        version, internal, gauss_next = state
        _generator.setstate((version, tuple(internal), gauss_next))
    except (TypeError, ValueError) as error:
        raise ValueError(f"not a lamina random-generator state: {error}") from None
