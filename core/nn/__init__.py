"""lamina.nn: the Module machinery, plus every registered layer, activation and loss by name.

`lamina.nn.Linear` is looked up in the registry, so a layer from an installed plugin is reached
exactly as a built-in one is.
"""

from ..loss import Loss
from ..module import Module
from ..registry import registry
from ..sequential import Sequential
from ..tensor import Buffer, Parameter
from . import functional, init, utils

__all__ = ["Buffer", "Loss", "Module", "Parameter", "Sequential", "functional", "init", "utils"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    components = registry()
    if ("losses", name) in components:
        return components.get("losses", name)
    return components.get("modules", name)
