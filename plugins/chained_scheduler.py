"""ChainedScheduler: several schedules stepped together, each scaling the rate the last one left,
with PyTorch's signature: `ChainedScheduler([ConstantLR(opt, 0.1, total_iters=2), ExponentialLR(opt, 0.9)])`.

SequentialLR runs schedules one after another; ChainedScheduler runs them at once, which works
because every schedule's get_lr() starts from the rate the group has now (PyTorch's chainable form).
"""

import lamina
from lamina.component import component, runtime_argument
from lamina.plugin_system.kinds import Example
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugins.schedulers import composite_state_dict, load_composite_state


@component
class ChainedScheduler(LRScheduler):
    """Call every schedule's step() at each step; the rate is what the last one leaves."""

    conformance_examples = [Example(
        kwargs=lambda optimizer: {"schedulers": [
            lamina.registry().create("schedulers", "ConstantLR", optimizer, factor=0.5, total_iters=3),
            lamina.registry().create("schedulers", "ExponentialLR", optimizer, gamma=0.9),
        ]},
        skip={"config": "it is built from other schedules, which no config can hold"},
    )]

    # PyTorch's order: the schedules first, the optimizer optional (it is theirs).
    schedulers: list = runtime_argument(converter=list)
    optimizer = runtime_argument(default=None)

    def __attrs_post_init__(self):
        if not self.schedulers:
            raise ValueError("ChainedScheduler(schedulers=[]): expected at least one scheduler to chain")
        if self.optimizer is None:
            self.optimizer = getattr(self.schedulers[0], "optimizer", None)
        check_optimizer(self, self.optimizer)
        for index, scheduler in enumerate(self.schedulers):
            if not isinstance(scheduler, LRScheduler) or scheduler.needs_metric:
                raise TypeError(f"ChainedScheduler(schedulers=...): scheduler {index} is {type(scheduler).__name__}; "
                                "expected an LRScheduler whose step() takes no metric")
            if scheduler.optimizer is not self.optimizer:
                raise ValueError(f"ChainedScheduler(schedulers=...): scheduler {index} ({type(scheduler).__name__}) "
                                 "belongs to another optimizer; every scheduler must share one")
        self._last_lr = self.current_lrs()

    @property
    def interval(self):
        """The chain steps as often as what it chains; schedules declaring different intervals
        leave the choice to the caller (a hand-written loop, or Trainer(scheduler_interval=...))."""
        return self._common_interval()

    def _common_interval(self):
        intervals = sorted({scheduler.interval for scheduler in self.schedulers})
        if len(intervals) > 1:
            raise ValueError(f"ChainedScheduler: its schedulers step at different intervals ({', '.join(intervals)}); "
                             "say which with Trainer(scheduler_interval='epoch' or 'step')")
        return intervals[0]

    def check_run(self, trainer):
        """Before a Trainer's fit: the chain's intervals agree (or the Trainer says which), and each
        schedule accepts the run (they are all stepped as often as the chain)."""
        if trainer.scheduler_interval is None:
            self._common_interval()  # mixed intervals the Trainer was not told how to step: one line
        for scheduler in self.schedulers:
            scheduler.check_run(trainer)

    def step(self):
        for scheduler in self.schedulers:
            scheduler.step()
        self._last_lr = self.current_lrs()

    def state_dict(self):
        return composite_state_dict(self)

    def load_state_dict(self, state):
        load_composite_state(self, state)


@lamina.hookimpl
def lamina_register_schedulers():
    return [ChainedScheduler]
