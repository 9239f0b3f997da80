"""Losses, with PyTorch's names, arguments and reductions ("mean", "sum", "none")."""

import math

import lamina
from lamina.component import Example, component, field, greater_than, in_range, integer, number, one_of
from lamina.errors import ShapeError
from lamina.module import REDUCTIONS, Loss
from lamina.tensors import Tensor


def times_upstream(loss, grad, upstream, shape):
    """dL/d(prediction) times the gradient arriving at the loss's output, as torch's
    `loss.backward(gradient=...)`: with reduction="none" one value per loss (per-sample weights,
    shaped like the losses), otherwise one number. None leaves the gradient as it is."""
    if upstream is None:
        return grad
    name = type(loss).__name__
    if loss.reduction == "none":
        if not isinstance(upstream, Tensor) or upstream.shape != shape:
            got = upstream.shape if isinstance(upstream, Tensor) else type(upstream).__name__
            raise ShapeError(
                f"{name}(reduction='none').backward(grad) needs grad shaped like the losses, {shape}, got {got}"
            )
        return grad * upstream.to(grad.backend)
    if isinstance(upstream, Tensor) and upstream.numel() == 1:
        upstream = upstream.item()
    if isinstance(upstream, bool) or not isinstance(upstream, (int, float)):
        raise TypeError(
            f"{name}(reduction={loss.reduction!r}).backward(grad) takes one number, got {type(upstream).__name__}"
        )
    return grad * float(upstream)


@component
class MSELoss(Loss):
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
class L1Loss(Loss):
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
class HuberLoss(Loss):
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
    # Quickly, for the usual batch: no nan (the sum would be nan) and both extremes in [0, 1]. With a
    # nan, min() and max() differ between backends (numpy's see it, Python's may not): count instead.
    if values.amin() >= 0.0 and values.amax() <= 1.0 and not math.isnan(values.sum()):
        return None
    if not ((values < 0.0) + (values > 1.0)).sum():
        return None
    return next(v for row in values.tolist() for v in row if v < 0.0 or v > 1.0)


def check_probabilities(loss, prediction, target):
    """Refuse what PyTorch's BCELoss refuses, values outside [0, 1], in one line that says which
    side is wrong and what to use instead."""
    name, columns = type(loss).__name__, prediction.shape[1]
    width = f"{columns} output{'s' if columns != 1 else ''}"
    value = _outside_0_1(prediction)
    if value is not None:
        raise ValueError(
            f"{name} predictions must be probabilities in [0, 1], got {value} from a model with {width}; "
            "end the model with Sigmoid, or give the logits to BCEWithLogitsLoss"
        )
    value = _outside_0_1(target)
    if value is not None:
        high = target.max()
        hint = ""
        if float(high).is_integer() and high > 1.0 and target.min() >= 0.0:
            classes = int(high) + 1
            hint = f"; for {classes} classes use CrossEntropyLoss with {classes} outputs, one per class"
        raise ValueError(f"{name} targets must be in [0, 1], got {value} for a model with {width}{hint}")


@component
class BCELoss(Loss):
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
        self.column_weight = column_weights(self, "weight", self.weight, prediction, "columns", broadcast=True)
        losses = -(target * p.log() + (1.0 - target) * self.one_minus_p.log())
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
class BCEWithLogitsLoss(Loss):
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


def check_one_output_per_class(loss, prediction):
    """A one-output model's log-softmax is always 0, so it would train at loss 0 and learn nothing;
    PyTorch accepts it silently, lamina refuses it."""
    if prediction.shape[1] < 2:
        raise ShapeError(
            f"{type(loss).__name__} got a prediction of shape {prediction.shape}, 1 output per sample: "
            "a classifier needs one output per class (at least 2); for a yes/no target use "
            "BCEWithLogitsLoss, or Sigmoid then BCELoss"
        )


def class_indices(loss, prediction, target):
    """Class-index targets as a list of ints, from an (N,) or (N, 1) tensor or a list of ints, with an error
    naming the loss for a wrong count, a non-integer or an out-of-range class."""
    name = type(loss).__name__
    rows, classes = prediction.shape
    check_one_output_per_class(loss, prediction)
    if isinstance(target, Tensor):
        if target.shape not in ((rows,), (rows, 1)):
            raise ShapeError(
                f"{name} got a target of shape {target.shape} for a prediction of shape "
                f"{prediction.shape}; expected class indices as ({rows},) or ({rows}, 1)"
                + (f" or class probabilities as ({rows}, {classes})" if loss.accepts_probabilities else "")
            )
        values = target.reshape(-1).tolist()
    elif isinstance(target, (list, tuple)):
        values = list(target)
    else:
        raise TypeError(f"{name} expects the target as a lamina Tensor or a list of ints, got {type(target).__name__}")
    if len(values) != rows:
        raise ShapeError(f"{name} got {len(values)} targets for a batch of {rows} predictions")
    if isinstance(target, Tensor):  # floats: the usual batch is whole classes in range, checked at C level
        indices = _whole_classes(values, classes)
        if indices is not None:
            return indices
    indices = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
            raise TypeError(f"{name} target {i} is {value!r}; class indices must be integers")
        index = int(value)
        if index != loss.ignore_index and not 0 <= index < classes:
            raise IndexError(
                f"{name} target {i} is class {index}, outside 0..{classes - 1}: the model has "
                f"{classes} outputs, one per class, so {classes} classes"
            )
        indices.append(index)
    return indices


def _whole_classes(values, classes):
    """`values` (floats) as ints if all are whole classes in 0..classes-1, else None (then
    class_indices looks at them one by one, to name the first that is not)."""
    try:
        indices = list(map(int, values))
    except (ValueError, OverflowError):  # nan, inf
        return None
    if indices == values and min(indices, default=0) >= 0 and max(indices, default=0) < classes:
        return indices
    return None


