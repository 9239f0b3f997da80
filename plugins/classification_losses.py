"""NLLLoss and CrossEntropyLoss: class-index (or class-probability) targets, ignore_index, class
weights and label smoothing, as PyTorch 2.13."""

import lamina
from lamina.component import component, field, in_range, integer, number, one_of
from lamina.errors import ShapeError
from lamina.module import REDUCTIONS, Loss
from lamina.plugin_system.kinds import Example
from lamina.plugins.losses import column_weights, times_upstream, weight_list
from lamina.tensors import Tensor


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
    naming the loss for a wrong count, a non-integer or an out-of-range class (the prediction is
    checked by check_one_output_per_class first)."""
    name = type(loss).__name__
    rows, classes = prediction.shape
    if isinstance(target, Tensor):
        if target.shape not in ((rows,), (rows, 1)):
            raise ShapeError(
                f"{name} got a target of shape {target.shape} for a prediction of shape "
                f"{prediction.shape}; expected class indices as ({rows},) or ({rows}, 1)"
                + (f" or class probabilities as ({rows}, {classes})" if loss.accepts_probabilities else "")
            )
        values = target.tolist() if len(target.shape) == 1 else target.reshape(-1).tolist()
    elif isinstance(target, (list, tuple)):
        values = list(target)
    else:
        raise TypeError(f"{name} expects the target as a lamina Tensor or a list of ints, got {type(target).__name__}")
    if len(values) != rows:
        raise ShapeError(f"{name} got {len(values)} targets for a batch of {rows} predictions")
    if isinstance(target, Tensor):  # floats: the usual batch is whole classes in range, checked at C level
        try:
            indices = list(map(int, values))
        except (ValueError, OverflowError):  # nan, inf: named below
            indices = None
        if indices == values and min(indices, default=0) >= 0 and max(indices, default=0) < classes:
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


class _ClassificationLoss(Loss):
    """What NLLLoss and CrossEntropyLoss share: class-index targets, ignore_index and class weights.

    With weights w, sample i counts w[target[i]] times: the mean divides by the sum of those
    (over the samples not ignored), as PyTorch's does."""

    accepts_probabilities = False

    def _class_weights(self, prediction):
        """The weights as a (1, C) row, or 1.0 when every class counts the same."""
        if self.weight is None:
            return 1.0
        return column_weights(self, "weight", self.weight, prediction, "classes")

    def _index_targets(self, prediction, target):
        """(One-hot rows of the target classes, all zero where a target is ignore_index; whether any is.)
        A tensor of classes when ignore_index is no class (the usual batch) is checked by one_hot's
        kernels; anything else goes through class_indices, which names a target that is no class."""
        rows, classes = prediction.shape
        if isinstance(target, Tensor) and target.shape in ((rows,), (rows, 1)) and not 0 <= self.ignore_index < classes:
            try:
                return lamina.one_hot(target, classes).to(prediction.backend), False
            except ValueError:  # a target that is no class, or ignore_index: looked at one by one below
                pass
        indices = class_indices(self, prediction, target)
        if self.ignore_index not in indices:  # times 1.0 everywhere would change nothing
            return lamina.one_hot(indices, classes).to(prediction.backend), False
        kept = [i != self.ignore_index for i in indices]
        one_hot = lamina.one_hot([i if keep else 0 for i, keep in zip(indices, kept)], classes)
        return (one_hot * lamina.tensor([[1.0 if keep else 0.0] for keep in kept])).to(prediction.backend), True

    def _reduce(self, log_probs, q, count):
        """The loss from log-probabilities and the target distribution q (same shapes): each sample's is
        -sum_c q_c log p_c; the mean divides the total by `count` (nan if nothing counts, as PyTorch)."""
        if self.reduction == "none":
            return (log_probs * q).sum(1) * -1.0
        # The total by the kernels themselves, one product and one sum: this runs on every step.
        # 0.0 - so that a perfect prediction's loss is 0.0, not -0.0.
        backend = log_probs.backend
        total = 0.0 - backend.sum(backend.mul(log_probs.data, q.data), None)
        if self.reduction == "sum":
            return total
        return total / count if count else float("nan")

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
        check_one_output_per_class(self, prediction)
        self.chosen = self._index_targets(prediction, target)[0] * self._class_weights(prediction)
        self.count = self.chosen.sum()
        return self._reduce(prediction, self.chosen, self.count)

    def backward(self, grad=None):
        chosen = self.chosen
        return times_upstream(self, chosen * (-self._row_scale(self.count)), grad, (len(chosen),))


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
        weighted = isinstance(weights, Tensor)
        if isinstance(target, Tensor) and target.shape == prediction.shape:
            distribution, kept = target, 1.0  # class probabilities: the mean is over the rows
            self.count, self.one_hot_rows = rows, False
        else:
            distribution, ignoring = self._index_targets(prediction, target)
            kept = distribution.sum(1, keepdim=True) if self.label_smoothing else None  # 1 per sample, 0 where ignored
            # Rows of one 1.0 each (nothing ignored, weighted or smoothed): the count is the rows, and
            # the backward's sum(q) is 1.0, so multiplying by it is skipped (exact either way).
            self.one_hot_rows = not weighted and not self.label_smoothing and not ignoring
            self.count = rows if self.one_hot_rows else (distribution * weights if weighted else distribution).sum()
        e = self.label_smoothing
        if e:
            distribution = distribution * (1.0 - e) + kept * (e / classes)
        # (weights 1.0, every class counting the same, would multiply by 1.0: exact, and skipped)
        self.distribution = distribution * weights if weighted else distribution
        self.log_probs = prediction.log_softmax(1)
        return self._reduce(self.log_probs, self.distribution, self.count)

    def backward(self, grad=None):
        q, probabilities = self.distribution, self.log_probs.exp()
        slope = probabilities - q if self.one_hot_rows else probabilities * q.sum(1, keepdim=True) - q
        return times_upstream(self, slope * self._row_scale(self.count), grad, q.shape[:1])


@lamina.hookimpl
def lamina_register_losses():
    return [NLLLoss, CrossEntropyLoss]
