"""LRScheduler: sets each param group's `lr` from the epoch count, as PyTorch's schedulers do.

Constructing one applies epoch 0's rate; each `step()` (after `optimizer.step()`) moves on one epoch.
A schedule only reads and writes `group["lr"]`, so it works with any optimizer.
"""

from __future__ import annotations

from .component import component, describe, field, integer, runtime_argument
from .optimizer import Optimizer


@component
class LRScheduler:
    optimizer = runtime_argument()
    last_epoch: int = field(default=-1, kw_only=True, validator=integer)

    def __attrs_post_init__(self):
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} expects a lamina Optimizer, got {type(self.optimizer).__name__}"
            )
        for index, group in enumerate(self.optimizer.param_groups):
            if self.last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}(last_epoch={self.last_epoch}): param group {index} has no "
                    "'initial_lr'; resume from an optimizer state that a scheduler has already run on"
                )
        self.base_lrs = [group["initial_lr"] for group in self.optimizer.param_groups]
        self.step()

    def __repr__(self):
        return describe(self)

    def get_lr(self) -> list:
        """The learning rate of each param group at epoch `self.last_epoch`."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self):
        self.last_epoch += 1
        rates = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict):
        vars(self).update(state)