class _ClassificationLoss(Loss):
    """What NLLLoss and CrossEntropyLoss share: class-index targets, ignore_index and class weights.

    With weights w, sample i counts w[target[i]] times: the mean divides by the sum of those
    (over the samples not ignored), as PyTorch's does."""

    accepts_probabilities = False

    def _class_weights(self, prediction):
        """The weights as a (1, C) row, or 1.0 when every class counts the same."""
        row = column_weights(self, "weight", self.weight, prediction, "classes")
        return 1.0 if row is None else row

    def _index_targets(self, prediction, indices):
        """One-hot rows of the target classes, all zero where the target is ignore_index."""
        kept = [i != self.ignore_index for i in indices]
        one_hot = lamina.one_hot([i if keep else 0 for i, keep in zip(indices, kept)], prediction.shape[1])
        if not all(kept):  # (times 1.0 everywhere would change nothing: skipped when nothing is ignored)
            one_hot = one_hot * lamina.tensor([[1.0 if keep else 0.0] for keep in kept])
        return one_hot.to(prediction.backend)

    def _reduce_rows(self, losses, count):
        """Reduce per-sample losses; the mean divides by `count` (nan if nothing counts, as PyTorch)."""
        if self.reduction == "mean":
            return losses.sum() / count if count else float("nan")
        return self.reduce(losses)

    def _row_scale(self, count):
        # With nothing counted the mean is nan, but no sample contributes to it, so the
        # gradient is zero, as PyTorch's: a nan here would turn every weight into nan.
        if self.reduction == "mean":
            return 1.0 / count if count else 0.0
        return 1.0


@component
class NLLLoss(_ClassificationLoss):
    """Negative log-likelihood of log-probabilities (LogSoftmax's output) at each target class:
    -weight[t] log_probs[i, t] for t = target[i]; targets are class indices, an (N,) tensor as in
    PyTorch, an (N, 1) tensor or a list of ints."""

    conformance_examples = [
        Example(inputs=lambda: (lamina.randn(5, 3).log_softmax(1), lamina.tensor([[0.0], [2.0], [1.0], [1.0], [0.0]])))
    ]

    weight: list | None = field(default=None, converter=weight_list("NLLLoss weight"))
    ignore_index: int = field(default=-100, validator=integer)
    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))

    def forward(self, prediction, target):
        indices = class_indices(self, prediction, target)
        self.chosen = self._index_targets(prediction, indices) * self._class_weights(prediction)
        self.count = self.chosen.sum()
        return self._reduce_rows((prediction * self.chosen).sum(1) * -1.0, self.count)

    def backward(self, grad=None):
        chosen = self.chosen
        return times_upstream(self, chosen * (-self._row_scale(self.count)), grad, (len(chosen), 1))


@component
class CrossEntropyLoss(_ClassificationLoss):
    """Cross-entropy of logits: LogSoftmax then NLLLoss in one stable step.

    The target is class indices (an (N,) or (N, 1) tensor or a list of ints) or class probabilities (an
    (N, C) tensor). label_smoothing = e mixes the target with the uniform distribution,
    q = (1 - e) target + e / C, and class weights scale it, q_c w_c. The loss per sample is
    -sum_c q_c log_softmax(x)_c, and its gradient softmax(x) sum(q) - q."""

    accepts_probabilities = True
    conformance_examples = [
        Example(inputs=lambda: (lamina.randn(5, 3), lamina.tensor([[0.0], [2.0], [1.0], [1.0], [0.0]]))),
        Example(inputs=lambda: (lamina.randn(5, 3), lamina.tensor([0.0, 2.0, 1.0, 1.0, 0.0]))),
        Example(kwargs={"label_smoothing": 0.1}, inputs=lambda: (lamina.randn(5, 3), lamina.rand(5, 3).softmax(1))),
    ]

    weight: list | None = field(default=None, converter=weight_list("CrossEntropyLoss weight"))
    ignore_index: int = field(default=-100, validator=integer)
    reduction: str = field(default="mean", validator=one_of(*REDUCTIONS))
    label_smoothing: float = field(default=0.0, validator=[number, in_range(0, 1)])

    def forward(self, prediction, target):
        check_one_output_per_class(self, prediction)
        rows, classes = prediction.shape
        weights = self._class_weights(prediction)
        if isinstance(target, Tensor) and target.shape == prediction.shape:
            distribution, kept = target, 1.0  # class probabilities: the mean is over the rows
            self.count = rows
        else:
            distribution = self._index_targets(prediction, class_indices(self, prediction, target))
            kept = distribution.sum(1, keepdim=True) if self.label_smoothing else None  # 1 per sample, 0 where ignored
            self.count = (distribution * weights).sum() if isinstance(weights, Tensor) else distribution.sum()
        e = self.label_smoothing
        if e:
            distribution = distribution * (1.0 - e) + kept * (e / classes)
        # (weights 1.0, every class counting the same, would multiply by 1.0: exact, and skipped)
        self.distribution = distribution * weights if isinstance(weights, Tensor) else distribution
        self.log_probs = prediction.log_softmax(1)
        return self._reduce_rows((self.log_probs * self.distribution).sum(1) * -1.0, self.count)

    def backward(self, grad=None):
        q = self.distribution
        slope = self.log_probs.exp() * q.sum(1, keepdim=True) - q
        return times_upstream(self, slope * self._row_scale(self.count), grad, (len(q), 1))


@lamina.hookimpl
def lamina_register_losses():
    return [MSELoss, BCELoss, L1Loss, HuberLoss, BCEWithLogitsLoss, NLLLoss, CrossEntropyLoss]
