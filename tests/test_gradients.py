"""Every built-in module and loss against float64 central differences."""

import pytest

import lamina
from lamina import nn
from lamina.testing.gradcheck import check_loss_gradients, check_module_gradients

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")


def batch(rows=5, cols=3, scale=1.0):
    return lamina.randn(rows, cols) * scale


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Linear(3, 4),
        lambda: nn.Linear(3, 2, bias=False),
        lambda: nn.ReLU(),
        lambda: nn.Sigmoid(),
        lambda: nn.Tanh(),
        lambda: nn.Dropout(0.4),
        lambda: nn.BatchNorm1d(3),
        lambda: nn.BatchNorm1d(3, affine=False),
        lambda: nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 1), nn.Sigmoid()),
    ],
    ids=["linear", "linear-nobias", "relu", "sigmoid", "tanh", "dropout", "batchnorm", "batchnorm-noaffine", "sequential"],
)
def test_module_gradients(make, training):
    module = make().train(training)
    if isinstance(module, nn.BatchNorm1d) or isinstance(module, nn.Sequential):
        module.train()  # accumulate some running statistics before an eval-mode check
        module(batch())
        module.train(training)
    check_module_gradients(module, batch())


def test_relu_gradient_away_from_the_kink():
    x = lamina.tensor([[-1.0, 0.5], [2.0, -0.25]])
    check_module_gradients(nn.ReLU(), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_gradients(reduction):
    check_loss_gradients(nn.MSELoss(reduction=reduction), batch(4, 2), batch(4, 2))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_gradients(reduction):
    prediction = lamina.rand(6, 1, 0.05, 0.95)
    target = (lamina.rand(6, 1) > 0.5) * 1.0
    check_loss_gradients(nn.BCELoss(reduction=reduction), prediction, target)


def test_a_wrong_backward_fails_the_check():
    class BrokenTanh(nn.Module):
        def forward(self, x):
            self.out = x.tanh()
            return self.out

        def backward(self, grad):
            return grad * (1.0 - self.out)  # should be 1 - out**2

    with pytest.raises(AssertionError, match="gradient check failed"):
        check_module_gradients(BrokenTanh(), batch())
