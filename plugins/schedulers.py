"""Learning-rate schedules, with PyTorch's names, signatures, defaults and formulas.

Each changes only the param groups' `lr` (OneCycleLR may also cycle `momentum` or Adam's beta1),
so it works with any optimizer. `get_lr()` is PyTorch's chainable form (from the current rate);
`_get_closed_form_lr()` computes the same rate from `base_lrs` alone.
"""

import math
from bisect import bisect_right

import lamina
from lamina.component import (
    at_least,
    boolean,
    component,
    field,
    greater_than,
    in_range,
    integer,
    number,
    one_of,
    runtime_argument,
)
from lamina.component import Example
from lamina.optim.lr_scheduler import LRScheduler
from lamina.learning_rate import check_optimizer


def _fail(scheduler, argument, value, expected):
    raise ValueError(f"{type(scheduler).__name__}({argument}={value!r}): {argument} must be {expected}")


def _integers(instance, attribute, value):
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        _fail(instance, attribute.name, value, "a list of epoch numbers (integers >= 0)")


def _one_or_per_group(name, scheduler, value):
    """A hyper-parameter given once for every param group, or as a list with one per group."""
    count = len(scheduler.optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            _fail(scheduler, name, value, f"one number, or a list of {count} (one per param group)")
        return list(value)
    return [value] * count


def _number_or_numbers(instance, attribute, value):
    values = value if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values):
        _fail(instance, attribute.name, value, "a number >= 0 or a list of them (one per param group)")


