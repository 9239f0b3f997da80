"""The checks every Loss must pass."""

from __future__ import annotations

import math

import attrs

from lamina.tensors import Tensor
from lamina.testing.conformance.building import assert_same, build, check_config_round_trip, loss_inputs, plain
from lamina.testing.conformance.pytorch_defaults import defaults_match_pytorch
from lamina.testing.gradcheck import check_loss_gradients

WIDEST = 10.0  # |prediction| up to this: where log-sum-exp, saturation and approximations show


def _reductions(factory, example):
    if not attrs.has(factory) or "reduction" not in {f.alias for f in attrs.fields(factory)}:
        return [{}]
    return [{"reduction": r} for r in ("mean", "sum", "none")]


def loss_gradients(factory, example):
    prediction, target = loss_inputs(example)
    for reduction in _reductions(factory, example):
        check_loss_gradients(build(factory, example, **reduction), prediction, target)


def loss_reductions(factory, example):
    if _reductions(factory, example) == [{}]:
        return
    prediction, target = loss_inputs(example)
    each = build(factory, example, reduction="none")(prediction, target)
    name = factory.__name__
    assert isinstance(each, Tensor), f"{name}(reduction='none') must return a Tensor of losses"
    for reduction, expected in (("sum", each.sum()), ("mean", each.mean())):
        value = build(factory, example, reduction=reduction)(prediction, target)
        assert isinstance(value, float), f"{name}(reduction={reduction!r}) must return a float"
        assert math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-12), (
            f"{name}(reduction={reduction!r}) gave {value}, but the {reduction} of reduction='none' is {expected}"
        )


def loss_wide_inputs(factory, example):
    """Value finite and gradient right for predictions spread over |x| up to 10 (not only the
    example's); a loss whose domain is narrower (probabilities) refuses them in one line, and that
    is all this check asks of it."""
    prediction, target = loss_inputs(example)
    centred = prediction - prediction.mean()
    largest = max(abs(v) for v in _flat(plain(centred))) or 1.0
    wide = centred * (WIDEST / largest)
    for reduction in _reductions(factory, example):
        loss = build(factory, example, **reduction)
        try:
            value = loss(wide, target)
        except ValueError:
            return
        total = value if isinstance(value, float) else value.sum()
        assert math.isfinite(total), f"{factory.__name__} gave {total} for predictions up to |x| = {WIDEST}"
        check_loss_gradients(loss, wide, target)


def _flat(value):
    return [w for v in value for w in _flat(v)] if isinstance(value, list) else [value]


def loss_config(factory, example):
    check_config_round_trip(build(factory, example), factory)


def loss_determinism(factory, example):
    def run():
        loss = build(factory, example)
        value = loss(*loss_inputs(example))
        return value, loss.backward()

    first, second = run(), run()
    assert_same(second, first, f"{factory.__name__}'s value and gradient on the same inputs")
    if isinstance(first[0], float):
        assert math.isfinite(first[0]), f"{factory.__name__} gave {first[0]} on ordinary inputs"


def loss_pytorch_defaults(factory, example):
    defaults_match_pytorch("losses", factory.__name__, factory)


CHECKS = {
    "gradients": loss_gradients,
    "pytorch_defaults": loss_pytorch_defaults,
    "reductions": loss_reductions,
    "wide_inputs": loss_wide_inputs,
    "config": loss_config,
    "determinism": loss_determinism,
}
