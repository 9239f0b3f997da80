"""Normalisation over each sample's features: LayerNorm.

(BatchNorm1d, which normalises each feature over the batch, lives with the layers.)
"""

import lamina
from lamina.component import at_least, boolean, component, field, in_range, integer, number
from lamina.errors import ShapeError
from lamina.nn import Module, Parameter


def _feature_count(value):
    """normalized_shape as PyTorch writes it (an int, or a one-element tuple or list) -> the int.
    lamina tensors are (samples, features), so only the feature dimension can be normalised."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(
                f"LayerNorm(normalized_shape={value!r}): lamina normalises the feature dimension "
                "of 2-D tensors, so normalized_shape must be an int or a one-element tuple"
            )
        return value[0]
    return value


@component
class LayerNorm(Module):
    """Normalise each sample over its features, then scale and shift:
    y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance, as PyTorch."""

    normalized_shape: int = field(converter=_feature_count, validator=[integer, at_least(1)])
    eps: float = field(default=1e-5, validator=[number, in_range(0, float("inf"), low_inclusive=False)])
    elementwise_affine: bool = field(default=True, validator=boolean)
    has_bias: bool = field(default=True, alias="bias", validator=boolean)

    def __attrs_post_init__(self):
        n = self.normalized_shape
        self.weight = Parameter(lamina.ones(n)) if self.elementwise_affine else None
        self.bias = Parameter(lamina.zeros(n)) if self.elementwise_affine and self.has_bias else None

    def forward(self, x):
        rows, features = len(x), x.shape[-1]
        if x.dim() != 2 or features != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm(normalized_shape={self.normalized_shape}) got input with {features} "
                f"features (batch of {rows})"
            )
        centered = x - x.mean(1, keepdim=True)
        variance = (centered ** 2).mean(1, keepdim=True)
        self.inverse_std = 1.0 / (variance + self.eps).sqrt()
        self.x_hat = centered * self.inverse_std
        out = self.x_hat
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def backward(self, grad):
        x_hat = self.x_hat
        if self.bias is not None:
            self.bias.accumulate_grad(grad.sum(0))
        if self.weight is not None:
            self.weight.accumulate_grad((grad * x_hat).sum(0))
            grad = grad * self.weight
        # Each sample's mean and variance depend on all of its features: BatchNorm's backward,
        # taken along the feature dimension instead of the batch.
        count = self.normalized_shape
        total, weighted = grad.sum(1, keepdim=True), (grad * x_hat).sum(1, keepdim=True)
        return (grad * count - total - x_hat * weighted) * (self.inverse_std / count)


@lamina.hookimpl
def lamina_register_modules():
    return [LayerNorm]
