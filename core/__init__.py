"""lamina: a small deep-learning framework you can read end to end.

Every layer has an explicit forward and backward; the layers, losses, optimizers, schedules and
formats are plugins found through entry points, loaded on first use (never on `import lamina`).
"""

from . import callbacks, data, nn, optim
from .callbacks import Callback
from .component import config_of, field
from .errors import (
    BackendError,
    ConfigError,
    FileFormatError,
    LaminaError,
    NonFiniteLossError,
    PluginError,
    ShapeError,
    StateDictError,
    UnknownComponentError,
)
from .plugin_system.hookspecs import hookimpl
from .plugin_system.manager import plugin_manager, register
from .catalogue import Record, registry
from .rng import get_rng_state, manual_seed, set_rng_state
from .saving.model_files import load, save
from .tensors import (
    Buffer,
    Parameter,
    Tensor,
    cat,
    full,
    get_backend,
    one_hot,
    ones,
    rand,
    rand_like,
    randn,
    set_backend,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .trainer import History, Trainer

__all__ = [
    "BackendError", "Buffer", "Callback", "ConfigError", "FileFormatError", "History", "LaminaError", "NonFiniteLossError",
    "Parameter", "PluginError", "Record", "ShapeError", "StateDictError", "Tensor", "Trainer",
    "UnknownComponentError", "callbacks", "cat", "config_of", "data", "field", "full",
    "get_backend", "get_rng_state", "hookimpl", "load", "manual_seed", "nn", "one_hot", "ones",
    "optim", "plugin_manager", "rand", "rand_like", "randn", "register", "registry", "save", "set_backend",
    "set_rng_state", "tensor", "where", "zeros", "zeros_like",
]
