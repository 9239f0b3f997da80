"""lamina.optim: the Optimizer interface, plus every registered optimizer by name."""

from lamina.component import registry
from lamina.gradient_descent import Optimizer, WeightDecay
from lamina.optim import lr_scheduler

__all__ = ["Optimizer", "WeightDecay", "lr_scheduler"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return registry().get("optimizers", name)
