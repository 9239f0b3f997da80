"""Functions of tensors that layers are made of, as torch.nn.functional's are."""

from __future__ import annotations

from lamina.tensors import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight stored (out_features, in_features) as in PyTorch."""
    if bias is None:
        return x @ weight.T
    return x @ weight.T + bias
