"""How the kit builds, feeds and compares components (see lamina.conformance for the convention)."""

from __future__ import annotations

import json

import attrs

from lamina.callbacks import Callback
from lamina.component import config_of
from lamina.plugin_system.kinds import Example
from lamina.factories import rand, randn
from lamina.gradient_descent import Optimizer
from lamina.learning_rate import LRScheduler
from lamina.module import Loss, Module
from lamina.rng import manual_seed
from lamina.tensors import Tensor

ROWS = 5
FEATURES = 3
KIND_OF = {Module: "modules", Loss: "losses", Optimizer: "optimizers", LRScheduler: "schedulers",
           Callback: "callbacks"}


def kind_of(factory) -> str:
    for base, kind in KIND_OF.items():
        if isinstance(factory, type) and issubclass(factory, base):
            return kind
    raise TypeError(
        f"the conformance kit checks Modules, Losses, Optimizers, LR schedulers and Callbacks; "
        f"got {factory!r}"
    )


def examples_of(factory) -> list:
    return list(getattr(factory, "conformance_examples", None) or [Example()])


def arguments(factory, example: Example, *runtime) -> dict:
    """The example's arguments, plus FEATURES for each required `int` argument it leaves out."""
    kwargs = dict(example.kwargs(*runtime) if callable(example.kwargs) else example.kwargs)
    if attrs.has(factory):
        for f in attrs.fields(factory):
            if f.default is attrs.NOTHING and f.init and f.metadata.get("config", True) and f.alias not in kwargs:
                if f.type not in (int, "int"):
                    raise TypeError(
                        f"the conformance kit cannot build {factory.__name__}: its argument {f.alias!r} "
                        f"has no default; declare {factory.__name__}.conformance_examples = "
                        f"[lamina.plugin_system.kinds.Example(kwargs={{{f.alias!r}: ...}})]"
                    )
                kwargs[f.alias] = FEATURES
    return kwargs


def build(factory, example: Example, *runtime, seed: int = 0, **overrides):
    manual_seed(seed)
    kwargs = {**arguments(factory, example, *runtime), **overrides}
    if isinstance(factory, type) and issubclass(factory, LRScheduler):
        # By name: a schedule's optimizer need not come first (ChainedScheduler's, as PyTorch's, does not).
        return factory(optimizer=runtime[0], **kwargs)
    return factory(*runtime, **kwargs)


def module_input(example: Example, seed: int = 1) -> Tensor:
    manual_seed(seed)
    return example.inputs() if example.inputs else randn(ROWS, FEATURES)


def loss_inputs(example: Example, seed: int = 1):
    manual_seed(seed)
    if example.inputs:
        return example.inputs()
    # In (0, 1), away from the ends: valid for regression losses and probability losses alike.
    return rand(ROWS, FEATURES, 0.05, 0.95), rand(ROWS, FEATURES, 0.05, 0.95)


# --- comparing ---------------------------------------------------------------------------------


def plain(value):
    """Tensors as nested lists, tuples as lists: what a JSON file holds."""
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def through_json(value, what: str):
    """`value` as it comes back from a JSON file (keys become strings, tuples lists)."""
    try:
        return json.loads(json.dumps(plain(value)))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{what} cannot be saved as JSON: {error}") from None


def assert_same(actual, expected, what: str):
    if plain(actual) != plain(expected):
        raise AssertionError(f"{what} differ: {plain(actual)!r} != {plain(expected)!r}")


def check_config_round_trip(component, rebuild, progress=()):
    """config_of -> JSON -> constructor gives the same config. `progress` names arguments that
    record how far a component has run (a schedule's last_epoch): state, not configuration."""
    name = type(component).__name__
    config = {k: v for k, v in config_of(component).items() if k not in progress}
    rebuilt = rebuild(**through_json(config, f"{name}'s config"))
    rebuilt_config = {k: v for k, v in config_of(rebuilt).items() if k not in progress}
    assert_same(rebuilt_config, config, f"{name}'s config and the config rebuilt from it")
