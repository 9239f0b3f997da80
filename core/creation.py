"""`lamina.tensor`: a Tensor from values (nested lists, numpy arrays), on the backend new tensors
use (lamina.set_backend). Tensors made by a rule (zeros, randn, arange, ...), and `cat`, are in
lamina.factories."""

from __future__ import annotations

from .backend import get_backend
from .shapes import nested, storage_shape
from .tensors import Tensor


def tensor(values):
    """A float64 tensor from nested lists of numbers of any depth, a number, a numpy array (kept
    without a copy where the backend can: numpy checks its numbers, not lamina element by element)
    or anything with `.tolist()`; its shape is PyTorch's for the same values."""
    if isinstance(values, Tensor):  # a copy, on the current backend
        moved = values.to(get_backend())
        return moved if moved is not values else values.clone()
    backend = get_backend()
    if getattr(getattr(values, "dtype", None), "kind", "") in ("b", "i", "u", "f"):  # a numpy array
        table = values if values.ndim == 2 else values.reshape(storage_shape(values.shape))
        take_array = getattr(backend, "from_array", None)  # an optional kernel (lamina.backend)
        return Tensor(take_array(table) if take_array else backend.from_rows(table.astype(float).tolist()),
                      backend, values.shape)
    return from_flat(*nested(values.tolist() if hasattr(values, "tolist") else values))


def from_flat(shape, flat):
    """A tensor of `shape` from its values in row-major order, on the backend new tensors use."""
    cols = storage_shape(shape)[1]
    return Tensor(get_backend().from_rows([flat[i:i + cols] for i in range(0, len(flat), cols)] if cols else [[]]),
                  shape=shape)
