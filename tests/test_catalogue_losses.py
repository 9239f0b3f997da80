"""The catalogue's losses: gradient checks and PyTorch parity in every reduction and target form,
the course's printed values, and the errors a user can cause."""

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn
from lamina.testing.gradcheck import check_loss_gradients

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

REDUCTIONS = ["mean", "sum", "none"]
ROWS, CLASSES = 6, 4


def regression_pair():
    return lamina.randn(ROWS, 3) * 2.0, lamina.randn(ROWS, 3) * 2.0


def logits_and_binary_targets():
    return lamina.randn(ROWS, 3) * 3.0, (lamina.rand(ROWS, 3) > 0.5) * 1.0


def probability_pair():
    return lamina.rand(ROWS, 3, 0.05, 0.95), lamina.rand(ROWS, 3)


def index_column(ignored_row=None):
    indices = [float(i % CLASSES) for i in (3, 0, 2, 1, 1, 3)]
    if ignored_row is not None:
        indices[ignored_row] = -100.0
    return lamina.tensor([[i] for i in indices])


def probabilities():
    return lamina.rand(ROWS, CLASSES, 0.1, 1.0).softmax(1)


def as_list(column):
    return [int(row[0]) for row in column.tolist()]


# name -> (lamina loss factory, torch loss factory, data builder, prediction transform for torch)
# The data builder returns (prediction, target); the target is a Tensor or a list of ints.
CASES = {
    "bce": (lambda r: nn.BCELoss(reduction=r), lambda t, r: t.nn.BCELoss(reduction=r), probability_pair),
    "bce_weight": (
        lambda r: nn.BCELoss(weight=[0.3, 1.0, 2.0], reduction=r),
        lambda t, r: t.nn.BCELoss(weight=t.tensor([0.3, 1.0, 2.0]), reduction=r),
        probability_pair,
    ),
    "bce_one_weight": (
        lambda r: nn.BCELoss(weight=[2.5], reduction=r),
        lambda t, r: t.nn.BCELoss(weight=t.tensor([2.5]), reduction=r),
        probability_pair,
    ),
    "l1": (lambda r: nn.L1Loss(reduction=r), lambda t, r: t.nn.L1Loss(reduction=r), regression_pair),
    "huber": (lambda r: nn.HuberLoss(reduction=r), lambda t, r: t.nn.HuberLoss(reduction=r), regression_pair),
    "huber_delta_0.7": (
        lambda r: nn.HuberLoss(reduction=r, delta=0.7),
        lambda t, r: t.nn.HuberLoss(reduction=r, delta=0.7),
        regression_pair,
    ),
    "bce_with_logits": (
        lambda r: nn.BCEWithLogitsLoss(reduction=r),
        lambda t, r: t.nn.BCEWithLogitsLoss(reduction=r),
        logits_and_binary_targets,
    ),
    "bce_with_logits_weights": (
        lambda r: nn.BCEWithLogitsLoss(reduction=r, pos_weight=[2.0, 0.5, 1.5], weight=[0.3, 1.0, 2.0]),
        lambda t, r: t.nn.BCEWithLogitsLoss(
            reduction=r, pos_weight=t.tensor([2.0, 0.5, 1.5]), weight=t.tensor([0.3, 1.0, 2.0])
        ),
        logits_and_binary_targets,
    ),
    "nll_column": (
        lambda r: nn.NLLLoss(reduction=r),
        lambda t, r: t.nn.NLLLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES).log_softmax(1), index_column()),
    ),
    "nll_list": (
        lambda r: nn.NLLLoss(reduction=r),
        lambda t, r: t.nn.NLLLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES).log_softmax(1), as_list(index_column())),
    ),
    "nll_ignore_index": (
        lambda r: nn.NLLLoss(reduction=r),
        lambda t, r: t.nn.NLLLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES).log_softmax(1), index_column(ignored_row=2)),
    ),
    "cross_entropy_column": (
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, index_column()),
    ),
    "cross_entropy_list": (
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, as_list(index_column())),
    ),
    "cross_entropy_probabilities": (
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, probabilities()),
    ),
    "cross_entropy_column_smoothed": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, index_column()),
    ),
    "cross_entropy_list_smoothed": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, as_list(index_column())),
    ),
    "cross_entropy_probabilities_smoothed": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, probabilities()),
    ),
    "cross_entropy_ignore_index": (
        lambda r: nn.CrossEntropyLoss(reduction=r, ignore_index=1),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, ignore_index=1),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, index_column()),
    ),
    "cross_entropy_ignore_index_smoothed": (
        lambda r: nn.CrossEntropyLoss(reduction=r, ignore_index=-100, label_smoothing=0.1),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, ignore_index=-100, label_smoothing=0.1),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, index_column(ignored_row=0)),
    ),
    "nll_weighted_ignore_index": (
        lambda r: nn.NLLLoss(weight=[0.5, 2.0, 1.0, 3.0], reduction=r),
        lambda t, r: t.nn.NLLLoss(weight=t.tensor([0.5, 2.0, 1.0, 3.0]), reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES).log_softmax(1), index_column(ignored_row=4)),
    ),
    "cross_entropy_weighted": (
        lambda r: nn.CrossEntropyLoss(weight=[0.5, 2.0, 1.0, 3.0], reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(weight=t.tensor([0.5, 2.0, 1.0, 3.0]), reduction=r),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, as_list(index_column())),
    ),
    "cross_entropy_weighted_smoothed_ignore_index": (
        lambda r: nn.CrossEntropyLoss(weight=[0.5, 2.0, 1.0, 3.0], reduction=r, ignore_index=3, label_smoothing=0.3),
        lambda t, r: t.nn.CrossEntropyLoss(
            weight=t.tensor([0.5, 2.0, 1.0, 3.0]), reduction=r, ignore_index=3, label_smoothing=0.3
        ),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, index_column()),
    ),
    "cross_entropy_weighted_probabilities_smoothed": (
        lambda r: nn.CrossEntropyLoss(weight=[0.5, 2.0, 1.0, 3.0], reduction=r, label_smoothing=0.3),
        lambda t, r: t.nn.CrossEntropyLoss(weight=t.tensor([0.5, 2.0, 1.0, 3.0]), reduction=r, label_smoothing=0.3),
        lambda: (lamina.randn(ROWS, CLASSES) * 3.0, probabilities()),
    ),
}


