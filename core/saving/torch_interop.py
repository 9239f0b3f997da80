"""PyTorch interop: lamina's state dicts carry PyTorch's key names, shapes and values, so weights
move between the two as they are: `torch_model.load_state_dict(torch_state_dict(model))`, and
back with `model.load_state_dict(torch_model.state_dict())`.

PyTorch stays optional: it is imported only when this is called.
"""

from __future__ import annotations

from lamina.module import Module
from lamina.tensors import Tensor


def torch_state_dict(source, like=None) -> dict:
    """`source` (a lamina Module or state dict) as PyTorch tensors, typed as `like` (a
    torch.nn.Module or its state dict) holds them when given (counters as integers), else float64."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            "moving weights to PyTorch needs PyTorch installed (pip install torch)"
        ) from None
    state = source.state_dict() if isinstance(source, Module) else source
    reference = like.state_dict() if hasattr(like, "state_dict") else (like or {})
    converted = {}
    for key, value in state.items():
        values = torch.tensor(value.tolist() if isinstance(value, Tensor) else value, dtype=torch.float64)
        converted[key] = values.to(reference[key].dtype) if key in reference else values
    return converted
