"""Losses of each element (regression, binary classification), with PyTorch's names, arguments and
reductions ("mean", "sum", "none"). The classification losses are in classification_losses.py."""

import lamina
from lamina.component import component, field, greater_than, number, one_of
from lamina.errors import ShapeError
from lamina.module import REDUCTIONS, Loss
from lamina.tensors import Tensor


def times_upstream(loss, grad, upstream, shape):
    """dL/d(prediction) times the gradient arriving at the loss's output, as torch's
    `loss.backward(gradient=...)`: with reduction="none" one value per loss (per-sample weights,
    shaped like the losses), otherwise one number. None leaves the gradient as it is. The result
    knows the prediction it is the gradient of (Sequential.backward checks it)."""
    if upstream is not None:
        grad = grad * _upstream_factor(loss, upstream, shape, grad)
    grad.origin = loss.prediction
    return grad


def _upstream_factor(loss, upstream, shape, grad):
    name = type(loss).__name__
    if loss.reduction == "none":
        if not isinstance(upstream, Tensor) or upstream.shape != shape:
            got = upstream.shape if isinstance(upstream, Tensor) else type(upstream).__name__
            raise ShapeError(
                f"{name}(reduction='none').backward(grad) needs grad shaped like the losses, {shape}, got {got}"
            )
        # one weight per sample of a (N, C) gradient: a column, so it scales the sample's row
        return upstream.to(grad.backend).reshape(shape + (1,) * (grad.dim() - len(shape)))
    if isinstance(upstream, Tensor) and upstream.numel() == 1:
        upstream = upstream.item()
    if isinstance(upstream, bool) or not isinstance(upstream, (int, float)):
        raise TypeError(
            f"{name}(reduction={loss.reduction!r}).backward(grad) takes one number, got {type(upstream).__name__}"
        )
    return float(upstream)


class ElementwiseLoss(Loss):
    """A loss computed element by element from a prediction and a target of the same shape; its
    helpers reduce the per-element losses and scale their gradient as `reduction` says."""

    def check_same_shape(self, prediction, target):
        if not isinstance(target, Tensor):
            raise TypeError(f"{type(self).__name__} expects the target as a lamina Tensor, "
                            f"got {type(target).__name__}")
        if prediction.shape != target.shape:
            raise ShapeError(f"{type(self).__name__} got prediction of shape {prediction.shape} and target of "
                             f"shape {target.shape}; they must match")

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


@component
class MSELoss(ElementwiseLoss):
    """Mean squared error: mean((prediction - target)^2)."""

    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        self.difference = prediction - target
        return self.reduce(self.difference ** 2)

    def backward(self, grad=None):
        d = self.difference
        return times_upstream(self, d * (2.0 * self.reduction_scale(d.numel())), grad, d.shape)


@component
class L1Loss(ElementwiseLoss):
    """Mean absolute error: mean(|prediction - target|); the gradient is sign(prediction - target)."""

    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        self.difference = prediction - target
        return self.reduce(self.difference.abs())

    def backward(self, grad=None):
        d = self.difference
        return times_upstream(self, d.sign() * self.reduction_scale(d.numel()), grad, d.shape)


@component
class HuberLoss(ElementwiseLoss):
    """Squared error near zero, absolute error beyond delta:
    0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) elsewhere; the gradient is d clamped to
    [-delta, delta]."""

    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))
    delta: float = field(default=1.0, validator=[number, greater_than(0)])

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        d = self.difference = prediction - target
        size = d.abs()
        quadratic = d ** 2 * 0.5
        linear = (size - 0.5 * self.delta) * self.delta
        return self.reduce(lamina.where(size <= self.delta, quadratic, linear))

    def backward(self, grad=None):
        d = self.difference
        return times_upstream(self, d.clamp(-self.delta, self.delta) * self.reduction_scale(d.numel()), grad, d.shape)


def weight_list(name):
    """A per-column weight given as a list of numbers (or a one-row Tensor), kept as a list so the
    loss's config stays plain data."""

    def convert(value):
        if value is None:
            return None
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
            value = value[0]
        if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            raise TypeError(f"{name} must be a list of numbers, one per column, got {value!r}")
        return [float(v) for v in value]

    return convert


def column_weights(loss, name, values, prediction, unit, broadcast=False):
    """A weight list as a (1, columns) row tensor on the prediction's backend, None staying None;
    with broadcast, one value stands for every column."""
    if values is None:
        return None
    columns = prediction.shape[1]
    if len(values) != columns and not (broadcast and len(values) == 1):
        raise ShapeError(
            f"{type(loss).__name__} got {len(values)} {name} values for a prediction with {columns} {unit}"
        )
    return lamina.tensor([values]).to(prediction.backend)


def _outside_0_1(values):
    """The first value outside [0, 1], or None. Comparisons with nan are false on every backend, so a
    nan passes and the loss is nan: a diverged run, which the Trainer reports (or TerminateOnNaN stops on)."""
    # Quickly, for the usual batch: both extremes in [0, 1]. A nan cannot hide a value outside: numpy's
    # min and max return the nan (the test fails and the count below decides), Python's return the nan
    # or skip it, never a value inside [0, 1] while one outside is there.
    if values.amin() >= 0.0 and values.amax() <= 1.0:
        return None
    if not ((values < 0.0) + (values > 1.0)).sum():
        return None
    return next(v for v in values.reshape(-1).tolist() if v < 0.0 or v > 1.0)


