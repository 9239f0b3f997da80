"""Weight decay is one plugin that every optimizer gets, a third party's included.

`PlainDescent` below stands for an optimizer from another package: its update rule is p -= lr * g
and it has no weight-decay code, yet `weight_decay=` and `decoupled_weight_decay=` work on it, and
it follows an LR schedule through its param groups' `lr`.
"""

import math

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import optim
from lamina.component import at_least, component, field, number

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

STEPS, LR, DECAY, T_MAX = 50, 0.1, 0.05, 20


@lamina.register("optimizers", override=True)
@component
class PlainDescent(optim.Optimizer):
    """p -= lr * g, and nothing else."""

    lr: float = field(default=0.1, validator=[number, at_least(0.0)])

    def update(self, param, grad, state, group):
        param.sub_(grad * group["lr"])


def gradient_sequence(shape):
    return [lamina.randn(*shape) for _ in range(STEPS)]


def test_the_registered_optimizer_is_reachable_by_name():
    assert optim.PlainDescent is PlainDescent
    assert {"l2", "decoupled"} <= set(lamina.registry().names("weight_decay"))


def test_coupled_decay_and_cosine_schedule_match_torch_sgd(torch):
    param = lamina.Parameter(lamina.randn(3, 4))
    reference = to_torch(torch, param).requires_grad_(True)
    opt = optim.PlainDescent([param], lr=LR, weight_decay=DECAY)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T_MAX)
    torch_opt = torch.optim.SGD([reference], lr=LR, weight_decay=DECAY)
    torch_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=T_MAX)
    for grad in gradient_sequence(param.shape):
        param.grad, reference.grad = grad, to_torch(torch, grad)
        opt.step()
        torch_opt.step()
        schedule.step()
        torch_schedule.step()
        assert_close(schedule.get_last_lr(), torch_schedule.get_last_lr(), tol=1e-13)
    assert_close(param, reference, tol=1e-12)


def test_decoupled_decay_and_cosine_schedule_match_a_hand_computation():
    param = lamina.Parameter(lamina.randn(3, 4))
    expected = param.tolist()
    opt = optim.PlainDescent([param], lr=LR, weight_decay=DECAY, decoupled_weight_decay=True)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T_MAX)
    for step, grad in enumerate(gradient_sequence(param.shape)):
        lr = LR * (1 + math.cos(math.pi * step / T_MAX)) / 2
        # decoupled: the parameter shrinks by lr * wd, and the gradient step ignores the decay
        expected = [
            [p * (1 - lr * DECAY) - lr * g for p, g in zip(p_row, g_row)]
            for p_row, g_row in zip(expected, grad.tolist())
        ]
        param.grad = grad
        opt.step()
        schedule.step()
    assert_close(param, expected, tol=1e-12)


def test_decoupled_is_not_coupled():
    """The two styles give different parameters, so the tests above tell them apart."""
    results = []
    for decoupled in (False, True):
        lamina.manual_seed(0)
        param = lamina.Parameter(lamina.randn(2, 2))
        opt = optim.Adam([param], lr=0.1, weight_decay=0.5, decoupled_weight_decay=decoupled)
        for _ in range(5):
            param.grad = lamina.ones(2, 2)
            opt.step()
        results.append(param.tolist())
    assert abs(results[0][0][0] - results[1][0][0]) > 1e-3


def test_parameters_without_gradients_are_not_decayed():
    used, unused = lamina.Parameter(lamina.ones(1, 2)), lamina.Parameter(lamina.ones(1, 2))
    opt = optim.PlainDescent([used, unused], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    used.grad = lamina.zeros(1, 2)
    opt.step()
    assert used.tolist() == [[0.95, 0.95]]
    assert unused.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("value", [-0.1, "0.1"])
def test_bad_weight_decay_names_the_argument(value):
    with pytest.raises((ValueError, TypeError), match=r"PlainDescent\(weight_decay="):
        optim.PlainDescent([lamina.Parameter(lamina.ones(1, 1))], weight_decay=value)
