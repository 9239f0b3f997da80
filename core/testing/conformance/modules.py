"""The checks every Module must pass."""

from __future__ import annotations

from lamina.factories import randn
from lamina.rng import manual_seed
from lamina.testing.conformance.building import (
    assert_same,
    build,
    check_config_round_trip,
    module_input,
    plain,
    through_json,
)
from lamina.testing.conformance.pytorch_defaults import defaults_match_pytorch
from lamina.testing.gradcheck import check_module_gradients

WIDEST = 10.0  # |x| up to this: where tails, saturation and approximations show


def _warm_up(module, x):
    """One training forward, so that running statistics are not at their initial values."""
    module.train()
    module(x)


def module_gradients(factory, example):
    x = module_input(example)
    for training in (True, False):
        module = build(factory, example)
        _warm_up(module, x)
        module.train(training)
        check_module_gradients(module, x)


def module_train_eval(factory, example):
    module = build(factory, example)
    name = factory.__name__
    assert module.train() is module and module.eval() is module, f"{name}.train()/.eval() must return the module"
    assert all(not m.training for m in module.modules()), f"{name}.eval() left a submodule training"
    module.train()
    assert all(m.training for m in module.modules()), f"{name}.train() left a submodule in eval mode"
    x = module_input(example)
    _warm_up(module, x)
    module.eval()
    before = plain(module.state_dict())
    manual_seed(11)
    first = module(x)
    manual_seed(12)
    second = module(x)
    assert_same(module.state_dict(), before, f"{name}'s state before and after an eval-mode forward")
    assert_same(second, first, f"{name}'s eval-mode outputs under two different seeds")


def module_state_dict(factory, example):
    name = factory.__name__
    x = module_input(example)
    source = build(factory, example, seed=1)
    _warm_up(source, x)
    for p in source.parameters():  # so that loading must change something
        p.add_(randn(*p.shape, std=0.1))
    state = source.state_dict()
    expected_keys = [k for k, _ in source.named_parameters()] + [k for k, _ in source.named_buffers()]
    assert sorted(state) == sorted(expected_keys), (
        f"{name}.state_dict() keys {sorted(state)} are not its parameters and buffers {sorted(expected_keys)}"
    )
    target = build(factory, example, seed=2)
    target.load_state_dict(through_json(state, f"{name}.state_dict()"))
    assert_same(target.state_dict(), state, f"{name}'s state dict and the one loaded from it")
    source.eval(), target.eval()
    assert_same(target(x), source(x), f"{name}'s eval outputs before and after a state-dict round trip")


def module_config(factory, example):
    check_config_round_trip(build(factory, example), factory)


def module_determinism(factory, example):
    def run():
        module = build(factory, example, seed=5)
        x = module_input(example, seed=6)
        manual_seed(7)
        out = module(x)
        grad_x = module.backward(out * 0.5)
        return out, grad_x, [p.grad for p in module.parameters()], module.state_dict()

    assert_same(run(), run(), f"{factory.__name__}'s outputs, gradients and state under one seed")


def module_accumulates(factory, example):
    """backward adds into each .grad (gradient accumulation relies on it, as in PyTorch): two
    backwards of the same forward leave twice one backward's gradient."""
    x = module_input(example)
    module = build(factory, example)
    module.train()
    manual_seed(3)
    projection = randn(*module(x).shape)
    grads = []
    for _ in range(2):
        manual_seed(4)
        module(x)
        module.backward(projection)
        grads.append({name: plain(p.grad) for name, p in module.named_parameters() if p.grad is not None})
    for name, once in grads[0].items():
        twice = grads[1][name]
        assert twice == _times_two(once), (
            f"{factory.__name__}.backward must add into {name}.grad, not replace it: after two backwards "
            f"it holds {twice}, not twice {once}"
        )


def _times_two(value):
    return [_times_two(v) for v in value] if isinstance(value, list) else value * 2.0


def module_wide_inputs(factory, example):
    """Forward finite and gradients right for inputs spread over |x| up to 10, not only randn's."""
    x = module_input(example)
    largest = max(abs(v) for v in _flat(plain(x))) or 1.0
    wide = x * (WIDEST / largest)
    for training in (True, False):
        module = build(factory, example)
        _warm_up(module, wide)
        module.train(training)
        out = _flat(plain(module(wide)))
        assert all(v == v and abs(v) != float("inf") for v in out), (
            f"{factory.__name__} gave non-finite outputs for inputs up to |x| = {WIDEST}")
        check_module_gradients(module, wide)


def _flat(value):
    return [w for v in value for w in _flat(v)] if isinstance(value, list) else [value]


def module_pytorch_defaults(factory, example):
    defaults_match_pytorch("modules", factory.__name__, factory)


CHECKS = {
    "gradients": module_gradients,
    "accumulates": module_accumulates,
    "wide_inputs": module_wide_inputs,
    "pytorch_defaults": module_pytorch_defaults,
    "train_eval": module_train_eval,
    "state_dict": module_state_dict,
    "config": module_config,
    "determinism": module_determinism,
}
