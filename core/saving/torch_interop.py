"""PyTorch interop: lamina's state dicts carry PyTorch's key names and values, so weights move
between the two. lamina stores every tensor 2-D (a bias is one row); PyTorch stores biases and
running statistics 1-D and counters 0-D, so going to PyTorch takes each shape from the target.
The way back needs nothing: `Module.load_state_dict` accepts PyTorch tensors as they are.

PyTorch stays optional: it is imported only when this is called.
"""

from __future__ import annotations

from lamina.module import Module
from lamina.tensors import Tensor


def torch_state_dict(source, like) -> dict:
    """`source` (a lamina Module or state dict) as PyTorch tensors shaped and typed as `like`
    (a torch.nn.Module or its state dict) holds them, ready for `like.load_state_dict(...)`.

    Keys `like` lacks are passed through (2-D, float64), so strict loading still reports them.
    """
    try:
        import torch
    except ImportError:
        raise ImportError(
            "moving weights to PyTorch needs PyTorch installed (pip install torch)"
        ) from None
    state = source.state_dict() if isinstance(source, Module) else source
    reference = like.state_dict() if hasattr(like, "state_dict") else like
    converted = {}
    for key, value in state.items():
        values = value.tolist() if isinstance(value, Tensor) else value
        converted[key] = _shaped_like(torch.tensor(values, dtype=torch.float64), reference.get(key))
    return converted


def _shaped_like(value, target):
    """A lamina (1, n) row becomes PyTorch's 1-D (n,) or 0-D () where the target has that shape;
    any other difference is left for PyTorch's own size check to report."""
    if target is None:
        return value
    if target.dim() < 2 and value.shape[0] == 1 and value.numel() == target.numel():
        value = value.reshape(target.shape)
    return value.to(target.dtype)
