"""Tensors made by a rule: filled with one value (full, zeros, ones), drawn from lamina's seeded
generator (randn, rand, rand_like), a range (arange), chosen element by element (where), one-hot
rows, or joined (cat); each on the backend new tensors use (lamina.set_backend). Sizes are
PyTorch's: `zeros(2, 3, 4)` or `zeros((2, 3, 4))`. A tensor from values is `lamina.tensor`."""

from __future__ import annotations

import functools
import math

from lamina.backend import common_backend, get_backend
from lamina.creation import from_flat
from lamina.errors import ShapeError
from lamina.performance.dtypes import get_default_dtype
from lamina.rng import generator
from lamina.shapes import storage_shape
from lamina.tensors import Tensor


def size_of(args):
    """(shape, the numbers after it): lamina lets `rand(4, 3, low, high)` give bounds positionally."""
    if args and isinstance(args[0], (tuple, list)):
        return tuple(args[0]), args[1:]
    sizes = [n for n in args if isinstance(n, int) and not isinstance(n, bool)]
    return tuple(sizes), args[len(sizes):]


def full(*args):
    """full(size, value) as PyTorch, or full(rows, cols, value)."""
    shape, (value,) = size_of(args)
    return Tensor(get_backend().full(*storage_shape(shape), value), shape=shape)


def zeros(*size):
    return full(*size_of(size)[0], 0.0)


def ones(*size):
    return full(*size_of(size)[0], 1.0)


def randn(*size, mean=0.0, std=1.0):
    """Normal samples from lamina's seeded generator, in row-major order (the same on any backend)."""
    shape, rest = size_of(size)
    mean, std = (*rest, mean, std)[:2] if rest else (mean, std)
    gauss = generator().gauss
    return from_flat(shape, [gauss(mean, std) for _ in range(math.prod(shape))])


def rand(*size, low=0.0, high=1.0):
    shape, rest = size_of(size)
    low, high = (*rest, low, high)[:2] if rest else (low, high)
    uniform = generator().uniform
    return from_flat(shape, [uniform(low, high) for _ in range(math.prod(shape))])


def rand_like(other, low=0.0, high=1.0):
    """Uniform samples of `other`'s shape on `other`'s backend (the same draws as `rand`)."""
    return rand(other.shape, low=low, high=high).to(other.backend)


def arange(start, end=None, step=1):
    """start, start + step, ... up to (not including) end, as a 1-D tensor; arange(n) is 0..n-1."""
    start, end = (0, start) if end is None else (start, end)
    count = max(0, math.ceil((end - start) / step))
    return from_flat((count,), [float(start + i * step) for i in range(count)])


def where(mask, a, b):
    """Element-wise `a if mask else b`; a and b may be tensors or numbers."""
    tensors = [t for t in (mask, a, b) if isinstance(t, Tensor)]
    backend = common_backend(tensors, "where")
    shape = max((t.shape for t in tensors), key=math.prod)
    a_data = a.data if isinstance(a, Tensor) else float(a)
    b_data = b.data if isinstance(b, Tensor) else float(b)
    return Tensor(backend.where(mask.data, a_data, b_data), backend, shape)


def one_hot(indices, num_classes):
    """A row per class index (a list, or a tensor of shape (N,) or (N, 1)): 1.0 in the index's column,
    on the backend new tensors use (a tensor's own, for a tensor of indices, as PyTorch's)."""
    if isinstance(indices, Tensor) and indices.numel():
        # A classifier's loss does this on every step: by kernels, a column of the indices against a row
        # of the classes. Every row holds one 1.0 exactly when every index is a whole class in range.
        backend, count = indices.backend, indices.numel()
        found = backend.compare(_classes(backend, num_classes, get_default_dtype()),
                                backend.reshape(indices.data, count, 1), "==")
        if backend.sum(found, None) == count:
            return Tensor(found, backend, (count, num_classes))
    values = indices.reshape(-1).tolist() if isinstance(indices, Tensor) else list(indices)
    try:
        indices = list(map(int, values))
    except (TypeError, ValueError, OverflowError):  # None, nan, inf: named below
        indices = None
    if indices != values:  # 2.5 is no class (int() would make it 2); 2.0, from a float tensor, is
        bad = [v for v in values if type(v) not in (int, float) or isinstance(v, float) and not v.is_integer()]
        raise ValueError(f"one_hot takes whole-number class indices, got {bad[:5]}")
    if not indices:  # as PyTorch: no rows
        return zeros(0, num_classes)
    if not (min(indices) >= 0 and max(indices) < num_classes):
        bad = [i for i in indices if not 0 <= i < num_classes]
        raise ValueError(f"class indices {bad[:5]} are outside 0..{num_classes - 1}")
    backend = get_backend()
    column = backend.reshape(backend.from_rows([list(map(float, indices))]), len(indices), 1)  # one row in: fast
    classes = _classes(backend, num_classes, get_default_dtype())
    # a (1, C) row against an (N, 1) column: 1.0 where the class is the sample's index
    return Tensor(backend.compare(classes, column, "=="), backend, (len(indices), num_classes))


@functools.lru_cache(maxsize=8)
def _classes(backend, num_classes, dtype):
    # 0.0, 1.0, ... as one row of storage, kept for the next batch: never written to, as kernels make new storage
    return backend.from_rows([list(map(float, range(num_classes)))])


def stack(tensors):
    """Tensors of one shape as the rows of a new first dimension: (3, 4) tensors make a (B, 3, 4) one."""
    return cat([t.reshape((1,) + t.shape) for t in tensors])


def cat(tensors, dim=0):
    """Join tensors along their first dimension (the rest of their shapes must agree)."""
    tensors = list(tensors)
    rests = {t.shape[1:] for t in tensors}
    if dim != 0 or len(rests) != 1:
        raise ShapeError(f"cat joins tensors of equal shapes after the first dimension along dim=0, got "
                         f"shapes {[t.shape for t in tensors][:5]} and dim={dim}")
    backend = common_backend(tensors, "cat")
    shape = (sum(t.shape[0] for t in tensors),) + rests.pop()
    if len(shape) == 1:  # (F,) tensors are single rows: join them as columns
        return Tensor(backend.transpose(backend.concat_rows([backend.transpose(t.data) for t in tensors])), backend, shape)
    return Tensor(backend.concat_rows([t.data for t in tensors]), backend, shape)
