"""Building tensors: filled with a value, drawn from lamina's seeded generator, chosen element by
element, stacked, or one-hot. Each is made on the backend new tensors use (lamina.set_backend)."""

from __future__ import annotations

from .errors import ShapeError
from .rng import generator
from .tensors import Tensor, common_backend, get_backend


def full(rows, cols, value):
    return Tensor(get_backend().full(rows, cols, value))


def zeros(rows, cols):
    return full(rows, cols, 0.0)


def ones(rows, cols):
    return full(rows, cols, 1.0)


def randn(rows, cols, mean=0.0, std=1.0):
    """Normal samples from lamina's seeded generator, drawn row by row (the same on any backend)."""
    gauss = generator().gauss
    return Tensor(get_backend().from_rows([[gauss(mean, std) for _ in range(cols)] for _ in range(rows)]))


def rand(rows, cols, low=0.0, high=1.0):
    uniform = generator().uniform
    return Tensor(get_backend().from_rows([[uniform(low, high) for _ in range(cols)] for _ in range(rows)]))


def rand_like(other, low=0.0, high=1.0):
    """Uniform samples of `other`'s shape on `other`'s backend (the same draws as `rand`)."""
    return rand(*other.shape, low=low, high=high).to(other.backend)


def where(mask, a, b):
    """Element-wise `a if mask else b`; a and b may be tensors or numbers."""
    backend = common_backend([t for t in (mask, a, b) if isinstance(t, Tensor)], "where")
    a_data = a.data if isinstance(a, Tensor) else float(a)
    b_data = b.data if isinstance(b, Tensor) else float(b)
    return Tensor(backend.where(mask.data, a_data, b_data), backend)


def cat(tensors):
    """Stack tensors' rows (all must have the same number of columns)."""
    tensors = list(tensors)
    widths = {t.shape[1] for t in tensors}
    if len(widths) != 1:
        raise ShapeError(f"cat needs tensors with equal column counts, got {sorted(widths)}")
    backend = common_backend(tensors, "cat")
    return Tensor(backend.concat_rows([t.data for t in tensors]), backend)


def one_hot(indices, num_classes):
    indices = [int(i) for i in indices]
    bad = [i for i in indices if not 0 <= i < num_classes]
    if bad:
        raise ValueError(f"class indices {bad[:5]} are outside 0..{num_classes - 1}")
    return Tensor(get_backend().one_hot(indices, num_classes))
