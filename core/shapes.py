"""Shape arithmetic: how a Tensor's logical shape (PyTorch's) reads its 2-D storage (rows are the
first dimension; a (F,) tensor is one row, a () one a single value). What every batch needs, a bias
broadcast and a sum along a dimension, is inline in core/tensors.py; here is the rest: reshaping,
broadcasting, indexing, permuting, and nested lists in and out."""

from __future__ import annotations

import math
import numbers

from .errors import ShapeError


def storage_shape(shape):
    """(rows, columns) of the table that holds a tensor of `shape`."""
    if len(shape) < 2:
        return 1, math.prod(shape)
    return shape[0], math.prod(shape[1:])


def dim_index(dim, ndim, what="dim"):
    """A dimension counted from the front (PyTorch's negative dims count from the back)."""
    size = max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, int) or not -size <= dim < size:
        raise IndexError(f"{what} {dim!r} is out of range for a tensor with {ndim} dimensions")
    return dim % size


def resolve_shape(shape, numel):
    """A requested shape with its one -1 (if any) worked out from `numel`, checked to fit."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(map(int, shape))  # map, min and index, not generators: reshape runs every step
    known = -math.prod(shape)  # with exactly one -1, the product of the other sizes
    if shape.count(-1) == 1 and known > 0 and numel % known == 0:
        shape = shape[:shape.index(-1)] + (numel // known,) + shape[shape.index(-1) + 1:]
    if math.prod(shape) != numel or min(shape, default=0) < 0:
        raise ShapeError(f"shape {shape} is invalid for a tensor of {numel} values")
    return shape


def broadcast_shape(left, right, op):
    """PyTorch's broadcast of two shapes: the result's, and each operand's padded with leading 1s."""
    width = max(len(left), len(right))
    padded = [(1,) * (width - len(s)) + tuple(s) for s in (left, right)]
    if any(a != b and 1 not in (a, b) for a, b in zip(*padded)):
        raise ShapeError(f"cannot {op} tensors of shapes {left} and {right}")
    return tuple(a if b == 1 else b for a, b in zip(*padded)), padded[0], padded[1]


def read_as(tensor, shape, what):
    """`tensor` in `shape` when they differ only in dimensions of size 1 ((1, n) for (n,))."""
    if tensor.shape == shape:
        return tensor
    if [n for n in tensor.shape if n != 1] != [n for n in shape if n != 1]:
        raise ShapeError(f"cannot {what} a {tensor.shape} tensor into a {shape} one")
    return tensor.reshape(shape)


def stored_as(tensor, padded, result):
    """A tensor's storage laid out to meet a `result`-shaped one: the rows of its `padded` shape (one
    row the kernels repeat down the rows), each read out to the result's trailing shape if it differs."""
    rows, cols = storage_shape(padded)
    data = tensor.data if tensor.backend.shape(tensor.data) == (rows, cols) else tensor.backend.reshape(
        tensor.data, rows, cols)
    if len(result) < 2 or padded[1:] == result[1:] or cols == 1:
        return data  # a whole row, one value per row or a single value: the kernels broadcast those
    strides = [math.prod(padded[i + 1:]) if padded[i] > 1 else 0 for i in range(1, len(padded))]
    reads = row_reads(result[1:], strides)
    return tensor.backend.unfold(data, reads, len(reads))


def row_reads(sizes, strides):
    """Where each position of a row of trailing shape `sizes`, in row-major order, reads in a row laid
    out with `strides` (a stride of 0 repeats a value: broadcasting; reordered strides: a permute)."""
    reads = [0]
    for size, stride in zip(sizes, strides):
        reads = [r + i * stride for r in reads for i in range(size)]
    return reads


def permutation(shape, dims):
    """For a permute that keeps dim 0: the new shape, and where each new row position reads from."""
    dims = tuple(dim_index(d, len(shape)) for d in dims)
    if sorted(dims) != list(range(len(shape))) or (shape and dims[0] != 0):
        raise ShapeError(f"permute{dims} of shape {shape}: lamina permutes the dimensions after the "
                         "first (the rows), given as a reordering of all of them with 0 first")
    inner = shape[1:]
    strides = [math.prod(inner[i + 1:]) for i in range(len(inner))]
    moved = [d - 1 for d in dims[1:]]
    new_inner = tuple(inner[d] for d in moved)
    return shape[:1] + new_inner, row_reads(new_inner, [strides[d] for d in moved])


def positions(index, count, what):
    """(positions, single) from an int, a slice, a list of ints or bools, or a list from a tensor."""
    if isinstance(index, slice):
        return range(*index.indices(count)), False
    single = not isinstance(index, (list, tuple, range))
    index = [index] if single else list(index)
    if index and all(type(i) is bool for i in index):
        if len(index) != count:
            raise IndexError(f"a mask of {len(index)} values cannot select from {count} {what}s")
        return [i for i, keep in enumerate(index) if keep], False
    if set(map(type, index)) - {int} or index and not -count <= min(index) <= max(index) < count:  # C-level
        bad = [i for i in index if isinstance(i, bool) or not isinstance(i, int) or not -count <= i < count]
        raise IndexError(f"{what} indices {bad[:5]} are not valid for {count} {what}s")
    return ([i % count for i in index] if index and min(index) < 0 else index), single


def nested(values, where=""):
    """(shape, flat list of floats) of a rectangular nested list of numbers, at any depth."""
    if is_number(values):
        return (), [float(values)]
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"lamina.tensor: the value{' at ' + where if where else ''} is {values!r} "
                        f"({type(values).__name__}), expected a number or a list of them")
    if all(is_number(v) for v in values):
        return (len(values),), [float(v) for v in values]
    parts = [nested(v, f"{where}[{i}]") for i, v in enumerate(values)]
    shapes = [shape for shape, _ in parts]
    if any(shape != shapes[0] for shape in shapes):
        raise ShapeError(f"lamina.tensor needs equal-length lists at each level, got items of shapes {shapes[:6]}")
    return (len(values),) + shapes[0], [v for _, flat in parts for v in flat]


def nest(rows, shape):
    """Storage rows as PyTorch's nested lists for `shape` (what `tolist` gives)."""
    if len(shape) < 2:
        return rows[0][0] if not shape else rows[0]
    return rows if len(shape) == 2 else [_nest_flat(row, shape[1:]) for row in rows]


def _nest_flat(flat, shape):
    if len(shape) == 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest_flat(flat[i:i + step], shape[1:]) for i in range(0, len(flat), step)]


def is_number(value):
    return type(value) in (float, int) or isinstance(value, numbers.Real)
