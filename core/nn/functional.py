"""Fused kernels that layers call directly, as torch.nn.functional's are."""

from __future__ import annotations

from ..tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight.T + bias in one pass; weight is (out_features, in_features)."""
    return Tensor(x.backend.linear(x.data, weight.data, None if bias is None else bias.data), x.backend)


def linear_backward(grad: Tensor, x: Tensor, weight: Tensor):
    """(dL/dx, dL/dweight, dL/dbias) of `linear`, given dL/d(output)."""
    grads = x.backend.linear_backward(grad.data, x.data, weight.data)
    return tuple(Tensor(g, x.backend) for g in grads)
