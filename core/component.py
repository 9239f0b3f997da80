"""Components declare their hyper-parameters once, as attrs fields; the config is read off them.
The core finds a component by kind and name through `registry()`.

    @component
    class Dropout(Module):
        p: float = field(default=0.5, validator=[number, in_range(0, 1, high_inclusive=False)])

gives `Dropout(0.2)`, `Dropout(p=1.5)` failing with "Dropout(p=1.5): p must be in [0, 1), got 1.5",
and `config_of(Dropout(0.2)) == {"p": 0.2}` for saving and for config-built models.
"""

from __future__ import annotations

import numbers
import operator

import attrs
from attrs import field  # noqa: F401  re-exported for component authors


def component(cls=None, **options):
    """attrs.define with the settings a lamina component needs.

    slots=False: modules gain attributes (weights, caches) after __init__; on_setattr=NO_OP: arguments
    are checked when the component is made, as in PyTorch, so a forward's `self.x = x` stays plain.
    eq=False: components compare and hash by identity (optimizer state is keyed by Parameter).
    repr=False: the base classes print the config instead, as `Linear(in_features=2, ...)`.
    """
    settings = {"slots": False, "eq": False, "repr": False, "on_setattr": attrs.setters.NO_OP, **options}
    if cls is None:
        return lambda c: attrs.define(c, **settings)
    return attrs.define(cls, **settings)


def runtime_argument(**options):
    """A constructor argument that is wired in, not configured: an optimizer's params,
    a scheduler's optimizer. It is left out of the config."""
    return attrs.field(repr=False, metadata={"config": False}, **options)


def config_of(obj) -> dict:
    """The component's hyper-parameters, keyed as its constructor takes them.

    A field may be stored under another name than its argument (`field(alias="bias")` on a
    `has_bias` attribute, where `self.bias` is the Parameter); the config uses the argument name.
    """
    if not attrs.has(type(obj)):
        return {}
    return {
        f.alias: getattr(obj, f.name)
        for f in attrs.fields(type(obj))
        if f.init and f.metadata.get("config", True)
    }


def describe(obj) -> str:
    """`Name(arg=value, ...)` from the config."""
    arguments = ", ".join(f"{k}={v!r}" for k, v in config_of(obj).items())
    return f"{type(obj).__name__}({arguments})"


# --- finding components ----------------------------------------------------------------------
# The registry (lamina.plugin_system.registry) maps (kind, name) to a component. The plugin
# machinery fills it on first use and plugs itself in here, so the core never imports it.
_source = None  # set by lamina.plugin_system.manager as it is imported, with `import lamina`


def registry():
    """The process's registry, filled from the installed plugins on first use."""
    return _source()


def fill_from(source) -> None:
    """Make `source()` the registry that `registry()` returns (lamina.plugin_system calls this)."""
    global _source
    _source = source


# --- validators -----------------------------------------------------------------------------
# Each raises naming the component, the argument and the value given.


def _fail(instance, attribute, value, expected, error=ValueError):
    raise error(f"{type(instance).__name__}({attribute.name}={value!r}): "
                f"{attribute.name} must be {expected}, got {value!r}")


def _holds(test, expected, error=ValueError):
    """A validator that fails, in one line, where `test(value)` is false."""
    def check(instance, attribute, value):
        if not test(value):
            _fail(instance, attribute, value, expected, error)

    return check


integer = _holds(lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool), "an integer", TypeError)
number = _holds(lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool), "a number", TypeError)
boolean = _holds(lambda v: isinstance(v, bool), "True or False", TypeError)


def at_least(low):
    return _holds(lambda v: v >= low, f">= {low}")


def greater_than(low):
    return _holds(lambda v: v > low, f"> {low}")


def in_range(low, high, *, low_inclusive=True, high_inclusive=True):
    above, below = (operator.ge if low_inclusive else operator.gt), (operator.le if high_inclusive else operator.lt)
    interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
    return _holds(lambda v: above(v, low) and below(v, high), f"in {interval}")


def one_of(*choices):
    return _holds(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices))
