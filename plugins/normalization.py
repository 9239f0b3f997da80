"""Normalisation over each sample's features (its last dimensions): LayerNorm.

(BatchNorm1d, which normalises each feature over the batch, lives with the layers.)
"""

import math

import lamina
from lamina.component import (
    at_least,
    boolean,
    component,
    field,
    in_range,
    integer,
    number,
)
from lamina.errors import ShapeError
from lamina.nn import Module, Parameter
from lamina.plugin_system.kinds import Example


def _normalized_shape(value):
    """normalized_shape as PyTorch takes it: an int or a one-element tuple (kept as the int, the
    feature count), or a tuple of the trailing dimensions to normalise over (kept as a tuple)."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(value) == 1 else tuple(value)
    return value


def _positive_sizes(instance, attribute, value):
    for size in value if isinstance(value, tuple) else (value,):
        integer(instance, attribute, size)
        at_least(1)(instance, attribute, size)


@component
class LayerNorm(Module):
    """Normalise each sample over its last dimensions (normalized_shape), then scale and shift:
    y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance, as PyTorch. weight
    and bias have normalized_shape's shape."""

    normalized_shape: int | tuple = field(converter=_normalized_shape, validator=_positive_sizes)
    eps: float = field(default=1e-5, validator=[number, in_range(0, float("inf"), low_inclusive=False)])
    elementwise_affine: bool = field(default=True, validator=boolean)
    has_bias: bool = field(default=True, alias="bias", validator=boolean)

    conformance_examples = [Example(kwargs={"normalized_shape": 3}),
                            Example(kwargs={"normalized_shape": (2, 3)}, inputs=lambda: lamina.randn(2, 3, 2, 3))]

    def __attrs_post_init__(self):
        shape = self.normalized_shape if isinstance(self.normalized_shape, tuple) else (self.normalized_shape,)
        self.trailing, self.features = shape, math.prod(shape)
        self.weight = Parameter(lamina.ones(*shape)) if self.elementwise_affine else None
        self.bias = Parameter(lamina.zeros(*shape)) if self.elementwise_affine and self.has_bias else None

    def forward(self, x):
        trailing = self.trailing
        if x.shape[-len(trailing):] != trailing:
            if x.dim() == 2 and len(trailing) == 1:
                raise ShapeError(f"LayerNorm(normalized_shape={self.normalized_shape}) got input with "
                                 f"{x.shape[-1]} features (batch of {len(x)})")
            raise ShapeError(f"LayerNorm(normalized_shape={self.normalized_shape}) got input of shape {x.shape}; "
                             f"its last dimensions must be {trailing}")
        self.input_shape = x.shape
        x = x.reshape(-1, self.features)  # a row per sample, whatever dimensions come before
        centered = x - x.mean(1, keepdim=True)
        variance = (centered ** 2).mean(1, keepdim=True)
        self.inverse_std = 1.0 / (variance + self.eps).sqrt()
        self.x_hat = centered * self.inverse_std
        out = self.x_hat
        if self.weight is not None:
            out = out * self.weight.reshape(self.features)
        if self.bias is not None:
            out = out + self.bias.reshape(self.features)
        return out.reshape(self.input_shape)

    def backward(self, grad):
        grad, x_hat = grad.reshape(-1, self.features), self.x_hat
        if self.bias is not None:
            self.bias.accumulate_grad(grad.sum(0).reshape(self.trailing))
        if self.weight is not None:
            self.weight.accumulate_grad((grad * x_hat).sum(0).reshape(self.trailing))
            grad = grad * self.weight.reshape(self.features)
        # Each sample's mean and variance depend on all of its features: BatchNorm's backward,
        # taken along the feature dimension instead of the batch.
        count = self.features
        total, weighted = grad.sum(1, keepdim=True), (grad * x_hat).sum(1, keepdim=True)
        return ((grad * count - total - x_hat * weighted) * (self.inverse_std / count)).reshape(self.input_shape)


@lamina.hookimpl
def lamina_register_modules():
    return [LayerNorm]
