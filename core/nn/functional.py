"""Fused kernels that layers call directly, as torch.nn.functional's are."""

from __future__ import annotations

from lamina.tensors import Tensor, common_backend


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight.T + bias in one pass; weight is (out_features, in_features)."""
    backend = x.backend
    if weight.backend is not backend:
        common_backend([x, weight], "apply a Linear layer to")
    return Tensor(backend.linear(x.data, weight.data, None if bias is None else bias.data), backend)


def linear_backward(grad: Tensor, x: Tensor, weight: Tensor):
    """(dL/dx, dL/dweight, dL/dbias) of `linear`, given dL/d(output)."""
    backend = x.backend
    if grad.backend is not backend or weight.backend is not backend:
        common_backend([x, grad, weight], "back-propagate a Linear layer with")
    grads = backend.linear_backward(grad.data, x.data, weight.data)
    return tuple(Tensor(g, backend) for g in grads)
