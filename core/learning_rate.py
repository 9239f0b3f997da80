"""LRScheduler: sets each param group's `lr` epoch by epoch, as PyTorch's schedulers do.

Constructing one applies epoch 0's rate; each `step()` (after `optimizer.step()`) moves on one epoch.
A schedule only reads and writes `group["lr"]`, so it works with any optimizer.

As in PyTorch, `get_lr()` is the *chainable* form: the rate at `self.last_epoch` computed from the
rate the group has now (StepLR multiplies it by gamma at each step_size), so that two schedules on
one optimizer compose. A schedule may also define `_get_closed_form_lr()`, the rate at
`last_epoch` computed from `base_lrs` alone; SequentialLR uses it to start a schedule afresh.
"""

from __future__ import annotations

from .component import at_least, component, describe, field, integer, runtime_argument
from .gradient_descent import Optimizer


def check_optimizer(scheduler, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__} expects a lamina Optimizer, got {type(optimizer).__name__}")


@component
class LRScheduler:
    # What a Trainer reads to drive the schedule, declared rather than guessed: how often it
    # steps ("epoch" or "step", i.e. after every optimizer step), and whether its step() takes
    # the monitored value (ReduceLROnPlateau steps on the validation loss).
    interval = "epoch"
    needs_metric = False

    optimizer = runtime_argument()
    # Where the schedule stands, not a hyper-parameter: left out of the config.
    last_epoch: int = field(default=-1, kw_only=True, validator=[integer, at_least(-1)], metadata={"config": False})

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        for index, group in enumerate(self.optimizer.param_groups):
            if self.last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}(last_epoch={self.last_epoch}): param group {index} has no "
                               "'initial_lr'; resume from an optimizer state that a scheduler has already run on")
        self.base_lrs = [group["initial_lr"] for group in self.optimizer.param_groups]
        self._initial_step()

    def __repr__(self):
        return describe(self)

    def _initial_step(self):
        """Apply the first epoch's rate; `_is_initial` tells get_lr it is not a real step."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        """The learning rate of each param group at epoch `self.last_epoch` (chainable form)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def current_lrs(self) -> list:
        """Each param group's rate as it stands (what a chainable get_lr starts from)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self):
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, rates):
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = self.current_lrs()

    def check_run(self, trainer):
        """Before `trainer` fits, refuse in one line a run this schedule cannot serve (one sized in
        steps, say); most schedules fit any run."""

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute but the optimizer: plain numbers, strings and lists (JSON-able)."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict):
        vars(self).update((key, state[key]) for key in self.state_dict())  # only what state_dict declares
