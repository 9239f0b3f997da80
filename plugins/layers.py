"""Layers with parameters or state: Linear, Dropout, BatchNorm1d and BatchNorm2d; and Flatten and
Unflatten, which join an image's dimensions into the features a Linear reads and split them back."""

import math

import lamina
from lamina.component import at_least, boolean, component, field, in_range, integer, number
from lamina.plugin_system.kinds import Example
from lamina.errors import ShapeError
from lamina.tensors import Tensor
from lamina.nn import Buffer, Module, Parameter
from lamina.plugins.patches import channels_first, positions_first


def check_features(layer, x, expected):
    if len(x.shape) != 2:
        raise ShapeError(f"{type(layer).__name__}(in_features={expected}) takes a 2-D (batch, features) "
                         f"input, got shape {x.shape}; put nn.Flatten() before it to flatten each sample")
    rows, features = x.shape
    if features != expected:
        raise ShapeError(
            f"{type(layer).__name__}(in_features={expected}) got input with {features} features "
            f"(batch of {rows})"
        )


def affine(x, weight, bias):
    """x @ weight.T + bias (nn.functional.linear) for an input check_features passed: the same kernels
    as the operators, making one Tensor instead of three, as a Linear layer does on every step. Tensors
    of two backends go the operators' way, to their error."""
    backend = x.backend
    if weight.backend is not backend or (bias is not None and bias.backend is not backend):
        return x @ weight.T if bias is None else x @ weight.T + bias
    product = backend.matmul(x.data, backend.transpose(weight.data))
    return Tensor(product if bias is None else backend.add(product, bias.data), backend, (x.shape[0], weight.shape[0]))


def weight_grad(grad, x):
    """grad.T @ x, the gradient of `affine`'s weight, by the same kernels in one Tensor: the
    operators would make two, and every Linear layer computes this on every step."""
    backend = grad.backend
    if x.backend is not backend:
        return grad.T @ x  # to the operators' error naming both backends
    return Tensor(backend.matmul(backend.transpose(grad.data), x.data), backend, (grad.shape[1], x.shape[1]))


PYTORCH_LINEAR_INIT = "pytorch"


def initializer_name(layer, attribute, value):
    """A registered initializer's name, or "pytorch" for torch.nn.Linear's default."""
    registered = lamina.registry().names("initializers")
    if value != PYTORCH_LINEAR_INIT and value not in registered:
        raise ValueError(
            f"{type(layer).__name__}({attribute.name}={value!r}): {attribute.name} must be "
            f"{PYTORCH_LINEAR_INIT!r} or a registered initializer ({', '.join(registered)}), got {value!r}"
        )


@component
class Linear(Module):
    """y = x W^T + b, with W stored (out_features, in_features) as in PyTorch."""

    in_features: int = field(validator=[integer, at_least(1)])
    out_features: int = field(validator=[integer, at_least(1)])
    has_bias: bool = field(default=True, alias="bias", validator=boolean)
    init: str = field(default="kaiming_normal", validator=initializer_name)

    def __attrs_post_init__(self):
        self.weight = Parameter(lamina.zeros(self.out_features, self.in_features))
        self.bias = Parameter(lamina.zeros(self.out_features)) if self.has_bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """Start from `init`: a registered initializer fills the weight and the bias starts at zero,
        or "pytorch" gives torch.nn.Linear's own start, weight and bias both uniform in
        +-1/sqrt(in_features) (its kaiming_uniform_ with a = sqrt(5), and the same bound for the bias)."""
        if self.init == PYTORCH_LINEAR_INIT:
            lamina.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                lamina.nn.init.uniform_(self.bias, -bound, bound)
        else:
            lamina.registry().get("initializers", self.init)(self.weight)

    def forward(self, x):
        if len(x.shape) != 2 or x.shape[1] != self.in_features:
            check_features(self, x, self.in_features)  # says what is wrong
        self.x = x
        return affine(x, self.weight, self.bias)  # x @ self.weight.T + self.bias

    def backward(self, grad):
        if grad.shape != (self.x.shape[0], self.out_features):
            raise ShapeError(f"{type(self).__name__}(out_features={self.out_features}).backward got a gradient of "
                             f"shape {grad.shape} for its last input of shape {self.x.shape}; expected the "
                             f"shape of its output, {(self.x.shape[0], self.out_features)}")
        # y = x W^T + b, so dL/dW = grad^T x and dL/dx = grad W; b was added to every row of the
        # batch, so its gradient sums grad over the rows.
        self.weight.accumulate_grad(weight_grad(grad, self.x))  # grad.T @ self.x
        if self.bias is not None:
            self.bias.accumulate_grad(grad.sum(0))
        # Data (a DataLoader's batch: requires_grad False, as in PyTorch) needs no gradient: the first
        # layer of a model skips the largest product of its backward.
        return grad @ self.weight if getattr(self.x, "requires_grad", True) else None


