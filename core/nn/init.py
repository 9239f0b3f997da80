"""lamina.nn.init: weight initialisers by PyTorch's names, plus the gain and fan formulas they use.

`lamina.nn.init.xavier_uniform_(weight, gain=1.0)` fills `weight` in place and returns it, as
`torch.nn.init.xavier_uniform_` does. Each `<name>_` resolves through the registry (kind
"initializers", registered without the underscore), so an initialiser from an installed plugin is
reached exactly as a built-in one is, and `Linear(init="<name>")` picks the same function.
"""

from __future__ import annotations

import math
import numbers

from lamina.component import registry

# Gains that keep the variance of activations steady through a layer followed by each
# nonlinearity, as torch.nn.init.calculate_gain gives them.
_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
              "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + slope^2)) (leaky_relu, slope `param`, 0.01 by default), 3/4 (selu)."""
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain('leaky_relu', param={param!r}): the slope must be a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    known = ", ".join((*_UNIT_GAIN, "tanh", "relu", "leaky_relu", "selu"))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of {known}")


def calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight stored (out_features, in_features), or of a convolution's
    (out_channels, in_channels/groups, *kernel), whose every kernel position counts, as PyTorch's."""
    if tensor.dim() < 2:
        raise ValueError(f"fan in and fan out need a weight of at least 2 dimensions, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_correct_fan(tensor, mode: str) -> int:
    """fan_in keeps the forward pass's variance, fan_out the backward pass's."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def __getattr__(name):
    if name.startswith("_") or not name.endswith("_"):
        raise AttributeError(f"lamina.nn.init has no attribute {name!r}; initialisers end in '_' "
                             "(lamina.nn.init.xavier_uniform_)")
    return registry().get("initializers", name[:-1])
