"""Schedules that scale the base rate by a factor over the first total_iters epochs, then hold it:
ConstantLR (a constant factor, then the full rate) and PolynomialLR (a polynomial decay to zero),
with PyTorch's signatures, defaults and formulas.

Like LinearLR, each has PyTorch's chainable `get_lr()` (from the rate the group has now) and the
closed form `_get_closed_form_lr()` (from base_lrs alone), which SequentialLR restarts from.
"""

import lamina
from lamina.component import at_least, component, field, in_range, integer, number
from lamina.optim.lr_scheduler import LRScheduler


@component
class ConstantLR(LRScheduler):
    """Multiply the rate by factor for the first total_iters epochs, then give back the full rate."""

    factor: float = field(default=1.0 / 3, validator=[number, in_range(0.0, 1.0, low_inclusive=False)])
    total_iters: int = field(default=5, validator=[integer, at_least(1)])

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self.current_lrs()]
        if self.last_epoch != self.total_iters:
            return self.current_lrs()
        return [lr * (1.0 / self.factor) for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        done = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + done * (1 - self.factor)) for base_lr in self.base_lrs]


@component
class PolynomialLR(LRScheduler):
    """base_lr * (1 - epoch / total_iters) ** power: down to zero at total_iters, then held there."""

    total_iters: int = field(default=5, validator=[integer, at_least(1)])
    power: float = field(default=1.0, validator=[number, at_least(0.0)])

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.current_lrs()
        # The ratio of this epoch's factor to the last one's, so that schedules chain as in PyTorch.
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [lr * decay for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * remaining ** self.power for base_lr in self.base_lrs]


@lamina.hookimpl
def lamina_register_schedulers():
    return [ConstantLR, PolynomialLR]
