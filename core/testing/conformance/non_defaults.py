"""Non-default hyper-parameters: for each argument with a default, one other value its validators
admit, so that every check also runs on a component built with it. A backward that ignores
`negative_slope`, or an update that ignores `nesterov`, passes every check at the defaults.

Candidates come from the attrs field: the other boolean, nearby numbers, the other choices of a
`one_of` validator, tuples of nearby numbers. A candidate is kept when the component builds with
it and takes one ordinary step (a forward, an optimizer step, a schedule step); an argument with
no such candidate (a None default, a Python function) gets no variant.
"""

from __future__ import annotations

import inspect
import math
import numbers

import attrs

from lamina.testing.conformance.building import FEATURES, Example, build, loss_inputs, module_input
from lamina.testing.conformance.hosts import host_optimizer, problem


def _choices(validator):
    """The choices of a `one_of` validator (possibly inside a list of validators), else (): found in
    the validator's closure, or in that of the test it wraps (lamina.component's one_of)."""
    for part in getattr(validator, "_validators", None) or [validator]:
        try:
            found = inspect.getclosurevars(part).nonlocals
            if "choices" not in found and callable(found.get("test")):
                found = inspect.getclosurevars(found["test"]).nonlocals
        except TypeError:  # a validator that is not a plain function (attrs' own, a class)
            continue
        if isinstance(found.get("choices"), tuple):
            return found["choices"]
    return ()


def _numbers(default):
    if isinstance(default, numbers.Integral):
        return [default + 1, default * 2, FEATURES, default - 1, 1, 0]
    return [default * 0.5, default * 2, default + 0.1, default - 0.1, 0.5, 0.25, 2.0]


def candidates(field, default) -> list:
    """Values other than `default` that `field` might admit, in order of preference."""
    if isinstance(default, bool):
        found = [not default]
    elif isinstance(default, numbers.Real):
        found = _numbers(default)
    elif isinstance(default, str):
        found = list(_choices(field.validator))
    elif isinstance(default, tuple) and default and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                        for v in default):
        found = [tuple(v * 0.9 for v in default), tuple(v * 0.5 for v in default), tuple(v + 0.1 for v in default)]
    else:
        found = []
    return [v for v in found if v != default and not (isinstance(v, float) and not math.isfinite(v))]


def _smoke(kind, component, example):
    """One ordinary use: what a check will do first. Raises for a value the component cannot use."""
    if kind == "modules":
        out = component(module_input(example))
        component.backward(out * 0.0 + 1.0)
    elif kind == "losses":
        component(*loss_inputs(example))
        component.backward()
    elif kind == "optimizers":
        for p in component.params:
            p.grad = p * 0.5
        component.step()
    elif kind == "schedulers":
        component.optimizer.step()
        component.step(1.0) if component.needs_metric else component.step()


def _runtime(kind):
    if kind == "optimizers":
        return (problem()[0],)
    if kind == "schedulers":
        return (host_optimizer(),)
    return ()


def with_argument(example: Example, name: str, value) -> Example:
    """The example with one more constructor argument."""
    base = example.kwargs
    if callable(base):
        return attrs.evolve(example, kwargs=lambda *runtime: {**base(*runtime), name: value})
    return attrs.evolve(example, kwargs={**base, name: value})


def variants(factory, kind: str, example: Example) -> list:
    """(argument, value, example) for each argument that has a usable non-default value."""
    if not attrs.has(factory):
        return []
    given = set(example.kwargs(*_runtime(kind)) if callable(example.kwargs) else example.kwargs)
    found = []
    for f in attrs.fields(factory):
        if not f.init or not f.metadata.get("config", True) or f.default is attrs.NOTHING or f.alias in given:
            continue
        default = f.default.factory() if isinstance(f.default, attrs.Factory) else f.default
        for value in candidates(f, default):
            variant = with_argument(example, f.alias, value)
            try:
                _smoke(kind, build(factory, variant, *_runtime(kind)), variant)
            except (TypeError, ValueError, IndexError, ArithmeticError):  # not usable on this example
                continue
            found.append((f.alias, value, variant))
            break
    return found
