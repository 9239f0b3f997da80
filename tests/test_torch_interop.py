"""Weights move between lamina and PyTorch with strict loading, and predict the same."""

import sys

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn, optim
from lamina.interop import torch_state_dict


def lamina_model():
    return nn.Sequential(
        nn.Linear(3, 6),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(6, 4, bias=False),
        nn.Tanh(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )


def torch_model(torch):
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Linear(3, 6),
        tnn.BatchNorm1d(6),
        tnn.ReLU(),
        tnn.Dropout(0.2),
        tnn.Linear(6, 4, bias=False),
        tnn.Tanh(),
        tnn.Linear(4, 1),
        tnn.Sigmoid(),
    )


def train_a_little(model):
    """Move every value off its initial one, running statistics and counters included."""
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.BCELoss()
    x = lamina.randn(12, 3)
    y = x.sum(1) > 0.0
    for _ in range(3):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()


def test_lamina_weights_load_into_pytorch_strictly_and_predict_the_same(torch):
    model = lamina_model()
    train_a_little(model)
    model.eval()
    reference = torch_model(torch).eval()
    reference.load_state_dict(torch_state_dict(model, like=reference), strict=True)
    assert reference[1].num_batches_tracked.item() == 3  # the counter arrives as PyTorch's int
    x = lamina.randn(7, 3)
    with torch.no_grad():
        expected = reference(to_torch(torch, x))
    assert_close(model(x), expected, tol=1e-12)


def test_pytorch_weights_load_into_lamina_strictly_and_predict_the_same(torch):
    torch.manual_seed(0)
    reference = torch_model(torch)
    reference.train()
    with torch.no_grad():
        reference(torch.randn(10, 3))  # running statistics away from (0, 1)
    reference.eval()
    model = lamina_model()
    assert model.load_state_dict(reference.state_dict(), strict=True) == ([], [])
    model.eval()
    x = lamina.randn(7, 3)
    with torch.no_grad():
        expected = reference(to_torch(torch, x))
    assert_close(model(x), expected, tol=1e-12)


def test_there_and_back_is_exact(torch):
    model = lamina_model()
    train_a_little(model)
    reference = torch_model(torch)
    reference.load_state_dict(
        torch_state_dict(model.state_dict(), like=reference.state_dict()), strict=True
    )
    back = lamina_model()
    back.load_state_dict(reference.state_dict(), strict=True)
    for key, value in model.state_dict().items():
        assert back.state_dict()[key].tolist() == value.tolist(), key


def test_a_mismatched_architecture_is_reported_by_pytorch_by_name(torch):
    reference = torch.nn.Sequential(torch.nn.Linear(3, 5))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight"):
        reference.load_state_dict(
            torch_state_dict(nn.Sequential(nn.Linear(3, 6)), like=reference), strict=True
        )


def test_without_pytorch_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"needs PyTorch installed \(pip install torch\)"):
        torch_state_dict(nn.Sequential(nn.Linear(2, 1)), like={})
