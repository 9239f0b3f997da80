"""The checks every Optimizer must pass, on f(p) = sum((p - t)^2) / 2 (gradient p - t)."""

from __future__ import annotations

from lamina.tensors import Parameter
from lamina.testing.conformance.building import assert_same, build, check_config_round_trip, plain, through_json
from lamina.testing.conformance.hosts import problem
from lamina.testing.conformance.pytorch_defaults import defaults_match_pytorch

# Each step's gradient is (p - t) times the next of these: it flips sign and changes scale, so a
# running value kept outside `state` (a last sign, a scale) shows once the run is resumed.
SCALES = [1.0, -2.0, 0.5, -0.25, 4.0, -1.0, 0.1, -8.0, 2.0, -0.5]


def _objective(params, targets):
    return sum(((p - t) ** 2).sum() / 2 for p, t in zip(params, targets))


def _steps(optimizer, params, targets, count, gradient=None):
    gradient = gradient or (lambda p, t: p - t)
    for _ in range(count):
        optimizer.zero_grad()
        for p, t in zip(params, targets):
            p.accumulate_grad(gradient(p, t))
        optimizer.step()


def optimizer_descends(factory, example):
    params, targets = problem()
    start = _objective(params, targets)
    optimizer = build(factory, example, params)
    _steps(optimizer, params, targets, 30)
    end = _objective(params, targets)
    if any(group.get("maximize") for group in optimizer.param_groups):  # PyTorch's maximize=True ascends
        assert end > start, f"{factory.__name__}(maximize=True) did not increase a quadratic in 30 steps ({start} -> {end})"
    else:
        assert end < start, f"{factory.__name__} did not decrease a convex quadratic in 30 steps ({start} -> {end})"


def optimizer_reads_lr_from_param_groups(factory, example):
    """A schedule works only by writing group['lr']: with it at 0, a step must change nothing."""
    params, targets = problem()
    optimizer = build(factory, example, params)
    _steps(optimizer, params, targets, 3)
    before = plain(params)
    for group in optimizer.param_groups:
        group["lr"] = 0.0
    _steps(optimizer, params, targets, 2)
    assert_same(params, before, f"{factory.__name__}'s parameters after steps with every group's lr = 0")


def _accepts(factory, example, **kwargs) -> bool:
    """Whether the optimizer takes these options (AdamW, say, is always decoupled)."""
    params, _ = problem()
    try:
        build(factory, example, params, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def optimizer_weight_decay(factory, example):
    """weight_decay is the weight-decay plugin's job: coupled L2 must equal adding wd * p to the
    gradient, decoupled must equal shrinking p by lr * wd before the step."""
    wd = 0.1
    name = factory.__name__
    none = {"weight_decay": 0.0}
    coupled = {"weight_decay": wd, "decoupled_weight_decay": False}
    decoupled = {"weight_decay": wd, "decoupled_weight_decay": True}
    checked = 0
    if _accepts(factory, example, **coupled) and _accepts(factory, example, **none):
        params, targets = problem()
        _steps(build(factory, example, params, **coupled), params, targets, 5)
        by_hand, _ = problem()
        plain_optimizer = build(factory, example, by_hand, **none)
        # Maximizing negates the gradient but not the decay: -(g') = -g + wd * p gives g' = g - wd * p.
        sign = -1.0 if plain_optimizer.param_groups[0].get("maximize") else 1.0
        _steps(plain_optimizer, by_hand, targets, 5, lambda p, t: (p - t) + p * (sign * wd))
        assert_same(params, by_hand, f"{name}(weight_decay={wd}) and {name} given grad + {wd} * param")
        checked += 1
    if _accepts(factory, example, **decoupled) and _accepts(factory, example, **none):
        params, targets = problem()
        _steps(build(factory, example, params, **decoupled), params, targets, 5)
        by_hand, _ = problem()
        optimizer = build(factory, example, by_hand, **none)
        for _ in range(5):
            optimizer.zero_grad()
            for p, t in zip(by_hand, targets):
                p.accumulate_grad(p - t)  # the gradient at the parameter before it shrinks
                p.mul_(1.0 - optimizer.param_groups[0]["lr"] * wd)
            optimizer.step()
        assert_same(params, by_hand, f"{name}(decoupled_weight_decay=True) and shrinking by lr * wd by hand")
        checked += 1
    assert checked, f"{name} takes neither weight_decay=0 nor weight_decay={wd} with either decoupling"


def optimizer_state_dict(factory, example):
    params, targets = problem()
    optimizer = build(factory, example, params)
    _steps(optimizer, params, targets, 3)
    copies = [Parameter(p.clone()) for p in params]
    resumed = build(factory, example, copies)
    resumed.load_state_dict(through_json(optimizer.state_dict(), f"{factory.__name__}.state_dict()"))
    _steps(optimizer, params, targets, 3)
    _steps(resumed, copies, targets, 3)
    assert_same(copies, params, f"{factory.__name__}'s parameters, run on and resumed from a state dict")


def optimizer_config(factory, example):
    params, _ = problem()
    check_config_round_trip(build(factory, example, params), lambda **config: factory(params, **config))


def optimizer_determinism(factory, example):
    def run():
        params, targets = problem()
        _steps(build(factory, example, params), params, targets, 5)
        return params

    assert_same(run(), run(), f"{factory.__name__}'s parameters after two identical runs")


def _changing_steps(optimizer, params, targets, first, count):
    for k in range(first, first + count):
        optimizer.zero_grad()
        for p, t in zip(params, targets):
            p.accumulate_grad((p - t) * SCALES[k % len(SCALES)])
        optimizer.step()


def optimizer_changing_gradients(factory, example):
    """Resumed from a state dict mid-run, through gradients that flip sign and change scale, the
    optimizer goes on exactly as the uninterrupted one: everything it remembers is in `state`."""
    name = factory.__name__
    params, targets = problem()
    optimizer = build(factory, example, params)
    _changing_steps(optimizer, params, targets, 0, 4)
    copies = [Parameter(p.clone()) for p in params]
    resumed = build(factory, example, copies)
    resumed.load_state_dict(through_json(optimizer.state_dict(), f"{name}.state_dict()"))
    _changing_steps(optimizer, params, targets, 4, 6)
    _changing_steps(resumed, copies, targets, 4, 6)
    values = [v for p in params for row in plain(p) for v in (row if isinstance(row, list) else [row])]
    assert all(v == v and abs(v) != float("inf") for v in values), f"{name} diverged on gradients changing sign"
    assert_same(copies, params, f"{name}'s parameters, run on and resumed, with gradients changing sign and scale,")


def optimizer_pytorch_defaults(factory, example):
    defaults_match_pytorch("optimizers", factory.__name__, factory)


CHECKS = {
    "descends": optimizer_descends,
    "changing_gradients": optimizer_changing_gradients,
    "pytorch_defaults": optimizer_pytorch_defaults,
    "reads_lr_from_param_groups": optimizer_reads_lr_from_param_groups,
    "weight_decay": optimizer_weight_decay,
    "state_dict": optimizer_state_dict,
    "config": optimizer_config,
    "determinism": optimizer_determinism,
}
