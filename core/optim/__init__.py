"""lamina.optim: the Optimizer interface, plus every registered optimizer by name."""

from ..optimizer import Optimizer, WeightDecay
from ..registry import registry
from . import lr_scheduler

__all__ = ["Optimizer", "WeightDecay", "lr_scheduler"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return registry().get("optimizers", name)