@component
class Dropout(Module):
    """Zero each input with probability p while training, scaling the rest by 1/(1-p).
    inplace= is accepted for PyTorch compatibility; lamina never modifies its input in place."""

    p: float = field(default=0.5, validator=[number, in_range(0, 1, high_inclusive=False)])
    # Kept in the config so a PyTorch call carries over; forward never writes into x, since the
    # caller may still hold it (to evaluate on it, or for a second loss).
    inplace: bool = field(default=False, validator=boolean)

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        keep = lamina.rand_like(x) >= self.p
        self.mask = keep * (1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask


def momentum_or_none(instance, attribute, value):
    if value is not None:
        number(instance, attribute, value)
        in_range(0, 1)(instance, attribute, value)


@component
class BatchNorm1d(Module):
    """Normalise each feature over the batch, then scale and shift (PyTorch's conventions:
    running = (1 - momentum) * running + momentum * batch, unbiased variance for running_var).

    momentum=None keeps a cumulative moving average instead: after the k-th batch, momentum is
    1/k, so the running statistics are the plain mean of every batch's, as PyTorch's.
    bias=False (keyword-only, as PyTorch) keeps the learned scale but not the shift."""

    num_features: int = field(validator=[integer, at_least(1)])
    eps: float = field(default=1e-5, validator=[number, in_range(0, float("inf"), low_inclusive=False)])
    momentum: float | None = field(default=0.1, validator=momentum_or_none)
    affine: bool = field(default=True, validator=boolean)
    track_running_stats: bool = field(default=True, validator=boolean)
    has_bias: bool = field(default=True, alias="bias", validator=boolean, kw_only=True)

    def __attrs_post_init__(self):
        n = self.num_features
        if self.affine:
            self.weight = Parameter(lamina.ones(n))
            self.bias = Parameter(lamina.zeros(n)) if self.has_bias else None
        if self.track_running_stats:
            self.running_mean = Buffer(lamina.zeros(n))
            self.running_var = Buffer(lamina.ones(n))
            self.num_batches_tracked = Buffer(lamina.zeros(()))

    def forward(self, x):
        check_features(self, x, self.num_features)
        self.batch_statistics = self.training or not self.track_running_stats
        if self.batch_statistics:
            count = len(x)
            if count < 2:
                raise ShapeError(
                    f"{type(self).__name__} needs more than 1 value per feature in training, got {count}"
                )
            mean = x.mean(0)
            centered = x - mean
            variance = (centered ** 2).mean(0)  # biased: what the batch is normalised with
            if self.training and self.track_running_stats:
                self.num_batches_tracked.add_(1.0)
                m = self.momentum
                if m is None:
                    m = 1.0 / self.num_batches_tracked.item()
                self.running_mean.copy_(self.running_mean * (1 - m) + mean * m)
                unbiased = variance * (count / (count - 1))
                self.running_var.copy_(self.running_var * (1 - m) + unbiased * m)
        else:
            centered = x - self.running_mean
            variance = self.running_var
        self.inverse_std = 1.0 / (variance + self.eps).sqrt()
        self.x_hat = centered * self.inverse_std
        if not self.affine:
            return self.x_hat
        out = self.x_hat * self.weight
        return out if self.bias is None else out + self.bias

    def backward(self, grad):
        x_hat = self.x_hat
        if self.affine:
            self.weight.accumulate_grad((grad * x_hat).sum(0))
            if self.bias is not None:
                self.bias.accumulate_grad(grad.sum(0))
            grad = grad * self.weight
        if not self.batch_statistics:  # the running statistics are constants
            return grad * self.inverse_std
        # The full batch-norm backward: the mean and variance depend on every sample too.
        count = len(grad)
        return (grad * count - grad.sum(0) - x_hat * (grad * x_hat).sum(0)) * (self.inverse_std / count)


@component
class BatchNorm2d(BatchNorm1d):
    """BatchNorm1d for (N, C, H, W) images, read as N*H*W rows of C features: each channel is
    normalised over the batch and every position, the N*H*W values it holds. PyTorch's parameters,
    buffers and state-dict keys, each of shape (C,)."""

    conformance_examples = [Example(inputs=lambda: lamina.randn(3, 3, 2, 2))]

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm2d(num_features={self.num_features}) takes (N, {self.num_features}, H, W) "
                             f"input, got shape {x.shape}")
        self.image_shape = x.shape
        return self.as_images(super().forward(positions_first(x)))

    def backward(self, grad):
        return self.as_images(super().backward(positions_first(grad)))

    def as_images(self, rows):
        """BatchNorm1d's (N*H*W, C) rows, a row per position, back as (N, C, H, W)."""
        return channels_first(rows, self.image_shape[0]).reshape(self.image_shape)


