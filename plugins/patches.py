"""Where convolution and pooling read: each output position's window of input positions.

A layer's patches are rows read out of each sample's stored row by `Tensor.unfold_patches(index,
width)`; this file computes `index` (and checks the hyper-parameters that shape it). Sizes follow
PyTorch's formulas. The index functions are cached: a layer asks again on every batch and gets the
same list object back, and the numpy backend keeps the array it made from a list by its identity.
"""

from __future__ import annotations

import itertools
import math
import numbers
from functools import lru_cache
from typing import NamedTuple

from lamina.errors import ShapeError


# --- hyper-parameters given as an int or one int per spatial dimension ------------------------
def sizes(low, allow=()):
    """A validator: an int >= low, or a tuple/list of one such int per spatial dimension
    (`instance.spatial_dims`); the values in `allow` (None, "same", ...) pass as they are."""

    def check(instance, attribute, value):
        if (value is None or isinstance(value, str)) and value in allow:
            return
        count = instance.spatial_dims
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
        if len(values) != count or not all(_is_int(v) and v >= low for v in values):
            alternatives = "".join(f" or {a!r}" for a in allow)
            raise ValueError(f"{type(instance).__name__}({attribute.name}={value!r}): {attribute.name} must be "
                             f"an int >= {low} or a tuple of {count} of them{alternatives}, got {value!r}")

    return check


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def per_dim(value, count):
    """An int repeated for each spatial dimension, or the tuple given: PyTorch's _pair/_single."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * count


# --- window positions ------------------------------------------------------------------------
def output_size(size, kernel, stride, before, after, dilation, ceil_mode=False):
    """PyTorch's output length along one dimension: floor((in + pads - dilation*(k-1) - 1) / stride)
    + 1, rounded up instead with ceil_mode, where the last window must still start inside the
    input or the left padding."""
    span = size + before + after - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    count = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + before:
        count -= 1
    return count


class Windows(NamedTuple):
    """Regular windows over a plane of `in_size`: output position o along a dimension reads
    o*stride - before + k*dilation for k < kernel (-1 where that falls in the padding)."""

    in_size: tuple
    kernel: tuple
    stride: tuple
    before: tuple
    dilation: tuple
    out_size: tuple

    def reads(self):
        return _regular_reads(self)

    def counts(self):
        """How many input positions each window covers (what an average divides by)."""
        return [sum(p >= 0 for p in window) for window in self.reads()]


class AdaptiveWindows(NamedTuple):
    """AdaptiveAvgPool's windows: output i of `out` along a dimension of `in` positions covers
    floor(i*in/out) up to ceil((i+1)*in/out). Windows differ in size, so each is padded with -1
    reads up to the largest."""

    in_size: tuple
    out_size: tuple

    @property
    def kernel(self):
        """The largest window along each dimension."""
        return tuple(max(len(adaptive_span(i, n, m)) for i in range(m)) for n, m in zip(self.in_size, self.out_size))

    def reads(self):
        return _adaptive_reads(self)

    def counts(self):
        return [sum(p >= 0 for p in window) for window in self.reads()]


def _row_major(positions_per_dim, in_size):
    """Every combination of one position per dimension, as a flat position in the plane (-1 if
    any of them is padding)."""
    strides = [math.prod(in_size[d + 1:]) for d in range(len(in_size))]
    return [-1 if None in point else sum(p * s for p, s in zip(point, strides))
            for point in itertools.product(*positions_per_dim)]


def adaptive_span(i, size, out):
    """Positions of PyTorch's adaptive window i of `out` over `size`: floor(i*size/out) up to
    ceil((i+1)*size/out)."""
    return range(i * size // out, -(-(i + 1) * size // out))


@lru_cache(maxsize=128)
def _regular_reads(w):
    along = []  # per dimension: for each output position, the positions its window reads (None: padding)
    for n, k, s, b, d, out in zip(w.in_size, w.kernel, w.stride, w.before, w.dilation, w.out_size):
        starts = [o * s - b for o in range(out)]
        along.append([[p if 0 <= p < n else None for p in range(start, start + k * d, d)] for start in starts])
    return [_row_major(choice, w.in_size) for choice in itertools.product(*along)]


@lru_cache(maxsize=128)
def _adaptive_reads(w):
    along = []  # per dimension: each window's positions, padded with None up to the largest
    for n, out, k in zip(w.in_size, w.out_size, w.kernel):
        spans = [adaptive_span(i, n, out) for i in range(out)]
        along.append([list(span) + [None] * (k - len(span)) for span in spans])
    return [_row_major(choice, w.in_size) for choice in itertools.product(*along)]


# --- indices for unfold_patches --------------------------------------------------------------
@lru_cache(maxsize=128)
def convolution_index(windows, first_channel, channels):
    """Convolution's patches: for each output position, its window in each of `channels` channels
    (from `first_channel`), so a patch row lines up with a weight row (C, kH, kW) flattened."""
    plane = math.prod(windows.in_size)
    return [p if p < 0 else c * plane + p
            for window in windows.reads() for c in range(first_channel, first_channel + channels) for p in window]


@lru_cache(maxsize=128)
def pooling_index(windows, channels):
    """Pooling's patches: channel by channel, each output position's window, so the rows come out
    in (channel, position) order, which is already (C, oH, oW) read channel-major."""
    plane = math.prod(windows.in_size)
    return [p if p < 0 else c * plane + p for c in range(channels) for window in windows.reads() for p in window]


@lru_cache(maxsize=128)
def transpose_index(rows, cols):
    """Reads a row-major (rows, cols) block as (cols, rows): per sample, (L, C) <-> (C, L)."""
    return [r * cols + c for c in range(cols) for r in range(rows)]


def channels_first(rows, batch):
    """(N*L, C), a row per position and a column per channel, as (N, C*L): each sample's values
    channel by channel, as PyTorch lays out (N, C, *spatial)."""
    positions, channels = rows.shape[0] // batch, rows.shape[1]
    return rows.reshape(batch, -1).unfold_patches(transpose_index(positions, channels), positions * channels)


def positions_first(x):
    """(N, C, *spatial) as (N*L, C): a row per position, a column per channel."""
    batch, channels, positions = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    rows = x.reshape(batch, -1).unfold_patches(transpose_index(channels, positions), channels * positions)
    return rows.reshape(-1, channels)


def batched(layer, x, channels):
    """x as (N, C, *spatial), and whether it came unbatched (C, *spatial), as PyTorch accepts."""
    name, dims = type(layer).__name__, layer.spatial_dims
    if x.dim() == dims + 1:
        x = x.reshape(1, *x.shape)
        unbatched = True
    elif x.dim() == dims + 2:
        unbatched = False
    else:
        raise ShapeError(f"{name} takes {layer.layout} input (or unbatched, without N), got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ShapeError(f"{name}(in_channels={channels}) got input with {x.shape[1]} channels (shape {x.shape})")
    return x, unbatched


def check_output(layer, x, out_size):
    if min(out_size) < 1:
        raise ShapeError(f"{type(layer).__name__} got input of shape {x.shape}, which gives an output of "
                         f"spatial size {out_size}: the (padded) input is smaller than the kernel")