@component
class StepLR(LRScheduler):
    """Multiply the rate by gamma every step_size epochs."""

    step_size: int = field(validator=[integer, at_least(1)])
    gamma: float = field(default=0.1, validator=[number, greater_than(0.0)])

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.current_lrs()
        return [lr * self.gamma for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


@component
class MultiStepLR(LRScheduler):
    """Multiply the rate by gamma at each milestone epoch (a milestone listed twice counts twice)."""

    conformance_examples = [Example(kwargs={"milestones": [2, 5]})]

    milestones: list = field(converter=list, validator=_integers)
    gamma: float = field(default=0.1, validator=[number, greater_than(0.0)])

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if not hits:
            return self.current_lrs()
        return [lr * self.gamma ** hits for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        passed = bisect_right(sorted(self.milestones), self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


@component
class ExponentialLR(LRScheduler):
    """Multiply the rate by gamma every epoch."""

    conformance_examples = [Example(kwargs={"gamma": 0.9})]

    gamma: float = field(validator=[number, greater_than(0.0)])

    def get_lr(self):
        if self._is_initial:
            return self.current_lrs()
        return [lr * self.gamma for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


@component
class CosineAnnealingLR(LRScheduler):
    """eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2: half a cosine down to eta_min
    over T_max epochs (and back up over the next T_max, if stepped on)."""

    T_max: int = field(validator=[integer, at_least(1)])
    eta_min: float = field(default=0.0, validator=[number, at_least(0.0)])

    def get_lr(self):
        epoch, period = self.last_epoch, self.T_max
        if self._is_initial:
            return self.current_lrs()
        if self._step_count == 1 and epoch > 0:  # resumed with last_epoch: nothing to chain from
            return self._get_closed_form_lr()
        if (epoch - 1 - period) % (2 * period) == 0:
            # At the bottom of the cosine the ratio below would divide by zero; step up instead.
            first_step = 1 - math.cos(math.pi / period)
            return [
                lr + (base_lr - self.eta_min) * first_step / 2
                for lr, base_lr in zip(self.current_lrs(), self.base_lrs)
            ]
        now, before = math.pi * epoch / period, math.pi * (epoch - 1) / period
        ratio = (1 + math.cos(now)) / (1 + math.cos(before))
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        height = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * height / 2 for base_lr in self.base_lrs]


@component
class LinearLR(LRScheduler):
    """Scale the rate by a factor going linearly from start_factor to end_factor over total_iters
    epochs (a warmup, when start_factor is small), then hold it."""

    start_factor: float = field(
        default=1.0 / 3, validator=[number, in_range(0.0, 1.0, low_inclusive=False)]
    )
    end_factor: float = field(default=1.0, validator=[number, in_range(0.0, 1.0)])
    total_iters: int = field(default=5, validator=[integer, at_least(1)])

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self.current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.current_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in self.current_lrs()]

    def _get_closed_form_lr(self):
        epochs_done = min(self.total_iters, self.last_epoch)
        change = self.end_factor - self.start_factor
        factor = self.start_factor + change * epochs_done / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


@component
class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestone epochs:
    `SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)], [5])`."""

    conformance_examples = [Example(
        kwargs=lambda optimizer: {"schedulers": [StepLR(optimizer, 2), LinearLR(optimizer)], "milestones": [3]},
        skip={"config": "it is built from other schedules, which no config can hold"},
    )]

    schedulers: list = runtime_argument(converter=list)
    milestones: list = field(converter=list, validator=_integers)

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        if not self.schedulers:
            _fail(self, "schedulers", self.schedulers, "a non-empty list of schedulers")
        for index, scheduler in enumerate(self.schedulers):
            if not isinstance(scheduler, LRScheduler) or isinstance(scheduler, ReduceLROnPlateau):
                raise TypeError(
                    f"SequentialLR(schedulers=...): scheduler {index} is {type(scheduler).__name__}; "
                    "expected an epoch-based LRScheduler (ReduceLROnPlateau needs a metric to step)"
                )
            if scheduler.optimizer is not self.optimizer:
                raise ValueError(
                    f"SequentialLR(schedulers=...): scheduler {index} ({type(scheduler).__name__}) "
                    "belongs to another optimizer; every scheduler must share SequentialLR's"
                )
        if len(self.milestones) != len(self.schedulers) - 1:
            _fail(self, "milestones", self.milestones,
                  f"a list of {len(self.schedulers) - 1} epochs, one fewer than the schedulers")
        if self.milestones != sorted(self.milestones):
            _fail(self, "milestones", self.milestones, "in increasing order")

        # Each scheduler applied its first rate when it was built; undo that, and start the first.
        self.last_epoch += 1
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self.schedulers:
            _undo_initial_step(scheduler)
        first = self.schedulers[bisect_right(self.milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        index = bisect_right(self.milestones, self.last_epoch)
        scheduler = self.schedulers[index]
        if index > 0 and self.milestones[index - 1] == self.last_epoch:
            scheduler._restart_at(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "schedulers")}
        state["schedulers"] = [scheduler.state_dict() for scheduler in self.schedulers]
        return state

    def load_state_dict(self, state):
        state = dict(state)
        for scheduler, saved in zip(self.schedulers, state.pop("schedulers")):
            scheduler.load_state_dict(saved)
        vars(self).update(state)


def _undo_initial_step(scheduler):
    if isinstance(scheduler, SequentialLR):
        for inner in scheduler.schedulers:
            _undo_initial_step(inner)
    else:
        scheduler.last_epoch -= 1


def _annealing_cos(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _annealing_linear(start, end, pct):
    return (end - start) * pct + start


@component
class OneCycleLR(LRScheduler):
    """The 1cycle policy: the rate rises from max_lr / div_factor to max_lr over the first pct_start
    of total_steps, then anneals to max_lr / (div_factor * final_div_factor); momentum (or Adam's
    beta1) moves the opposite way between max_momentum and base_momentum. Step it every batch."""

    interval = "step"

    conformance_examples = [Example(kwargs={"max_lr": 0.1, "total_steps": 20, "cycle_momentum": False})]

    max_lr = field(validator=_number_or_numbers)
    total_steps: int = field(default=None)
    epochs: int = field(default=None)
    steps_per_epoch: int = field(default=None)
    pct_start: float = field(default=0.3, validator=[number, in_range(0.0, 1.0)])
    anneal_strategy: str = field(default="cos", validator=one_of("cos", "linear"))
    cycle_momentum: bool = field(default=True, validator=boolean)
    base_momentum = field(default=0.85, validator=_number_or_numbers)
    max_momentum = field(default=0.95, validator=_number_or_numbers)
    div_factor: float = field(default=25.0, validator=[number, greater_than(0.0)])
    final_div_factor: float = field(default=1e4, validator=[number, greater_than(0.0)])
    three_phase: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        self.total_steps = self._count_steps()
        self._schedule_phases = self._phases()
        groups = self.optimizer.param_groups
        if self.last_epoch == -1:
            for group, max_lr in zip(groups, _one_or_per_group("max_lr", self, self.max_lr)):
                group["initial_lr"] = max_lr / self.div_factor
                group["max_lr"] = max_lr
                group["min_lr"] = group["initial_lr"] / self.final_div_factor
        if self.cycle_momentum:
            defaults = self.optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(
                    f"OneCycleLR(cycle_momentum=True): {type(self.optimizer).__name__} has neither "
                    "momentum nor betas to cycle; pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in defaults
            if self.last_epoch == -1:
                highs = _one_or_per_group("max_momentum", self, self.max_momentum)
                lows = _one_or_per_group("base_momentum", self, self.base_momentum)
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__attrs_post_init__()

    def _count_steps(self):
        def positive(name, value):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                _fail(self, name, value, "a positive integer")
            return value

        if self.total_steps is not None:
            return positive("total_steps", self.total_steps)
        if self.epochs is not None and self.steps_per_epoch is not None:
            return positive("epochs", self.epochs) * positive("steps_per_epoch", self.steps_per_epoch)
        raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")

    def _phases(self):
        """Where each phase ends (a step number) and which group values it anneals between."""
        warmup_end = float(self.pct_start * self.total_steps) - 1
        if self.three_phase:
            cooldown_end = float(2 * self.pct_start * self.total_steps) - 2
            return [
                [warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [cooldown_end, "max_lr", "initial_lr", "base_momentum", "max_momentum"],
                [self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"],
            ]
        return [
            [warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
            [self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"],
        ]

    def _set_momentum(self, group, momentum):
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR(total_steps={self.total_steps}) was stepped {step} times; "
                "it cannot go past total_steps"
            )
        anneal = _annealing_cos if self.anneal_strategy == "cos" else _annealing_linear
        rates = []
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for index, (end, lr_from, lr_to, momentum_from, momentum_to) in enumerate(self._schedule_phases):
                if step <= end or index == len(self._schedule_phases) - 1:
                    pct = (step - phase_start) / (end - phase_start)
                    rates.append(anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, anneal(group[momentum_from], group[momentum_to], pct))
                    break
                phase_start = end
        return rates


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
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
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
    return [
        StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, SequentialLR, OneCycleLR,
        ReduceLROnPlateau,
    ]
