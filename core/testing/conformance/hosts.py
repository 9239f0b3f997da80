"""What the kit runs components on: a quadratic problem, a plain gradient-descent optimizer, and
a tiny model and loss for Trainer runs. Written here, so that checking a component never depends
on another plugin being installed."""

from __future__ import annotations

from lamina.component import component, field
from lamina.factories import randn
from lamina.gradient_descent import Optimizer
from lamina.module import Loss, Module
from lamina.rng import manual_seed
from lamina.tensors import Parameter
from lamina.testing.conformance.building import FEATURES


def problem(seed=3):
    """Parameters and targets of f(p) = sum((p - t)^2) / 2, whose gradient is p - t."""
    manual_seed(seed)
    params = [Parameter(randn(3, 2)), Parameter(randn(1, 2))]
    targets = [randn(3, 2), randn(1, 2)]
    return params, targets


@component
class GradientDescent(Optimizer):
    """p -= lr * grad: the host optimizer for schedulers and callbacks."""

    lr: float = field(default=0.1)

    def update(self, param, grad, state, group):
        param.sub_(grad * group["lr"])


def host_optimizer():
    """Gradient descent over two param groups with different rates (what a schedule drives)."""
    params, _ = problem()
    return GradientDescent([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}])


class Scale(Module):
    """y = x * w + b, per feature: the host model for callbacks."""

    def __init__(self):
        self.weight = Parameter(randn(1, FEATURES))
        self.bias = Parameter(randn(1, FEATURES))

    def forward(self, x):
        self.x = x
        return x * self.weight + self.bias

    def backward(self, grad):
        self.weight.accumulate_grad((grad * self.x).sum(0))
        self.bias.accumulate_grad(grad.sum(0))
        return grad * self.weight


class HalfSquaredError(Loss):
    """mean((prediction - target)^2) / 2: the host loss for callbacks."""

    def forward(self, prediction, target):
        self.difference = prediction - target
        return (self.difference ** 2).mean() / 2

    def backward(self):
        return self.difference * (1.0 / self.difference.numel())
