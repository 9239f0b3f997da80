"""Pooling: MaxPool1d, MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.

Each channel's windows are read out as rows (unfold, as convolution's patches, one channel at a
time), then each row is reduced: to its maximum, remembering which position won for the backward,
or to its mean. The backward puts each window's gradient back on the positions it came from (fold).
"""

from __future__ import annotations

import itertools
import math
import numbers
from functools import lru_cache

import lamina
from lamina.component import at_least, boolean, component, field, integer
from lamina.nn import Module
from lamina.plugin_system.kinds import Example
from lamina.plugins.patches import (
    AdaptiveWindows,
    Windows,
    batched,
    check_output,
    output_size,
    per_dim,
    pooling_index,
    sizes,
)


class Pooling(Module):
    """Reads each channel's windows as rows of a (N*C*L, window) matrix; subclasses reduce them."""

    spatial_dims = None  # set by each subclass
    layout = None

    def windows(self, in_size):
        """Regular windows (kernel, strides, dilations, padding, ceil_mode); adaptive pooling has its own."""
        pads = per_dim(self.padding, self.spatial_dims)
        out_size = tuple(output_size(n, k, s, p, p, d, self.ceil_mode)
                         for n, k, s, p, d in zip(in_size, self.kernel, self.strides, pads, self.dilations))
        return Windows(tuple(in_size), self.kernel, self.strides, pads, self.dilations, out_size)

    def unfold(self, x):
        """Every window of every channel, a sample's windows side by side in one row, in (channel,
        output position) order: reshaped to a row per window, a per-row result is already
        (N, C, *out_size) read channel-major."""
        x, self.unbatched = batched(self, x, None)
        self.x_shape, self.windows_used = x.shape, self.windows(x.shape[2:])
        check_output(self, x, self.windows_used.out_size)
        self.index = pooling_index(self.windows_used, x.shape[1])
        return x.unfold_patches(self.index, len(self.index))  # (N, C*L*window)

    def shaped(self, per_window):
        """A value per window, as (N, C, *out_size) (without N if the input came without)."""
        n, c = self.x_shape[:2]
        out = per_window.reshape(n, c, *self.windows_used.out_size)
        return out.reshape(out.shape[1:]) if self.unbatched else out

    def fold(self, grad_patches):
        """Each window position's gradient added back where it was read: dL/dx."""
        grad_x = grad_patches.reshape(self.x_shape[0], -1).fold_patches(self.index, self.x_shape)
        return grad_x.reshape(grad_x.shape[1:]) if self.unbatched else grad_x

    def window_size(self):
        return math.prod(self.windows_used.kernel)


def check_padding(layer, limit, rule):
    for p, k, d in zip(per_dim(layer.padding, layer.spatial_dims), layer.kernel, layer.dilations):
        if p > limit(k, d):
            raise ValueError(f"{type(layer).__name__}(padding={layer.padding!r}, kernel_size={layer.kernel_size!r}): "
                             f"padding must be at most half of {rule}, as in PyTorch")


@lru_cache(maxsize=64)
def padding_penalty(windows, channels, backend):
    """-inf where a window reads padding, 0 elsewhere, or None if none does: PyTorch pads max
    pooling with -inf, so padding never wins (unfold reads it as 0)."""
    index = pooling_index(windows, channels)
    if all(i >= 0 for i in index):
        return None
    return lamina.tensor([-math.inf if i < 0 else 0.0 for i in index]).to(backend)


def refuse_indices(instance, attribute, value):
    boolean(instance, attribute, value)
    if value:
        raise ValueError(f"{type(instance).__name__}(return_indices=True): lamina's pooling returns the pooled "
                         "values only; return_indices must be False")