def torch_target(torch, target, prediction):
    """PyTorch's form of a target: a 1-D long tensor of class indices, or a float tensor."""
    if isinstance(target, list):
        return torch.tensor(target, dtype=torch.long)
    if target.shape[1] == 1 and prediction.shape[1] > 1:
        return to_torch(torch, target).reshape(-1).long()
    return to_torch(torch, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES)
def test_gradients(case, reduction):
    make, _, data = CASES[case]
    prediction, target = data()
    check_loss_gradients(make(reduction), prediction, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_value_and_gradient(torch, case, reduction):
    make, make_torch, data = CASES[case]
    prediction, target = data()
    loss = make(reduction)
    value = loss(prediction, target)
    grad = loss.backward()

    p = to_torch(torch, prediction).requires_grad_()
    expected = make_torch(torch, reduction)(p, torch_target(torch, target, prediction))
    expected.sum().backward()
    if reduction == "none":
        assert value.shape == expected.shape  # (N,) per sample for class losses, as in PyTorch
        assert_close(value, expected.detach().reshape(value.shape))
    else:
        assert isinstance(value, float)
        assert_close(value, expected.item())
    assert_close(grad, p.grad)


def test_course_mse_value_and_gradient():
    loss = nn.MSELoss()
    value = loss(lamina.tensor([[0.9], [0.1], [0.7], [0.4]]), lamina.tensor([[1.0], [0.0], [1.0], [0.0]]))
    assert value == pytest.approx(0.0675, abs=1e-12)
    assert_close(loss.backward(), [[-0.05], [0.05], [-0.15], [0.2]], tol=1e-12)


@pytest.mark.parametrize("smoothing, expected", [(0.0, 0.455241), (0.1, 0.653241)])
@pytest.mark.parametrize("target", [[4], lamina.tensor([[4.0]])], ids=["list", "column"])
def test_course_cross_entropy(smoothing, expected, target):
    logits = lamina.tensor([[2.0, 1.0, 0.1, -1.0, 3.0]])
    value = nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, target)
    assert value == pytest.approx(expected, abs=1e-6)


def test_bce_with_logits_is_stable_for_huge_logits():
    loss = nn.BCEWithLogitsLoss(reduction="none")
    values = loss(lamina.tensor([[1000.0, -1000.0, 1000.0]]), lamina.tensor([[1.0, 0.0, 0.0]]))
    assert values.tolist() == [[0.0, 0.0, 1000.0]]
    assert loss.backward().tolist() == [[0.0, 0.0, 1.0]]


def test_cross_entropy_is_stable_for_huge_logits():
    value = nn.CrossEntropyLoss()(lamina.tensor([[1000.0, 0.0], [0.0, -1000.0]]), [1, 0])
    assert value == pytest.approx(500.0, rel=1e-15)


def test_cross_entropy_equals_log_softmax_then_nll():
    logits, target = lamina.randn(5, 3), [0, 2, 1, 1, 0]
    expected = nn.NLLLoss()(nn.LogSoftmax()(logits), target)
    assert nn.CrossEntropyLoss()(logits, target) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.NLLLoss()], ids=["cross_entropy", "nll"])
