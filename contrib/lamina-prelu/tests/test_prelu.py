"""lamina-prelu: lamina's conformance checks, and parity with torch.nn.PReLU in float64."""

import pytest

import lamina
from lamina import nn
from lamina.errors import ShapeError


@pytest.mark.lamina_conformance(distribution="lamina-prelu")
def test_conformance(lamina_check):
    lamina_check()


def test_prelu_is_reachable_and_provided_by_this_distribution():
    entry = lamina.registry().entry("modules", "PReLU")
    assert entry.provider.distribution == "lamina-prelu"
    assert nn.PReLU is entry.factory


def test_slopes_apply_to_negative_inputs_only():
    layer = nn.PReLU(num_parameters=2, init=0.5)
    out = layer(lamina.tensor([[-2.0, 3.0], [4.0, -1.0]]))
    assert out.tolist() == [[-1.0, 3.0], [4.0, -0.5]]


def test_one_slope_per_feature_needs_matching_features():
    with pytest.raises(ShapeError, match=r"PReLU\(num_parameters=3\) got input with 2 features \(batch of 1\)"):
        nn.PReLU(num_parameters=3)(lamina.tensor([[1.0, 2.0]]))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=0\): num_parameters must be >= 1, got 0"):
        nn.PReLU(num_parameters=0)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    return torch


@pytest.mark.parametrize("num_parameters", [1, 4])
def test_forward_and_backward_match_pytorch(torch, num_parameters):
    lamina.manual_seed(0)
    x = lamina.randn(6, 4)
    grad = lamina.randn(6, 4)
    ours = nn.PReLU(num_parameters=num_parameters, init=0.1)
    theirs = torch.nn.PReLU(num_parameters=num_parameters, init=0.1)
    slopes = lamina.randn(num_parameters)
    ours.load_state_dict({"weight": slopes})
    theirs.load_state_dict({"weight": torch.tensor(slopes.tolist())})

    x_torch = torch.tensor(x.tolist(), requires_grad=True)
    out_torch = theirs(x_torch)
    out_torch.backward(torch.tensor(grad.tolist()))
    out = ours(x)
    grad_x = ours.backward(grad)

    close = dict(rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.tensor(out.tolist()), out_torch.detach(), **close)
    torch.testing.assert_close(torch.tensor(grad_x.tolist()), x_torch.grad, **close)
    torch.testing.assert_close(torch.tensor(ours.weight.grad.tolist()), theirs.weight.grad, **close)


def test_a_pytorch_state_dict_loads_key_for_key(torch):
    theirs = torch.nn.PReLU(num_parameters=3, init=0.3)
    ours = nn.PReLU(num_parameters=3)
    ours.load_state_dict(theirs.state_dict())
    assert ours.weight.tolist() == [0.3, 0.3, 0.3]
