"""Schedules that start over in cycles, with PyTorch's signatures, defaults and formulas:

- CyclicLR: the rate climbs from base_lr to max_lr and back, step_size_up + step_size_down
  optimizer steps a cycle (stepped after every batch, as in PyTorch); momentum moves the other way.
- CosineAnnealingWarmRestarts (SGDR): half a cosine from the base rate down to eta_min over T_0
  epochs, then a jump back up, each period T_mult times the last.
"""

import math
import numbers

from attrs.validators import optional

import lamina
from lamina.component import at_least, boolean, component, field, greater_than, integer, number, one_of
from lamina.plugin_system.kinds import Example
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugins.function_schedulers import refuse_to_save
from lamina.plugins.schedulers import _number_or_numbers, _one_or_per_group, steps_in_run


def _function_or_none(instance, attribute, value):
    if value is not None and not callable(value):
        raise TypeError(f"{type(instance).__name__}({attribute.name}={value!r}): {attribute.name} must be a "
                        "function of the cycle (or iteration) number, or None")


@component
class CyclicLR(LRScheduler):
    """The cyclical learning rate policy (Smith, 2017): 'triangular' cycles between base_lr and
    max_lr, 'triangular2' halves the amplitude each cycle, 'exp_range' scales it by gamma**iteration;
    or scale_fn(x) gives the scale (of the cycle number, or the iteration with scale_mode='iterations')."""

    interval = "step"

    conformance_examples = [
        Example(kwargs={"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "cycle_momentum": False}),
        Example(kwargs={"base_lr": [0.01, 0.001], "max_lr": [0.1, 0.02], "step_size_up": 2, "step_size_down": 3,
                        "mode": "exp_range", "gamma": 0.9, "cycle_momentum": False}),
    ]

    base_lr = field(validator=_number_or_numbers)
    max_lr = field(validator=_number_or_numbers)
    step_size_up: int = field(default=2000, validator=[integer, at_least(1)])
    step_size_down: int = field(default=None, validator=optional([integer, at_least(1)]))
    mode: str = field(default="triangular", validator=one_of("triangular", "triangular2", "exp_range"))
    gamma: float = field(default=1.0, validator=[number, greater_than(0.0)])
    scale_fn = field(default=None, validator=_function_or_none)
    scale_mode: str = field(default="cycle", validator=one_of("cycle", "iterations"))
    cycle_momentum: bool = field(default=True, validator=boolean)
    base_momentum = field(default=0.8, validator=_number_or_numbers)
    max_momentum = field(default=0.9, validator=_number_or_numbers)

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        groups = self.optimizer.param_groups
        base_lrs = _one_or_per_group("base_lr", self, self.base_lr)
        if self.last_epoch == -1:
            for group, lr in zip(groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _one_or_per_group("max_lr", self, self.max_lr)
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        # A built-in mode fixes what its scale is a function of; only a scale_fn reads scale_mode.
        if self.scale_fn is None:
            self.scales_by = "iterations" if self.mode == "exp_range" else "cycle"
        else:
            self.scales_by = self.scale_mode
        if self.cycle_momentum:
            defaults = self.optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"CyclicLR(cycle_momentum=True): {type(self.optimizer).__name__} has neither "
                                 "momentum nor betas to cycle; pass cycle_momentum=False")
            self.use_beta1 = "betas" in defaults
            self.base_momentums = _one_or_per_group("base_momentum", self, self.base_momentum)
            self.max_momentums = _one_or_per_group("max_momentum", self, self.max_momentum)
            if self.last_epoch == -1:
                for group, high, low in zip(groups, self.max_momentums, self.base_momentums):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__attrs_post_init__()
        # As in PyTorch: the cycle runs from base_lr, whatever initial_lr the groups already had.
        self.base_lrs = base_lrs

    def check_run(self, trainer):
        """Before a Trainer's fit: a cycle sized in optimizer steps, stepped once per epoch for fewer
        epochs than one cycle takes, would never come back down; refuse it."""
        interval, steps = steps_in_run(trainer)
        if interval == "epoch" and steps < self.total_size:
            raise ValueError(
                f"Trainer: CyclicLR's cycle takes {self.total_size:g} steps (step_size_up={self.step_size_up}, "
                f"step_size_down={self.step_size_down}) but it is stepped once per epoch "
                f"(scheduler_interval='epoch') for {steps} epochs, less than one cycle; "
                "leave scheduler_interval unset to step it every batch"
            )

    def _set_momentum(self, group, momentum):
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def scale(self, x):
        """How much of the cycle's full height is used at x (the cycle number, or the iteration)."""
        if self.scale_fn is not None:
            return self.scale_fn(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # how far through this cycle, in [0, 1)
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale(cycle if self.scales_by == "cycle" else self.last_epoch)
        rates = [base_lr + (max_lr - base_lr) * height * scale for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, high - (high - low) * height * scale)
        return rates

    def state_dict(self):
        if self.scale_fn is not None:
            refuse_to_save(self, "scale_fn")
        return super().state_dict()


@component
class CosineAnnealingWarmRestarts(LRScheduler):
    """eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2, where T_cur counts the epochs
    since the last restart and T_i, the current period, starts at T_0 and is multiplied by T_mult at
    each restart. step(epoch) with a fractional epoch (epoch + batch / batches) moves within an epoch."""

    conformance_examples = [Example(kwargs={"T_0": 3}), Example(kwargs={"T_0": 2, "T_mult": 2, "eta_min": 0.001})]

    T_0: int = field(validator=[integer, at_least(1)])
    T_mult: int = field(default=1, validator=[integer, at_least(1)])
    eta_min: float = field(default=0.0, validator=[number, at_least(0.0)])

    def __attrs_post_init__(self):
        self.T_i = self.T_0
        self.T_cur = self.last_epoch
        super().__attrs_post_init__()

    def get_lr(self):
        height = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base_lr - self.eta_min) * height / 2 for base_lr in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart: back to the top, with a longer period
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            self._jump_to(epoch)
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _jump_to(self, epoch):
        """Place T_cur and T_i for an epoch given outright (possibly fractional)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step(epoch={epoch!r}): epoch must be a number >= 0")
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            # Restarts so far: the n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch.
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n


@lamina.hookimpl
def lamina_register_schedulers():
    return [CyclicLR, CosineAnnealingWarmRestarts]
