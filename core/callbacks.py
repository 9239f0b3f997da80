"""lamina.callbacks: the Callback interface, plus every registered callback by name."""

from .callback import Callback
from .registry import registry

__all__ = ["Callback"]


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return registry().get("callbacks", name)