def check_probabilities(loss, prediction, target):
    """Refuse what PyTorch's BCELoss refuses, values outside [0, 1], in one line that says which
    side is wrong and what to use instead."""
    value = _outside_0_1(prediction)
    bad_target = _outside_0_1(target) if value is None else None
    if value is None and bad_target is None:
        return
    name, columns = type(loss).__name__, prediction.shape[1]
    width = f"{columns} output{'s' if columns != 1 else ''}"
    if value is not None:
        raise ValueError(
            f"{name} predictions must be probabilities in [0, 1], got {value} from a model with {width}; "
            "end the model with Sigmoid, or give the logits to BCEWithLogitsLoss"
        )
    high, hint = target.max(), ""
    if float(high).is_integer() and high > 1.0 and target.min() >= 0.0:
        classes = int(high) + 1
        hint = f"; for {classes} classes use CrossEntropyLoss with {classes} outputs, one per class"
    raise ValueError(f"{name} targets must be in [0, 1], got {bad_target} for a model with {width}{hint}")


@component
class BCELoss(ElementwiseLoss):
    """Binary cross-entropy of probabilities: -w (t log p + (1 - t) log(1 - p)).

    p is clipped to [eps, 1 - eps] (as in the lesson) so that a saturated Sigmoid never gives
    log(0); the gradient uses PyTorch's form w (p - t) / (p (1 - p)). `weight` (one number per
    column, or one for all) rescales each column's loss and is broadcast over the batch, as
    PyTorch's; the mean still divides by the number of elements."""

    weight: list | None = field(default=None, converter=weight_list("BCELoss weight"))
    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))
    eps: float = 1e-7

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        check_probabilities(self, prediction, target)
        p = prediction.clamp(self.eps, 1.0 - self.eps)
        self.p, self.target, self.one_minus_p = p, target, 1.0 - p  # 1 - p: the backward needs it too
        self.column_weight = None if self.weight is None else column_weights(
            self, "weight", self.weight, prediction, "columns", broadcast=True)
        log_q = self.one_minus_p.log()
        losses = target * (log_q - p.log()) - log_q  # -(t log p + (1 - t) log(1 - p)), in two passes fewer
        if self.column_weight is not None:
            losses = losses * self.column_weight
        return self.reduce(losses)

    def backward(self, grad=None):
        p, t = self.p, self.target
        slope = (p - t) / (self.one_minus_p * p)
        if self.column_weight is not None:
            slope = slope * self.column_weight
        return times_upstream(self, slope * self.reduction_scale(p.numel()), grad, p.shape)


@component
class BCEWithLogitsLoss(ElementwiseLoss):
    """Sigmoid then binary cross-entropy in one stable step, on logits x:
    max(x, 0) - x t + log(1 + e^-|x|), which never overflows; the gradient is sigmoid(x) - t.

    `pos_weight` (one number per column) weighs the positive term, `weight` rescales each column's
    loss, as in PyTorch."""

    weight: list | None = field(default=None, converter=weight_list("BCEWithLogitsLoss weight"))
    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))
    pos_weight: list | None = field(default=None, converter=weight_list("BCEWithLogitsLoss pos_weight"))

    def forward(self, prediction, target):
        self.check_same_shape(prediction, target)
        x, t = prediction, target
        self.x, self.target = x, t
        self.column_weight = column_weights(self, "weight", self.weight, x, "columns", broadcast=True)
        positive = column_weights(self, "pos_weight", self.pos_weight, x, "columns", broadcast=True)
        # log(1 + e^-x) = max(-x, 0) + log(1 + e^-|x|): e^-|x| <= 1, so nothing overflows.
        softplus_of_minus_x = (-x).clamp(min=0.0) + (-x.abs()).exp().log1p()
        if positive is None:
            self.positive_scale = None
            losses = (1.0 - t) * x + softplus_of_minus_x
        else:
            # -(p t log s(x) + (1 - t) log(1 - s(x))) = (1 - t) x + (1 + (p - 1) t) log(1 + e^-x)
            self.positive_scale = (positive - 1.0) * t + 1.0
            losses = (1.0 - t) * x + self.positive_scale * softplus_of_minus_x
        if self.column_weight is not None:
            losses = losses * self.column_weight
        return self.reduce(losses)

    def backward(self, grad=None):
        x, t = self.x, self.target
        s = x.sigmoid()
        if self.positive_scale is None:
            slope = s - t
        else:
            slope = (1.0 - t) - self.positive_scale * (1.0 - s)
        if self.column_weight is not None:
            slope = slope * self.column_weight
        return times_upstream(self, slope * self.reduction_scale(x.numel()), grad, x.shape)


@lamina.hookimpl
def lamina_register_losses():
    return [MSELoss, BCELoss, L1Loss, HuberLoss, BCEWithLogitsLoss]
