"""The 1cycle policy, stepped after every optimizer step, with PyTorch's signature and formulas."""

import math

import lamina
from lamina.component import boolean, component, field, greater_than, in_range, number, one_of
from lamina.plugin_system.kinds import Example
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugins.schedulers import _fail, _number_or_numbers, _one_or_per_group, steps_in_run


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

    def check_run(self, trainer):
        """Before a Trainer's fit: refuse a run that would step past total_steps (it would fail
        mid-run), or that steps it once per epoch and would stop partway through the cycle."""
        interval, steps = steps_in_run(trainer)
        remaining = self.total_steps - self.last_epoch
        if steps is None or steps == remaining:
            return
        stepped = "once per epoch" if interval == "epoch" else "after every optimizer step"
        if steps > remaining:
            raise ValueError(
                f"Trainer: OneCycleLR(total_steps={self.total_steps}) has {remaining} steps left but this run, "
                f"stepping it {stepped} for {trainer.max_epochs} epochs, would step it {steps} times; "
                f"size it for the run (total_steps={steps + self.last_epoch})"
            )
        if interval == "epoch":
            raise ValueError(
                f"Trainer: OneCycleLR(total_steps={self.total_steps}) is sized in optimizer steps but stepped once "
                f"per epoch (scheduler_interval='epoch'): {trainer.max_epochs} epochs would stop its cycle at step "
                f"{steps} of {remaining}; leave scheduler_interval unset to step it every batch"
            )

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


@lamina.hookimpl
def lamina_register_schedulers():
    return [OneCycleLR]
