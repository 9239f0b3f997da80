"""The checks every LR scheduler must pass, driving a plain gradient-descent optimizer with two
param groups."""

from __future__ import annotations

import inspect
import math

from lamina.testing.conformance.building import assert_same, build, check_config_round_trip, through_json
from lamina.testing.conformance.hosts import host_optimizer
from lamina.testing.conformance.pytorch_defaults import defaults_match_pytorch


def _takes_a_metric(scheduler) -> bool:
    """Whether step() needs a value to watch, as ReduceLROnPlateau's step(metrics) does."""
    parameters = inspect.signature(scheduler.step).parameters.values()
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _rates(scheduler, count, first_epoch=0):
    """Step `count` epochs; a schedule that watches a metric sees a loss that improves for three
    epochs and then stops improving, so that it has something to react to."""
    rates = []
    for epoch in range(first_epoch, first_epoch + count):
        scheduler.optimizer.step()
        if _takes_a_metric(scheduler):
            scheduler.step(1.0 / (1 + min(epoch, 3)))
        else:
            scheduler.step()
        rates.append(scheduler.get_last_lr())
    return rates


def scheduler_rates(factory, example):
    scheduler = build(factory, example, host_optimizer())
    name = factory.__name__
    for epoch in range(12):
        [rates] = _rates(scheduler, 1, epoch)
        groups = [g["lr"] for g in scheduler.optimizer.param_groups]
        assert rates == groups, f"{name}.get_last_lr() {rates} is not the groups' lr {groups} at epoch {epoch}"
        assert all(math.isfinite(r) and r >= 0 for r in rates), f"{name} gave the rates {rates} at epoch {epoch}"


def scheduler_state_dict(factory, example):
    optimizer = host_optimizer()
    scheduler = build(factory, example, optimizer)
    _rates(scheduler, 4)
    # Resuming as in PyTorch: build both afresh, then load the optimizer's state, then the schedule's.
    resumed_optimizer = host_optimizer()
    resumed = build(factory, example, resumed_optimizer)
    resumed_optimizer.load_state_dict(through_json(optimizer.state_dict(), "the optimizer's state dict"))
    resumed.load_state_dict(through_json(scheduler.state_dict(), f"{factory.__name__}.state_dict()"))
    assert_same(_rates(resumed, 6, 4), _rates(scheduler, 6, 4), f"{factory.__name__}'s rates, run on and resumed")


def scheduler_config(factory, example):
    optimizer = host_optimizer()
    scheduler = build(factory, example, optimizer)
    check_config_round_trip(scheduler, lambda **config: factory(host_optimizer(), **config), ("last_epoch",))


def scheduler_determinism(factory, example):
    def run():
        return _rates(build(factory, example, host_optimizer()), 8)

    assert_same(run(), run(), f"{factory.__name__}'s rates in two identical runs")


def scheduler_pytorch_defaults(factory, example):
    defaults_match_pytorch("schedulers", factory.__name__, factory)


CHECKS = {
    "rates": scheduler_rates,
    "pytorch_defaults": scheduler_pytorch_defaults,
    "state_dict": scheduler_state_dict,
    "config": scheduler_config,
    "determinism": scheduler_determinism,
}
