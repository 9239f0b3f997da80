"""Convolution: Conv1d and Conv2d, read as Linear applied to patches.

Every output position sees a patch of the input (C/groups channels by the kernel's window); laid out
as rows, the patches of a batch are a (N*L, C/groups*kH*kW) matrix, and the weight, stored
(O, C/groups*kH*kW), is already the matrix that multiplies them. So forward is Linear's
`patches @ W.T + b` and backward is Linear's backward, whose input gradient is folded back from
patches onto the image (each patch value added where it was read).
"""

from __future__ import annotations

import math

import lamina
from lamina.component import at_least, boolean, component, field, integer
from lamina.nn import Module, Parameter
from lamina.plugin_system.kinds import Example
from lamina.plugins.patches import (
    Windows,
    batched,
    channels_first,
    check_output,
    convolution_index,
    output_size,
    per_dim,
    positions_first,
    sizes,
)


def zeros_padding_only(instance, attribute, value):
    if value != "zeros":
        raise ValueError(f"{type(instance).__name__}(padding_mode={value!r}): lamina pads with zeros only; "
                         "padding_mode must be 'zeros'")


def join_columns(parts):
    """Matrices of equal rows side by side (each group's output channels, in order)."""
    return parts[0] if len(parts) == 1 else lamina.cat([part.T for part in parts]).T


