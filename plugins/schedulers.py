"""Learning-rate schedules that follow the epoch count, with PyTorch's names, signatures, defaults
and formulas (the per-step cycles are in cyclical_schedulers.py, ReduceLROnPlateau in
plateau_scheduler.py).

Each changes only the param groups' `lr`, so it works with any optimizer. `get_lr()` is PyTorch's chainable form (from the current rate);
`_get_closed_form_lr()` computes the same rate from `base_lrs` alone.
"""

import math
from bisect import bisect_right

import lamina
from lamina.component import (
    at_least,
    component,
    field,
    greater_than,
    in_range,
    integer,
    number,
    runtime_argument,
)
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugin_system.kinds import Example


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


def steps_in_run(trainer):
    """How a Trainer's coming fit will step its scheduler: ("epoch" or "step", how many times),
    the count None when the loader has no len(). A schedule sized in steps overrides
    `LRScheduler.check_run(trainer)`, which `Trainer.fit` calls before training, to refuse a run it cannot fit."""
    interval = trainer.stepping_interval
    if interval == "epoch":
        return interval, trainer.max_epochs
    if trainer.num_batches is None:
        return interval, None
    return interval, trainer.max_epochs * math.ceil(trainer.num_batches / trainer.grad_accumulation)


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
            if not isinstance(scheduler, LRScheduler) or scheduler.needs_metric:
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
            _restart(scheduler)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        return composite_state_dict(self)

    def load_state_dict(self, state):
        load_composite_state(self, state)


def composite_state_dict(scheduler) -> dict:
    """A schedule made of schedules: its own attributes, and each inner schedule's state."""
    state = {k: v for k, v in vars(scheduler).items() if k not in ("optimizer", "schedulers")}
    state["schedulers"] = [inner.state_dict() for inner in scheduler.schedulers]
    return state


def load_composite_state(scheduler, state: dict) -> None:
    """Put back what `composite_state_dict` saved: only the attributes it declares, and one state
    per inner schedule (a saved state for another chain is refused, not half applied)."""
    saved = state.get("schedulers") if isinstance(state, dict) else None
    if not isinstance(saved, list) or len(saved) != len(scheduler.schedulers):
        raise ValueError(f"{type(scheduler).__name__}.load_state_dict: expected the states of "
                         f"{len(scheduler.schedulers)} schedules, got {saved!r:.60}")
    own = [key for key in composite_state_dict(scheduler) if key != "schedulers"]
    missing = [key for key in own if key not in state]
    if missing:
        raise ValueError(f"{type(scheduler).__name__}.load_state_dict: the state has no {', '.join(missing)}")
    for inner, inner_state in zip(scheduler.schedulers, saved):
        inner.load_state_dict(inner_state)
    vars(scheduler).update((key, state[key]) for key in own)


def _restart(scheduler):
    """Start `scheduler` afresh at epoch 0, from its closed form where it has one."""
    scheduler.last_epoch = 0
    closed_form = getattr(scheduler, "_get_closed_form_lr", None)
    scheduler._set_lrs(closed_form() if closed_form is not None else scheduler.get_lr())


def _undo_initial_step(scheduler):
    if isinstance(scheduler, SequentialLR):
        for inner in scheduler.schedulers:
            _undo_initial_step(inner)
    else:
        scheduler.last_epoch -= 1


@lamina.hookimpl
def lamina_register_schedulers():
    return [StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, SequentialLR]