@component
class Flatten(Module):
    """Join dimensions start_dim..end_dim into one: (N, C, H, W) becomes (N, C*H*W) by default."""

    conformance_examples = [Example(inputs=lambda: lamina.randn(3, 2, 2, 2)),
                            Example(kwargs={"start_dim": 0, "end_dim": 2}, inputs=lambda: lamina.randn(3, 2, 2, 2))]

    start_dim: int = field(default=1, validator=integer)
    end_dim: int = field(default=-1, validator=integer)

    def forward(self, x):
        self.input_shape = x.shape
        return x.flatten(self.start_dim, self.end_dim)

    def backward(self, grad):
        # Flattening only rereads the values, so the gradient is grad read back in x's shape.
        return grad.reshape(self.input_shape)


def sizes_of(instance, attribute, value):
    if not isinstance(value, (tuple, list)) or not value or \
            not all(isinstance(n, int) and not isinstance(n, bool) and (n >= 1 or n == -1) for n in value):
        raise ValueError(f"Unflatten(unflattened_size={value!r}): unflattened_size must be a tuple of sizes "
                         f"(ints >= 1, one of them may be -1), got {value!r}")


@component
class Unflatten(Module):
    """Split dimension dim into unflattened_size: (N, 12) becomes (N, 3, 2, 2) with dim=1 and (3, 2, 2)."""

    conformance_examples = [
        Example(kwargs={"dim": 1, "unflattened_size": (2, 3)}, inputs=lambda: lamina.randn(4, 6)),
        Example(kwargs={"dim": -1, "unflattened_size": (2, -1)}, inputs=lambda: lamina.randn(2, 3, 4)),
    ]

    dim: int = field(validator=integer)
    unflattened_size: tuple = field(validator=sizes_of)

    def forward(self, x):
        self.input_shape = x.shape
        return x.unflatten(self.dim, self.unflattened_size)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


@lamina.hookimpl
def lamina_register_modules():
    return [Linear, Dropout, BatchNorm1d, BatchNorm2d, Flatten, Unflatten]
