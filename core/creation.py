"""Building tensors from values: nested lists, numpy arrays or a value repeated, on the backend
new tensors use (lamina.set_backend); `cat` joins tensors. Tensors drawn at random, ranges and
one-hot rows are in lamina.factories. Sizes are PyTorch's: `zeros(2, 3, 4)` or `zeros((2, 3, 4))`."""

from __future__ import annotations

from .errors import ShapeError
from .placement import common_backend, get_backend
from .shapes import chunk, nested, storage_shape
from .tensors import Tensor


def tensor(values):
    """A float64 tensor from nested lists of numbers of any depth, a number, a numpy array (kept
    without a copy where the backend can: numpy checks its numbers, not lamina element by element)
    or anything with `.tolist()`; its shape is PyTorch's for the same values."""
    if isinstance(values, Tensor):  # a copy, on the current backend
        moved = values.to(get_backend())
        return moved if moved is not values else values.clone()
    backend = get_backend()
    if hasattr(values, "dtype") and hasattr(values, "reshape") and values.dtype.kind in "biuf":
        table = values.reshape(storage_shape(values.shape))
        take_array = getattr(backend, "from_array", None)  # an optional kernel (lamina.backend)
        return Tensor(take_array(table) if take_array else backend.from_rows(table.astype(float).tolist()),
                      backend, values.shape)
    shape, flat = nested(values.tolist() if hasattr(values, "tolist") else values)
    return Tensor(backend.from_rows(chunk(flat, storage_shape(shape)[1])), backend, shape)


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
