"""Gradient clipping against torch.nn.utils: the total norm returned and the clipped gradients."""

import math

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina.nn.utils import clip_grad_norm_, clip_grad_value_

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")


def parameters_with_gradients(scale=1.0):
    shapes = [(3, 4), (1, 3), (2, 3), (1, 2)]
    params = []
    for shape in shapes:
        p = lamina.Parameter(lamina.randn(*shape))
        p.grad = lamina.randn(*shape) * scale
        params.append(p)
    return params


def torch_copies(torch, params):
    copies = []
    for p in params:
        t = to_torch(torch, p).requires_grad_()
        t.grad = to_torch(torch, p.grad)
        copies.append(t)
    return copies


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clipped, and left alone
def test_clip_grad_norm_matches_pytorch(torch, norm_type, max_norm):
    params = parameters_with_gradients()
    reference = torch_copies(torch, params)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(reference, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert_close(total, expected.item())
    for p, t in zip(params, reference):
        assert_close(p.grad, t.grad)


def test_clipping_scales_the_norm_down_to_max_norm():
    params = parameters_with_gradients(scale=10.0)
    before = clip_grad_norm_(params, 1.0)
    after = math.sqrt(sum((p.grad ** 2).sum() for p in params))
    assert before > 10.0
    assert after == pytest.approx(1.0 * before / (before + 1e-6), rel=1e-12)


def test_parameters_without_gradients_are_skipped_and_a_single_parameter_is_accepted():
    params = parameters_with_gradients()
    params[1].grad = None
    single = clip_grad_norm_(params[0], 1e6)
    assert single == pytest.approx(math.sqrt((params[0].grad ** 2).sum()), rel=1e-15)
    expected = math.sqrt(sum((p.grad ** 2).sum() for p in params if p.grad is not None))
    assert clip_grad_norm_(params, 0.1) == pytest.approx(expected, rel=1e-15)
    assert params[1].grad is None
    assert clip_grad_norm_([lamina.Parameter(lamina.zeros(1, 2))], 1.0) == 0.0


# numpy, unlike Python floats and PyTorch, warns when inf * 0 makes a nan; the nan is the point here.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nonfinite_norm_raises_only_when_asked():
    params = parameters_with_gradients()
    params[0].grad = lamina.tensor([[math.inf] * 4] * 3)
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_(params, 1.0) == math.inf


@pytest.mark.parametrize("clip_value", [0.3, 5.0])
def test_clip_grad_value_matches_pytorch(torch, clip_value):
    params = parameters_with_gradients()
    reference = torch_copies(torch, params)
    assert clip_grad_value_(params, clip_value) is None
    torch.nn.utils.clip_grad_value_(reference, clip_value)
    for p, t in zip(params, reference):
        assert_close(p.grad, t.grad)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda ps: clip_grad_norm_(ps, "big"), TypeError, "max_norm must be a number"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=0), ValueError, "norm_type must be > 0 or inf"),
        (lambda ps: clip_grad_norm_(3.0, 1.0), TypeError, "expects a Parameter or an iterable of Parameters"),
        (lambda ps: clip_grad_norm_([ps[0], "w"], 1.0), TypeError, "expects Parameters, got str"),
        (lambda ps: clip_grad_value_(ps, -1.0), ValueError, "clip_value must be >= 0"),
    ],
)
def test_bad_arguments_are_explained(call, error, message):
    with pytest.raises(error, match=message):
        call(parameters_with_gradients())


def test_reachable_as_lamina_nn_utils():
    assert lamina.nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert lamina.nn.utils.clip_grad_value_ is clip_grad_value_
