"""Loss: calling it returns the loss and caches what `backward()` needs to return dL/d(prediction)."""

from __future__ import annotations

from .component import describe
from .errors import ShapeError
from .tensors import Tensor

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    reduction = "mean"

    def __repr__(self):
        return describe(self)

    def __call__(self, prediction, target):
        """The loss: a float, or a Tensor of per-element losses when reduction is 'none'."""
        if not isinstance(prediction, Tensor):
            raise TypeError(
                f"{type(self).__name__} expects the prediction as a lamina Tensor, "
                f"got {type(prediction).__name__}"
            )
        return self.forward(prediction, target)

    def forward(self, prediction: Tensor, target):
        raise NotImplementedError(f"{type(self).__name__} must define forward(prediction, target)")

    def backward(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define backward()")

    # --- helpers shared by element-wise losses ----------------------------------------------
    def check_same_shape(self, prediction, target):
        if not isinstance(target, Tensor):
            raise TypeError(
                f"{type(self).__name__} expects the target as a lamina Tensor, "
                f"got {type(target).__name__}"
            )
        if prediction.shape != target.shape:
            raise ShapeError(
                f"{type(self).__name__} got prediction of shape {prediction.shape} and target of "
                f"shape {target.shape}; they must match"
            )

    def reduce(self, losses: Tensor):
        """Apply `reduction` to a tensor of per-element (or per-sample) losses."""
        if self.reduction == "mean":
            return losses.mean()
        if self.reduction == "sum":
            return losses.sum()
        return losses

    def reduction_scale(self, count: int) -> float:
        """d(reduced)/d(each element's loss): 1/count for a mean, 1 otherwise."""
        return 1.0 / count if self.reduction == "mean" else 1.0
