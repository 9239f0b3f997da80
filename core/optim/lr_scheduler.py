"""lamina.optim.lr_scheduler: the LRScheduler interface, plus every registered schedule by name."""

from lamina.component import registry
from lamina.learning_rate import LRScheduler

__all__ = ["LRScheduler"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return registry().get("schedulers", name)
