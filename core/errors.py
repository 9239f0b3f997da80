"""The errors a user can cause; each message says what was wrong and what was expected."""


class LaminaError(Exception):
    """Base class, so a caller (the CLI) can turn every user error into one line."""


class ShapeError(LaminaError, ValueError):
    """A tensor arrived with a shape the operation or layer cannot take."""


class _Unquoted:
    def __str__(self):  # KeyError would quote the whole message
        return self.args[0] if self.args else ""


class UnknownComponentError(_Unquoted, LaminaError, KeyError, AttributeError):
    """A name that no installed plugin registered (an AttributeError too, so that
    `hasattr(lamina.nn, "Name")` and `from lamina.nn import submodule` behave)."""


class PluginError(LaminaError):
    """A plugin could not be loaded, or two plugins claim the same name."""


class NonFiniteLossError(LaminaError, FloatingPointError):
    """The loss became NaN or infinite during training."""


class FileFormatError(LaminaError, ValueError):
    """A file that is not a readable lamina model, checkpoint or config: truncated, corrupted,
    foreign, written by a newer lamina, or declaring more than its contents back up."""


class StateDictError(_Unquoted, LaminaError, KeyError):
    """A state dict that does not fit the module: missing or unexpected keys, wrong shapes."""


class ConfigError(LaminaError, ValueError):
    """A run config that names an unknown key, misses a required one, or gives a bad value."""


class BackendError(LaminaError, ValueError):
    """Tensors of two backends met in one operation, or a backend could not be built."""
