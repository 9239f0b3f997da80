"""Metrics: accuracy (binary by threshold, multiclass by argmax), mean absolute error, and metrics
as a registry kind the Trainer finds by name."""

import pytest

import lamina
from conftest import to_torch
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")


def metric(name):
    return lamina.registry().get("metrics", name)


def test_binary_accuracy_thresholds_probabilities_at_one_half():
    prediction = lamina.tensor([[0.49], [0.5], [0.9], [0.1], [0.7]])
    target = lamina.tensor([[1.0], [1.0], [0.0], [0.0], [1.0]])
    assert metric("accuracy")(prediction, target) == 3 / 5


def test_multiclass_accuracy_takes_the_argmax_with_one_hot_or_index_targets():
    scores = lamina.tensor([[0.1, 0.7, 0.2], [2.0, -1.0, 0.3], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    indices = [1, 2, 2, 0]
    assert metric("accuracy")(scores, lamina.one_hot(indices, 3)) == 2 / 4
    assert metric("accuracy")(scores, lamina.tensor([[i] for i in indices])) == 2 / 4


def test_mae_matches_pytorch_l1_loss(torch):
    prediction = lamina.randn(6, 3)
    target = lamina.randn(6, 3)
    expected = torch.nn.L1Loss()(to_torch(torch, prediction), to_torch(torch, target)).item()
    assert metric("mae")(prediction, target) == pytest.approx(expected, rel=1e-12)


def test_metric_shape_mistakes_say_what_was_expected():
    with pytest.raises(lamina.ShapeError, match="accuracy got 3 predictions but 2 targets"):
        metric("accuracy")(lamina.zeros(3, 1), lamina.zeros(2, 1))
    with pytest.raises(lamina.ShapeError, match="3 class scores per sample but targets with 2 columns"):
        metric("accuracy")(lamina.zeros(2, 3), lamina.zeros(2, 2))
    with pytest.raises(lamina.ShapeError, match=r"mae got prediction of shape \(2, 2\)"):
        metric("mae")(lamina.zeros(2, 2), lamina.zeros(2, 1))


def test_a_registered_metric_is_found_by_name_and_averaged_per_sample():
    @lamina.register("metrics", "max_abs_error", override=True)
    def max_abs_error(prediction, target):
        return (prediction - target).abs().max()

    x = lamina.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])
    y = lamina.tensor([[0.0], [0.0], [0.0], [0.0], [10.0]])
    model = nn.Linear(1, 1)
    model.weight.copy_(lamina.tensor([[1.0]]))
    model.bias.copy_(lamina.tensor([[0.0]]))
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             metrics=["max_abs_error", "mae"])
    results = trainer.evaluate(DataLoader(TensorDataset(x, y), batch_size=2))  # batches of 2, 2, 1
    assert results["max_abs_error"] == pytest.approx((2 * 2 + 2 * 4 + 1 * 5) / 5)
    assert results["mae"] == pytest.approx((1 + 2 + 3 + 4 + 5) / 5)


def test_an_unknown_metric_name_lists_the_registered_ones():
    model = nn.Linear(1, 1)
    with pytest.raises(lamina.UnknownComponentError, match="Did you mean accuracy"):
        lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["acuracy"])