@pytest.mark.parametrize(
    "target, error, message",
    [
        (lamina.tensor([[0.0, 1.0]] * 3), lamina.ShapeError, r"target of shape \(3, 2\).*expected class indices as \(3,\) or \(3, 1\)"),
        ([0, 1], lamina.ShapeError, "got 2 targets for a batch of 3 predictions"),
        ([0, 1, 4], IndexError, "target 2 is class 4, outside 0..3"),
        (lamina.tensor([[0.0], [-1.0], [1.0]]), IndexError, "target 1 is class -1, outside 0..3"),
        (lamina.tensor([[0.0], [1.5], [1.0]]), TypeError, "target 1 is 1.5; class indices must be integers"),
        ("abc", TypeError, "expects the target as a lamina Tensor or a list of ints"),
        ([0, float("nan"), 1], TypeError, "target 1 is nan; class indices must be integers"),
    ],
)
def test_wrong_targets_are_explained(loss, target, error, message):
    with pytest.raises(error, match=message):
        loss(lamina.randn(3, 4), target)


def test_cross_entropy_names_probability_targets_as_an_option():
    with pytest.raises(lamina.ShapeError, match=r"or class probabilities as \(3, 4\)"):
        nn.CrossEntropyLoss()(lamina.randn(3, 4), lamina.randn(3, 2))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.HuberLoss(delta=0), "delta must be > 0"),
        (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), "label_smoothing must be in"),
        (lambda: nn.L1Loss(reduction="avg"), "reduction must be one of"),
        (lambda: nn.BCEWithLogitsLoss(pos_weight="heavy"), "pos_weight must be a list of numbers"),
        (lambda: nn.NLLLoss(ignore_index=0.5), "ignore_index must be an integer"),
    ],
)
def test_invalid_hyper_parameters_are_named(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_weight_counts_must_match_the_columns():
    with pytest.raises(lamina.ShapeError, match="got 2 weight values for a prediction with 3 columns"):
        nn.BCEWithLogitsLoss(weight=[1.0, 2.0])(lamina.randn(2, 3), lamina.zeros(2, 3))
    with pytest.raises(lamina.ShapeError, match="got 1 weight values for a prediction with 3 classes"):
        nn.CrossEntropyLoss(weight=[1.0])(lamina.randn(2, 3), [0, 1])


def test_weights_accept_a_row_tensor_and_stay_plain_data_in_the_config():
    loss = nn.CrossEntropyLoss(weight=lamina.tensor([[1.0, 2.0]]))
    assert lamina.config_of(loss) == {"weight": [1.0, 2.0], "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}


@pytest.mark.parametrize("case", CASES)
def test_backward_scales_by_an_upstream_gradient_as_pytorch(torch, case):
    """loss.backward(grad) with reduction="none": per-sample weights, as torch's loss.backward(gradient=w)."""
    make, make_torch, data = CASES[case]
    prediction, target = data()
    loss = make("none")
    each = loss(prediction, target)
    weights = lamina.rand(*each.shape, 0.1, 3.0)
    grad = loss.backward(weights)

    p = to_torch(torch, prediction).requires_grad_()
    expected = make_torch(torch, "none")(p, torch_target(torch, target, prediction))
    expected.backward(gradient=to_torch(torch, weights).reshape(expected.shape))
    assert_close(grad, p.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_backward_of_a_reduced_loss_takes_one_number(reduction):
    prediction, target = regression_pair()
    loss = nn.MSELoss(reduction=reduction)
    loss(prediction, target)
    assert_close(loss.backward(2.5), loss.backward() * 2.5, tol=1e-15)
    with pytest.raises(TypeError, match=r"backward\(grad\) takes one number, got Tensor"):
        loss.backward(lamina.ones(ROWS, 3))


def test_backward_grad_must_be_shaped_like_the_losses():
    loss = nn.CrossEntropyLoss(reduction="none")
    loss(lamina.randn(3, 4), [0, 1, 2])
    with pytest.raises(lamina.ShapeError, match=r"needs grad shaped like the losses, \(3,\), got \(3, 4\)"):
        loss.backward(lamina.ones(3, 4))


@pytest.mark.parametrize(
    "prediction, target, message",
    [
        ([[1.2], [0.5]], [[1.0], [0.0]], r"predictions must be probabilities in \[0, 1\], got 1.2 from a model with 1 output;"),
        ([[-0.1, 0.5]], [[1.0, 0.0]], r"predictions must be probabilities in \[0, 1\], got -0.1 from a model with 2 outputs"),
        ([[0.2], [0.5], [0.7]], [[2.0], [0.0], [1.0]], r"targets must be in \[0, 1\], got 2.0 for a model with 1 output; "
         "for 3 classes use CrossEntropyLoss with 3 outputs, one per class"),
        ([[0.2], [0.5]], [[-0.5], [0.0]], r"targets must be in \[0, 1\], got -0.5 for a model with 1 output$"),
    ],
)
def test_bce_refuses_values_outside_0_1_as_pytorch(torch, prediction, target, message):
    with pytest.raises(ValueError, match="BCELoss " + message):
        nn.BCELoss()(lamina.tensor(prediction), lamina.tensor(target))
    with pytest.raises(RuntimeError, match="should be between 0 and 1"):
        torch.nn.BCELoss()(torch.tensor(prediction), torch.tensor(target))


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.NLLLoss()], ids=["cross_entropy", "nll"])
@pytest.mark.parametrize("target", [[0, 0, 0], lamina.zeros(3, 1)], ids=["list", "column"])
def test_a_one_output_classifier_is_refused(loss, target):
    # PyTorch trains it at loss 0 and learns nothing; lamina says why in one line.
    with pytest.raises(lamina.ShapeError, match=r"shape \(3, 1\), 1 output per sample: a classifier needs one output per class"):
        loss(lamina.randn(3, 1), target)


def test_out_of_range_classes_name_the_class_count_and_output_width(torch):
    with pytest.raises(IndexError, match="target 1 is class 5, outside 0..3: the model has 4 outputs, one per class, so 4 classes"):
        nn.CrossEntropyLoss()(lamina.randn(3, 4), [0, 5, 1])
    with pytest.raises(IndexError, match="out of bounds"):
        torch.nn.CrossEntropyLoss()(torch.randn(3, 4), torch.tensor([0, 5, 1]))


ALL_IGNORED = {
    "nll": (lambda r: nn.NLLLoss(reduction=r), lambda t, r: t.nn.NLLLoss(reduction=r)),
    "nll_weighted": (
        lambda r: nn.NLLLoss(weight=[0.5, 2.0, 1.0, 3.0], reduction=r),
        lambda t, r: t.nn.NLLLoss(weight=t.tensor([0.5, 2.0, 1.0, 3.0]), reduction=r),
    ),
    "cross_entropy": (lambda r: nn.CrossEntropyLoss(reduction=r), lambda t, r: t.nn.CrossEntropyLoss(reduction=r)),
    "cross_entropy_smoothed": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", ALL_IGNORED)
def test_every_target_ignored_gives_pytorchs_loss_and_a_zero_gradient(torch, case, reduction):
    make, make_torch = ALL_IGNORED[case]
    prediction, target = lamina.randn(ROWS, CLASSES), [-100] * ROWS
    loss = make(reduction)
    value = loss(prediction, target)
    grad = loss.backward()

    p = to_torch(torch, prediction).requires_grad_()
    expected = make_torch(torch, reduction)(p, torch.tensor(target))
    expected.sum().backward()
    assert grad.tolist() == [[0.0] * CLASSES] * ROWS == p.grad.tolist()
    if reduction == "mean":
        assert value != value and expected.item() != expected.item()  # nan, as PyTorch
    elif reduction == "sum":
        assert value == expected.item() == 0.0
    else:
        assert value.tolist() == expected.detach().tolist()


def test_bce_weight_is_plain_data_in_the_config():
    assert lamina.config_of(nn.BCELoss(weight=lamina.tensor([[1.0, 2.0]]))) == {
        "weight": [1.0, 2.0], "reduction": "mean", "eps": 1e-7}


@pytest.mark.parametrize("make", [lambda: nn.CrossEntropyLoss(weight=[0.0, 1.0, 1.0, 1.0]),
                                  lambda: nn.NLLLoss(weight=[0.0, 1.0, 1.0, 1.0])], ids=["cross_entropy", "nll"])
def test_targets_that_all_weigh_zero_give_a_zero_gradient(make):
    # PyTorch's gradient is nan here, which would turn every weight into nan on the next step;
    # no sample counts, so lamina's is zero, as when every target is ignored.
    loss = make()
    value = loss(lamina.randn(3, CLASSES), [0, 0, 0])
    assert value != value
    assert loss.backward().tolist() == [[0.0] * CLASSES] * 3


def test_bce_lets_a_nan_prediction_through_to_a_nan_loss_on_every_backend():
    # A diverged run: the Trainer (or TerminateOnNaN) reports the nan loss in one line.
    for prediction in ([[0.3], [float("nan")]], [[float("nan")], [0.3]]):
        value = nn.BCELoss()(lamina.tensor(prediction), lamina.tensor([[1.0], [0.0]]))
        assert value != value
