"""Activations: element-wise functions with their exact derivatives, and the row-wise softmaxes."""

import math

import lamina
from lamina.component import boolean, component, field, integer, number, one_of
from lamina.nn import Module


def inplace_field():
    """PyTorch's `inplace=`: kept in the config so a PyTorch call carries over, never acted on,
    because backward reads the input (or output) this module kept from forward."""
    return field(default=False, validator=boolean)


@component
class ReLU(Module):
    """max(0, x); the gradient passes where x > 0. inplace= is accepted for PyTorch
    compatibility; lamina never modifies its input in place."""

    inplace: bool = inplace_field()

    def forward(self, x):
        self.x = x  # the mask is built by backward, so evaluation never pays for it
        return x.clamp(min=0.0)

    def backward(self, grad):
        return grad * (self.x > 0.0)


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


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); the gradient passes straight through."""

    def forward(self, x):
        return x

    def backward(self, grad):
        return grad


@component
class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise; d/dx = 1 or negative_slope.
    inplace= is accepted for PyTorch compatibility; lamina never modifies its input in place."""

    negative_slope: float = field(default=0.01, validator=number)
    inplace: bool = inplace_field()

    def forward(self, x):
        self.slope = lamina.where(x > 0.0, 1.0, self.negative_slope)
        return x * self.slope

    def backward(self, grad):
        return grad * self.slope


@component
class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise; d/dx = 1 or alpha e^x (alpha at 0, as PyTorch).
    inplace= is accepted for PyTorch compatibility; lamina never modifies its input in place."""

    alpha: float = field(default=1.0, validator=number)
    inplace: bool = inplace_field()

    def forward(self, x):
        self.positive = x > 0.0
        # exp of min(x, 0): the positive side never needs it, so it can never overflow.
        self.scaled_exp = x.minimum(0.0).exp() * self.alpha
        return lamina.where(self.positive, x, self.scaled_exp - self.alpha)

    def backward(self, grad):
        return grad * lamina.where(self.positive, 1.0, self.scaled_exp)


SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715


@component
class GELU(Module):
    """x Phi(x), Phi the standard normal CDF; approximate="tanh" uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Each has its own exact derivative."""

    approximate: str = field(default="none", validator=one_of("none", "tanh"))

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            self.t = ((x + x ** 3 * GELU_CUBIC) * SQRT_2_OVER_PI).tanh()
            return x * (self.t + 1.0) * 0.5
        self.cdf = ((x * (1.0 / math.sqrt(2.0))).erf() + 1.0) * 0.5
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            inner_slope = (x ** 2 * (3.0 * GELU_CUBIC) + 1.0) * SQRT_2_OVER_PI
            return grad * ((t + 1.0) * 0.5 + x * (1.0 - t ** 2) * inner_slope * 0.5)
        density = (x ** 2 * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
        return grad * (self.cdf + x * density)


@component
class SiLU(Module):
    """x sigmoid(x) (also called swish); d/dx = s (1 + x (1 - s)).
    inplace= is accepted for PyTorch compatibility; lamina never modifies its input in place."""

    inplace: bool = inplace_field()

    def forward(self, x):
        self.x = x
        self.s = x.sigmoid()
        return x * self.s

    def backward(self, grad):
        s = self.s
        return grad * s * (self.x * (1.0 - s) + 1.0)


@component
class Softmax(Module):
    """exp(x) / sum(exp(x)) along dim (1: over each sample's features), max-shifted for stability.
    The gradient is the softmax Jacobian applied to grad: y (grad - sum(grad y))."""

    dim: int = field(default=1, validator=integer)  # any dim of the input, as PyTorch

    def forward(self, x):
        self.out = x.softmax(self.dim)
        return self.out

    def backward(self, grad):
        y = self.out
        return y * (grad - (grad * y).sum(self.dim, keepdim=True))


@component
class LogSoftmax(Module):
    """x - log(sum(exp(x))) along dim, computed after subtracting the maximum;
    d/dx applied to grad: grad - softmax(x) sum(grad)."""

    dim: int = field(default=1, validator=integer)  # any dim of the input, as PyTorch

    def forward(self, x):
        self.out = x.log_softmax(self.dim)
        return self.out

    def backward(self, grad):
        return grad - self.out.exp() * grad.sum(self.dim, keepdim=True)


@lamina.hookimpl
def lamina_register_modules():
    return [ReLU, Sigmoid, Tanh, Identity, LeakyReLU, ELU, GELU, SiLU, Softmax, LogSoftmax]
