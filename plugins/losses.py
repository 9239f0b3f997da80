"""Losses: MSELoss and BCELoss, with PyTorch's reductions."""

import lamina
from lamina.component import component, field, one_of
from lamina.loss import REDUCTIONS, Loss


@component
class MSELoss(Loss):
    """Mean squared error: mean((prediction - target)^2)."""

    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        self.difference = prediction - target
        return self.reduce(self.difference ** 2)

    def backward(self):
        return self.difference * (2.0 * self.reduction_scale(self.difference.numel()))


@component
class BCELoss(Loss):
    """Binary cross-entropy of probabilities: -(t log p + (1 - t) log(1 - p)).

    p is clipped to [eps, 1 - eps] (as in the lesson) so that a saturated Sigmoid never gives
    log(0); the gradient uses PyTorch's form (p - t) / (p (1 - p))."""

    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))
    eps: float = 1e-7

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        p = prediction.clamp(self.eps, 1.0 - self.eps)
        self.p, self.target = p, target
        return self.reduce(-(target * p.log() + (1.0 - target) * (1.0 - p).log()))

    def backward(self):
        p, t = self.p, self.target
        return (p - t) / ((1.0 - p) * p) * self.reduction_scale(p.numel())


@lamina.hookimpl
def lamina_register_losses():
    return [MSELoss, BCELoss]