@component
class MaxPooling(Pooling):
    """The largest value of each window (PyTorch's arguments; stride defaults to kernel_size; with
    ceil_mode the last window may run past the end, if it starts inside the input or left padding)."""

    kernel_size: int | tuple = field(validator=sizes(1))
    stride: int | tuple | None = field(default=None, validator=sizes(1, allow=(None,)))
    padding: int | tuple = field(default=0, validator=sizes(0))
    dilation: int | tuple = field(default=1, validator=sizes(1))
    return_indices: bool = field(default=False, validator=refuse_indices)
    ceil_mode: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        dims = self.spatial_dims
        self.kernel, self.dilations = per_dim(self.kernel_size, dims), per_dim(self.dilation, dims)
        self.strides = self.kernel if self.stride is None else per_dim(self.stride, dims)
        self.check_padding()

    def check_padding(self):
        check_padding(self, lambda k, d: (d * (k - 1) + 1) // 2, "the effective kernel size")

    def forward(self, x):
        patches = self.unfold(x)
        penalty = padding_penalty(self.windows_used, self.x_shape[1], patches.backend)
        if penalty is not None:  # some windows reach into the padding (or past the end)
            patches = patches + penalty
        largest, self.winners = patches.reshape(-1, self.window_size()).max(1, keepdim=True)
        return self.shaped(largest)

    def backward(self, grad):
        # d max / d window = 1 at the position that won (the first of equal maxima, as PyTorch), 0 elsewhere.
        positions = lamina.arange(self.window_size()).to(grad.backend)
        won = self.winners == positions  # (N*C*L, window): one 1.0 per row
        return self.fold(won * grad.reshape(-1, 1))


@component
class MaxPool2d(MaxPooling):
    """Max pooling over (N, C, H, W) images."""

    spatial_dims = 2
    layout = "(N, C, H, W)"
    conformance_examples = [
        Example(kwargs={"kernel_size": 2}, inputs=lambda: lamina.randn(2, 2, 4, 5)),
        Example(kwargs={"kernel_size": (3, 2), "stride": (2, 1), "padding": 1, "dilation": (1, 2), "ceil_mode": True},
                inputs=lambda: lamina.randn(2, 2, 6, 5)),
    ]


@component
class MaxPool1d(MaxPooling):
    """Max pooling over (N, C, L) sequences."""

    spatial_dims = 1
    layout = "(N, C, L)"
    conformance_examples = [Example(kwargs={"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                                    inputs=lambda: lamina.randn(2, 3, 6))]

    def check_padding(self):  # PyTorch's max_pool1d bounds padding by the kernel alone
        check_padding(self, lambda k, d: k // 2, "kernel_size")


class Averaging(Pooling):
    """The mean of each window: its sum over a divisor, one per output position."""

    def divisors(self):
        raise NotImplementedError

    def forward(self, x):
        patches = self.unfold(x)
        sums = patches.reshape(-1, self.window_size()).sum(1)  # padding reads 0, so adds nothing
        self.divisor = _divisor_row(self.divisors(), self.x_shape[1], x.backend)
        return self.shaped(sums.reshape(self.x_shape[0], -1) / self.divisor)

    def backward(self, grad):
        # d mean / d x = 1/divisor for every position of the window.
        per_window = (grad.reshape(self.x_shape[0], -1) / self.divisor).reshape(-1, 1)
        return self.fold(per_window * lamina.ones(self.window_size()).to(grad.backend))


@lru_cache(maxsize=64)
def _divisor_row(divisors, channels, backend):
    """The divisor of each (channel, output position): one row that divides every sample's sums."""
    return lamina.tensor([float(d) for d in divisors] * channels).to(backend)


def positive_or_none(instance, attribute, value):
    if value is not None:
        integer(instance, attribute, value)
        at_least(1)(instance, attribute, value)


@component
class AvgPool2d(Averaging):
    """The mean of each window of (N, C, H, W) images. count_include_pad counts zero padding in the
    divisor (but never positions past the padding, which ceil_mode can reach); divisor_override
    divides by that number instead."""

    spatial_dims = 2
    layout = "(N, C, H, W)"
    conformance_examples = [
        Example(kwargs={"kernel_size": 2}, inputs=lambda: lamina.randn(2, 2, 4, 5)),
        Example(kwargs={"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
                inputs=lambda: lamina.randn(2, 2, 6, 5)),
    ]

    kernel_size: int | tuple = field(validator=sizes(1))
    stride: int | tuple | None = field(default=None, validator=sizes(1, allow=(None,)))
    padding: int | tuple = field(default=0, validator=sizes(0))
    ceil_mode: bool = field(default=False, validator=boolean)
    count_include_pad: bool = field(default=True, validator=boolean)
    divisor_override: int | None = field(default=None, validator=positive_or_none)

    def __attrs_post_init__(self):
        self.kernel, self.dilations = per_dim(self.kernel_size, 2), (1, 1)
        self.strides = self.kernel if self.stride is None else per_dim(self.stride, 2)
        check_padding(self, lambda k, d: k // 2, "kernel_size")

    def divisors(self):
        """What each output position's sum is divided by, as PyTorch's avg_pool2d."""
        windows = self.windows_used
        if self.divisor_override is not None:
            return (self.divisor_override,) * math.prod(windows.out_size)
        if not self.count_include_pad:
            return tuple(windows.counts())
        along = []  # per dimension: how much of each window lies within the input and its padding
        for n, k, s, p, out in zip(windows.in_size, windows.kernel, windows.stride, windows.before, windows.out_size):
            along.append([min(o * s - p + k, n + p) - (o * s - p) for o in range(out)])
        return tuple(math.prod(window) for window in itertools.product(*along))


def output_sizes(instance, attribute, value):
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    good = len(values) == (2 if isinstance(value, (tuple, list)) else 1) and all(
        v is None or isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in values)
    if not good or value is None:
        raise ValueError(f"AdaptiveAvgPool2d(output_size={value!r}): output_size must be an int >= 1 or a pair "
                         f"of them (None keeps the input's size), got {value!r}")


@component
class AdaptiveAvgPool2d(Averaging):
    """The mean over output_size windows that tile each image whatever its size: output i of m along
    a dimension of n covers floor(i*n/m) to ceil((i+1)*n/m), as PyTorch."""

    spatial_dims = 2
    layout = "(N, C, H, W)"
    conformance_examples = [Example(kwargs={"output_size": (2, 3)}, inputs=lambda: lamina.randn(2, 2, 5, 4))]

    output_size: int | tuple = field(validator=output_sizes)

    def windows(self, in_size):
        wanted = per_dim(self.output_size, 2)
        return AdaptiveWindows(tuple(in_size), tuple(n if m is None else m for n, m in zip(in_size, wanted)))

    def divisors(self):
        return tuple(self.windows_used.counts())


@lamina.hookimpl
def lamina_register_modules():
    return [MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d]
