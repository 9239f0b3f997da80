"""The conformance kit: the checks every Module, Loss, Optimizer, LR scheduler and Callback must
pass, whoever wrote it (in the spirit of scikit-learn's `check_estimator`).

    from lamina.testing import conformance
    conformance.check("modules", "PReLU")        # every check, by registry name
    conformance.check_component(MyLayer)          # or a class, registered or not

In a test suite, lamina's pytest plugin turns each check into its own test:

    @pytest.mark.lamina_conformance(distribution="lamina-prelu")
    def test_conformance(lamina_check):
        lamina_check()

How the kit builds a component: with its defaults, each required `int` argument being a size
(the kit passes FEATURES, the number of input features). A module is fed `randn(ROWS, FEATURES)`,
a loss a prediction and a target of that shape drawn uniformly from (0.05, 0.95). A component that
needs something else says so on its class, once, with examples:

    class NLLLoss(Loss):
        conformance_examples = [Example(inputs=lambda: (lamina.rand(4, 3, 0.05, 0.95),
                                                        lamina.tensor([[0.0], [2.0], [1.0], [0.0]])))]

`Example(kwargs={...})` gives constructor arguments (or `kwargs=lambda optimizer: {...}`, a function
of the runtime arguments, for a schedule built from other schedules); `inputs` is called after
seeding, for a module returning x, for a loss (prediction, target); `skip={"check name": "why"}`
leaves a check out. A schedule whose step() takes a metric (ReduceLROnPlateau) is given a loss
that improves for three epochs and then stops improving.
Callbacks run inside a fresh temporary working directory, so one that writes files writes there.

Beyond round trips, the kit looks where bugs hide: a module's backward must add into `.grad`
(`accumulates`) and be right for inputs up to |x| = 10 (`wide_inputs`); an optimizer resumed
mid-run must go on exactly, through gradients that flip sign and change scale
(`changing_gradients`); a callback resumed from a checkpoint must end as an uninterrupted run
does (`resume`); a component PyTorch also has must default as PyTorch 2.13 does
(`pytorch_defaults`, from an explicit table). And every check runs again with each
hyper-parameter at a non-default value its validators admit (`Name[argument=value]`).
"""

from __future__ import annotations

from typing import Callable

import attrs

from lamina.component import registry
from lamina.plugin_system.manager import normalize
from lamina.testing.conformance import callbacks, losses, modules, optimizers, schedulers
from lamina.testing.conformance.building import FEATURES, ROWS, Example, arguments, examples_of, kind_of
from lamina.testing.conformance.non_defaults import variants

__all__ = ["CHECKS", "Case", "Example", "FEATURES", "ROWS", "arguments", "cases", "check", "check_component",
           "registered_cases"]

CHECKS = {
    "modules": modules.CHECKS,
    "losses": losses.CHECKS,
    "optimizers": optimizers.CHECKS,
    "schedulers": schedulers.CHECKS,
    "callbacks": callbacks.CHECKS,
}


@attrs.frozen
class Case:
    """One check of one component: calling it runs the check (raising AssertionError)."""

    kind: str
    name: str
    check: str
    factory: Callable
    example: Example

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}:{self.check}"

    def __call__(self):
        CHECKS[self.kind][self.check](self.factory, self.example)


def cases(factory, kind: str | None = None, name: str | None = None) -> list:
    """Every check that applies to `factory`, for each of its examples, and again (but for the
    defaults check) with each hyper-parameter at a non-default value its validators admit,
    built on the first example: `Name[argument=value]`."""
    kind = kind or kind_of(factory)
    name = name or factory.__name__
    found = []
    examples = examples_of(factory)
    for index, example in enumerate(examples):
        label = name if len(examples) == 1 else f"{name}[{index}]"
        found.extend(
            Case(kind, label, check, factory, example) for check in CHECKS[kind] if check not in example.skip
        )
    for argument, value, example in variants(factory, kind, examples[0]):
        label = f"{name}[{argument}={value!r}]"
        found.extend(Case(kind, label, check, factory, example) for check in CHECKS[kind]
                     if check not in example.skip and check != "pytorch_defaults")
    return found


def registered_cases(distribution: str | None = None, kinds=None, names=None) -> list:
    """The cases for registered components, optionally only those of one distribution, some
    kinds, some names."""
    selected = []
    for kind in kinds or CHECKS:
        for entry in registry().entries(kind):
            if distribution and normalize(entry.provider.distribution) != normalize(distribution):
                continue
            if names and entry.name not in names:
                continue
            selected.extend(cases(entry.factory, kind, entry.name))
    return selected


def check_component(factory, kind: str | None = None) -> None:
    """Run every check on one component class; the first failure raises AssertionError."""
    for case in cases(factory, kind):
        case()


def check(kind: str, name: str) -> None:
    """Run every check on one registered component."""
    check_component(registry().get(kind, name), kind)
