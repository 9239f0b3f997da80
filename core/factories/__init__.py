"""Tensor factories: drawn from lamina's seeded generator (randn, rand, rand_like), a range
(arange), chosen element by element (where) or one-hot rows; each made on the backend new tensors
use (lamina.set_backend). Tensors from values, filled with one value or joined are in lamina.creation."""

from __future__ import annotations

import math

from lamina.creation import size_of
from lamina.placement import common_backend, get_backend
from lamina.rng import generator
from lamina.shapes import chunk, storage_shape
from lamina.tensors import Tensor


def _filled(shape, flat):
    return Tensor(get_backend().from_rows(chunk(flat, storage_shape(shape)[1])), shape=shape)


def randn(*size, mean=0.0, std=1.0):
    """Normal samples from lamina's seeded generator, in row-major order (the same on any backend)."""
    shape, rest = size_of(size)
    mean, std = (*rest, mean, std)[:2] if rest else (mean, std)
    gauss = generator().gauss
    return _filled(shape, [gauss(mean, std) for _ in range(math.prod(shape))])


def rand(*size, low=0.0, high=1.0):
    shape, rest = size_of(size)
    low, high = (*rest, low, high)[:2] if rest else (low, high)
    uniform = generator().uniform
    return _filled(shape, [uniform(low, high) for _ in range(math.prod(shape))])


def rand_like(other, low=0.0, high=1.0):
    """Uniform samples of `other`'s shape on `other`'s backend (the same draws as `rand`)."""
    return rand(other.shape, low=low, high=high).to(other.backend)


def arange(start, end=None, step=1):
    """start, start + step, ... up to (not including) end, as a 1-D tensor; arange(n) is 0..n-1."""
    start, end = (0, start) if end is None else (start, end)
    count = max(0, math.ceil((end - start) / step))
    return _filled((count,), [float(start + i * step) for i in range(count)])


def where(mask, a, b):
    """Element-wise `a if mask else b`; a and b may be tensors or numbers."""
    tensors = [t for t in (mask, a, b) if isinstance(t, Tensor)]
    backend = common_backend(tensors, "where")
    shape = max((t.shape for t in tensors), key=math.prod)
    a_data = a.data if isinstance(a, Tensor) else float(a)
    b_data = b.data if isinstance(b, Tensor) else float(b)
    return Tensor(backend.where(mask.data, a_data, b_data), backend, shape)


def one_hot(indices, num_classes):
    """A row per class index (a list, or a tensor of shape (N,) or (N, 1))."""
    indices = [int(i) for i in (indices.reshape(-1).tolist() if isinstance(indices, Tensor) else indices)]
    bad = [i for i in indices if not 0 <= i < num_classes]
    if bad:
        raise ValueError(f"class indices {bad[:5]} are outside 0..{num_classes - 1}")
    return Tensor(get_backend().one_hot(indices, num_classes))
