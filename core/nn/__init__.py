"""lamina.nn: the Module machinery, plus every registered layer, activation and loss by name.

`lamina.nn.Linear` is looked up in the registry, so a layer from an installed plugin is reached
exactly as a built-in one is.
"""

from lamina.component import registry
from lamina.module import Loss, Module, Sequential
from lamina.nn import functional, init, utils
from lamina.tensors import Buffer, Parameter

__all__ = ["Buffer", "Loss", "Module", "Parameter", "Sequential", "functional", "init", "utils"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    components = registry()
    if ("losses", name) in components:
        return components.get("losses", name)
    return components.get("modules", name)