@component
class Convolution(Module):
    """What Conv1d and Conv2d share: PyTorch's arguments, per spatial dimension (an int for all of
    them, or one each): padding an int, "valid" (none) or "same" (output as large as the input,
    stride 1 only; an odd total padding puts the extra one at the end, as PyTorch); groups splits
    the channels into blocks, each convolved with its own block of filters."""

    spatial_dims = None  # set by each subclass
    layout = None

    in_channels: int = field(validator=[integer, at_least(1)])
    out_channels: int = field(validator=[integer, at_least(1)])
    kernel_size: int | tuple = field(validator=sizes(1))
    stride: int | tuple = field(default=1, validator=sizes(1))
    padding: int | tuple | str = field(default=0, validator=sizes(0, allow=("same", "valid")))
    dilation: int | tuple = field(default=1, validator=sizes(1))
    groups: int = field(default=1, validator=[integer, at_least(1)])
    has_bias: bool = field(default=True, alias="bias", validator=boolean)
    padding_mode: str = field(default="zeros", validator=zeros_padding_only)

    def __attrs_post_init__(self):
        name, groups = type(self).__name__, self.groups
        for argument in ("in_channels", "out_channels"):
            if getattr(self, argument) % groups:
                raise ValueError(f"{name}({argument}={getattr(self, argument)}, groups={groups}): "
                                 f"{argument} must be divisible by groups")
        dims = self.spatial_dims
        self.kernel = per_dim(self.kernel_size, dims)
        self.strides, self.dilations = per_dim(self.stride, dims), per_dim(self.dilation, dims)
        if self.padding == "same" and any(s != 1 for s in self.strides):
            raise ValueError(f"{name}(padding='same', stride={self.stride}): padding='same' needs stride 1")
        self.pads = self._padding()
        self.weight = Parameter(lamina.zeros(self.out_channels, self.in_channels // groups, *self.kernel))
        self.bias = Parameter(lamina.zeros(self.out_channels)) if self.has_bias else None
        self.reset_parameters()

    def _padding(self):
        """(before, after) for each spatial dimension."""
        if self.padding == "valid":
            return ((0, 0),) * self.spatial_dims
        if self.padding == "same":  # the window's reach, split with the extra one after, as PyTorch
            reach = [d * (k - 1) for d, k in zip(self.dilations, self.kernel)]
            return tuple((r // 2, r - r // 2) for r in reach)
        return tuple((p, p) for p in per_dim(self.padding, self.spatial_dims))

    def reset_parameters(self):
        """PyTorch's start: kaiming_uniform_ with a = sqrt(5), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        with fan_in = C/groups * kH * kW, and the same bound for the bias."""
        bound = 1.0 / math.sqrt(self.in_channels // self.groups * math.prod(self.kernel))
        lamina.nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            lamina.nn.init.uniform_(self.bias, -bound, bound)

    def windows(self, in_size):
        out_size = tuple(output_size(n, k, s, before, after, d) for n, k, s, (before, after), d
                         in zip(in_size, self.kernel, self.strides, self.pads, self.dilations))
        return Windows(tuple(in_size), self.kernel, self.strides, tuple(b for b, _ in self.pads),
                       self.dilations, out_size)

    def forward(self, x):
        self.input_needs_grad = getattr(x, "requires_grad", True)  # False for data, as Linear reads it
        x, self.unbatched = batched(self, x, self.in_channels)
        windows = self.windows(x.shape[2:])
        check_output(self, x, windows.out_size)
        weight = self.weight.reshape(self.out_channels, -1)  # (O, C/groups*kH*kW), as stored
        group_in, group_out = self.in_channels // self.groups, self.out_channels // self.groups
        self.x_shape, self.parts, outputs = x.shape, [], []
        for g in range(self.groups):  # each group: its block of input channels and its block of filters
            index = convolution_index(windows, g * group_in, group_in)
            patches = x.unfold_patches(index, group_in * math.prod(self.kernel))  # (N*L, C/groups*kH*kW)
            filters = weight[g * group_out:(g + 1) * group_out] if self.groups > 1 else weight
            outputs.append(patches @ filters.T)
            self.parts.append((index, patches, filters))
        out = join_columns(outputs)  # (N*L, O): Linear's output, a row per output position
        if self.bias is not None:
            out = out + self.bias
        out = channels_first(out, len(x)).reshape(len(x), self.out_channels, *windows.out_size)
        return out.reshape(out.shape[1:]) if self.unbatched else out

    def backward(self, grad):
        if self.unbatched:
            grad = grad.reshape(1, *grad.shape)
        grad = positions_first(grad)  # (N*L, O), as forward computed it
        if self.bias is not None:
            self.bias.accumulate_grad(grad.sum(0))
        per_channel = grad.T  # (O, N*L): a group's output channels are a block of its rows
        group_out = self.out_channels // self.groups
        weight_grads, grad_x = [], None
        for g, (index, patches, filters) in enumerate(self.parts):
            grad_out = per_channel[g * group_out:(g + 1) * group_out] if self.groups > 1 else per_channel
            weight_grads.append(grad_out @ patches)  # Linear's dL/dW = grad^T patches
            if not self.input_needs_grad:
                continue
            grad_patches = grad_out.T @ filters  # Linear's dL/dx = grad W, for each patch
            grad_group = grad_patches.fold_patches(index, self.x_shape)  # each value back where it was read
            grad_x = grad_group if grad_x is None else grad_x + grad_group
        self.weight.accumulate_grad(lamina.cat(weight_grads).reshape(self.weight.shape))
        if grad_x is None:
            return None
        return grad_x.reshape(grad_x.shape[1:]) if self.unbatched else grad_x


@component
class Conv2d(Convolution):
    """2-D convolution (cross-correlation, as PyTorch) of (N, C, H, W) images."""

    spatial_dims = 2
    layout = "(N, C, H, W)"
    conformance_examples = [
        Example(kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 2},
                inputs=lambda: lamina.randn(2, 2, 4, 3)),
        Example(kwargs={"in_channels": 4, "out_channels": 2, "kernel_size": (3, 2), "stride": 2, "padding": 1,
                        "dilation": (1, 2), "groups": 2}, inputs=lambda: lamina.randn(2, 4, 5, 5)),
    ]


@component
class Conv1d(Convolution):
    """1-D convolution (cross-correlation, as PyTorch) of (N, C, L) sequences."""

    spatial_dims = 1
    layout = "(N, C, L)"
    conformance_examples = [
        Example(kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": "same"},
                inputs=lambda: lamina.randn(2, 2, 5)),
        Example(kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 2, "stride": 2, "groups": 2,
                        "bias": False}, inputs=lambda: lamina.randn(3, 2, 5)),
    ]


@lamina.hookimpl
def lamina_register_modules():
    return [Conv1d, Conv2d]
