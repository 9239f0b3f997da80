"""lamina.nn.utils: gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.

Both run between `backward` and `optimizer.step()`, on every parameter that has a gradient.
"""

from __future__ import annotations

import math
import numbers

from lamina.tensors import Tensor


def _gradients_of(parameters, function):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(
            f"{function} expects a Parameter or an iterable of Parameters, got {type(parameters).__name__}"
        ) from None
    for p in parameters:
        if not isinstance(p, Tensor) or not hasattr(p, "grad"):
            raise TypeError(f"{function} expects Parameters, got {type(p).__name__}")
    return [p for p in parameters if p.grad is not None]


def _number(function, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}")
    return float(value)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False) -> float:
    """Scale all gradients together so that their joint norm is at most max_norm.

    The norm is taken over every gradient element as one vector (the p-norm, or the largest
    absolute value for norm_type=inf). Gradients are multiplied by min(1, max_norm / (norm + 1e-6)),
    PyTorch's coefficient, so their direction is kept. Returns the norm before clipping.
    """
    with_grad = _gradients_of(parameters, "clip_grad_norm_")
    max_norm = _number("clip_grad_norm_", "max_norm", max_norm)
    if norm_type == "inf":
        norm_type = math.inf
    norm_type = _number("clip_grad_norm_", "norm_type", norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    if not with_grad:
        return 0.0
    if norm_type == math.inf:
        total = max(p.grad.abs().max() for p in with_grad)
    else:
        total = sum((p.grad.abs() ** norm_type).sum() for p in with_grad) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
            "so they cannot be clipped; pass error_if_nonfinite=False to clip anyway"
        )
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    for p in with_grad:
        p.grad = p.grad * coefficient
    return total


def clip_grad_value_(parameters, clip_value) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    with_grad = _gradients_of(parameters, "clip_grad_value_")
    clip_value = _number("clip_grad_value_", "clip_value", clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in with_grad:
        p.grad = p.grad.clamp(-clip_value, clip_value)
