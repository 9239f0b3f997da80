"""lamina: a small deep-learning framework you can read end to end.

Every layer has an explicit forward and backward; the layers, losses, optimizers, schedules and
formats are plugins found through entry points, loaded on first use (never on `import lamina`).
"""

from . import callbacks, data, nn, optim
from .callbacks import Callback
from .component import config_of, field, registry
from .creation import tensor
from .factories import arange, cat, full, one_hot, ones, rand, rand_like, randn, stack, where, zeros
from .errors import (BackendError, ConfigError, FileFormatError, LaminaError, NonFiniteLossError, PluginError,
                     ShapeError, StateDictError, UnknownComponentError)
from .plugin_system.hookspecs import hookimpl
from .plugin_system.kinds import Example, Record
from .plugin_system.manager import plugin_manager, register
from .performance import get_default_dtype, get_num_threads, set_default_dtype, set_num_threads
from .rng import get_rng_state, manual_seed, set_rng_state
from .saving.model_files import load, save
from .backend import get_backend, set_backend
from .tensors import Buffer, Parameter, Tensor, zeros_like
from .trainer import Trainer


def __getattr__(name):  # lamina.History: the callback every Trainer keeps, found in the registry
    if name == "History":
        return registry().get("callbacks", "History")
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
