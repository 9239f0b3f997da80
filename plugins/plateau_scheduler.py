"""ReduceLROnPlateau: lower the rate once a watched metric stops improving, as PyTorch's does."""

import math

import lamina
from lamina.component import at_least, component, field, in_range, integer, number, one_of
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugins.schedulers import _number_or_numbers, _one_or_per_group


@component
class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by factor once a metric has stopped improving for patience epochs;
    step it with the metric: `scheduler.step(val_loss)`."""

    needs_metric = True

    mode: str = field(default="min", validator=one_of("min", "max"))
    factor: float = field(default=0.1, validator=[number, in_range(0.0, 1.0, high_inclusive=False)])
    patience: int = field(default=10, validator=[integer, at_least(0)])
    threshold: float = field(default=1e-4, validator=[number, at_least(0.0)])
    threshold_mode: str = field(default="rel", validator=one_of("rel", "abs"))
    cooldown: int = field(default=0, validator=[integer, at_least(0)])
    min_lr = field(default=0.0, validator=_number_or_numbers)
    eps: float = field(default=1e-8, validator=[number, at_least(0.0)])
    last_epoch: int = field(default=0, init=False)

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        self.min_lrs = _one_or_per_group("min_lr", self, self.min_lr)
        self._last_lr = self.current_lrs()
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics):
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step(metrics={metrics!r}): metrics must be a number (the value "
                "to watch, such as the validation loss)"
            ) from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown do not count against patience
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self.current_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):  # a param group added since: reduce it too, as PyTorch does
            if isinstance(self.min_lr, (list, tuple)):
                raise ValueError(
                    f"ReduceLROnPlateau(min_lr={self.min_lr!r}): the optimizer now has {len(groups)} param groups, "
                    f"not {len(self.min_lrs)}; set scheduler.min_lrs to a list of {len(groups)}"
                )
            self.min_lrs = [self.min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:  # changes smaller than eps are not worth making
                group["lr"] = new_lr

    def _is_better(self, value, best):
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return value < best * (1.0 - self.threshold)
            return value < best - self.threshold
        if self.threshold_mode == "rel":
            return value > best * (1.0 + self.threshold)
        return value > best + self.threshold


@lamina.hookimpl
def lamina_register_schedulers():
    return [ReduceLROnPlateau]
