"""Activations: element-wise functions with their exact derivatives."""

import lamina
from lamina.nn import Module


class ReLU(Module):
    """max(0, x); the gradient passes where x > 0."""

    def forward(self, x):
        self.mask = x > 0.0
        return x.clamp(min=0.0)

    def backward(self, grad):
        return grad * self.mask


class Sigmoid(Module):
    """1 / (1 + e^-x), computed without overflow for large |x|; d/dx = s (1 - s)."""

    def forward(self, x):
        self.out = x.sigmoid()
        return self.out

    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)


class Tanh(Module):
    """tanh(x); d/dx = 1 - tanh(x)^2."""

    def forward(self, x):
        self.out = x.tanh()
        return self.out

    def backward(self, grad):
        return grad * (1.0 - self.out ** 2)


@lamina.hookimpl
def lamina_register_modules():
    return [ReLU, Sigmoid, Tanh]
