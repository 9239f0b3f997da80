"""Weights move between lamina and PyTorch with strict loading, and predict the same."""

import sys

import pytest
from test_serialization import bits, trained_model

import lamina
from conftest import assert_close, to_torch
from lamina import nn
from lamina.component import config_of
from lamina.saving.torch_interop import torch_state_dict

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")


def torch_equivalent(torch, model):
    """The same layers in torch.nn, with the same arguments (lamina's `init` aside)."""
    layers = []
    for layer in model:
        arguments = {k: v for k, v in config_of(layer).items() if k != "init"}
        layers.append(getattr(torch.nn, type(layer).__name__)(**arguments))
    return torch.nn.Sequential(*layers)


def assert_same_predictions(torch, model, reference):
    x = lamina.randn(7, 3)
    with torch.no_grad():
        expected = reference(to_torch(torch, x))
    assert_close(model(x), expected, tol=1e-12)


def test_lamina_weights_load_into_pytorch_strictly_and_predict_the_same(torch):
    model, _, _ = trained_model()
    model.eval()
    reference = torch_equivalent(torch, model).eval()
    reference.load_state_dict(torch_state_dict(model, like=reference), strict=True)
    assert reference[1].num_batches_tracked.item() == 5  # the counter arrives as PyTorch's int
    assert_same_predictions(torch, model, reference)


def test_pytorch_weights_load_into_lamina_strictly_and_predict_the_same(torch):
    model, _, _ = trained_model()
    torch.manual_seed(0)
    reference = torch_equivalent(torch, model).train()
    with torch.no_grad():
        reference(torch.randn(10, 3))  # running statistics away from (0, 1)
    reference.eval()
    assert model.load_state_dict(reference.state_dict(), strict=True) == ([], [])
    model.eval()
    assert_same_predictions(torch, model, reference)


def test_there_and_back_is_exact(torch):
    model, _, _ = trained_model()
    reference = torch_equivalent(torch, model)
    reference.load_state_dict(torch_state_dict(model.state_dict(), like=reference.state_dict()), strict=True)
    back, _, _ = trained_model()
    back.load_state_dict(reference.state_dict(), strict=True)
    for key, value in model.state_dict().items():
        assert bits(back.state_dict()[key]) == bits(value), key


def test_a_mismatched_architecture_is_reported_by_pytorch_by_name(torch):
    reference = torch.nn.Sequential(torch.nn.Linear(3, 5))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight"):
        reference.load_state_dict(torch_state_dict(nn.Sequential(nn.Linear(3, 6)), like=reference), strict=True)


def test_without_pytorch_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"needs PyTorch installed \(pip install torch\)"):
        torch_state_dict(nn.Sequential(nn.Linear(2, 1)), like={})
