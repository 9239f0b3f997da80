"""The lesson's network and BatchNorm1d agree with PyTorch (float64) to 1e-9: forward output,
input gradient, parameter gradients and running statistics, from identical weights."""

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")


def lesson_network():
    return nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
        nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid(),
    )


def torch_twin(torch, model, layers):
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: to_torch(torch, v).reshape(twin.state_dict()[k].shape) for k, v in model.state_dict().items()})
    return twin


def test_lesson_network_matches_pytorch(torch):
    model = lesson_network()
    T = torch.nn
    twin = torch_twin(torch, model, [T.Linear(2, 16), T.ReLU(), T.Linear(16, 16), T.ReLU(),
                                     T.Linear(16, 8), T.ReLU(), T.Linear(8, 1), T.Sigmoid()])
    x, target = lamina.randn(32, 2), (lamina.rand(32, 1) > 0.5) * 1.0
    loss_fn = nn.BCELoss()

    loss = loss_fn(model(x), target)
    model.backward(loss_fn.backward())
    grad_x = model.backward(loss_fn.backward())  # a second backward: parameter gradients double

    tx = to_torch(torch, x).requires_grad_()
    t_loss = T.BCELoss()(twin(tx), to_torch(torch, target))
    t_loss.backward()
    assert abs(loss - t_loss.item()) <= 1e-12
    assert_close(model(x), twin(tx))
    assert_close(grad_x, tx.grad)
    for (name, p), (t_name, tp) in zip(model.named_parameters(), twin.named_parameters()):
        assert name == t_name
        assert_close(p.grad * 0.5, tp.grad.reshape(p.shape))


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_pytorch_in_training_and_eval(torch, affine):
    bn = nn.BatchNorm1d(4, eps=1e-5, momentum=0.1, affine=affine)
    if affine:
        bn.weight.copy_(lamina.randn(1, 4) + 1.0)
        bn.bias.copy_(lamina.randn(1, 4))
    twin = torch.nn.BatchNorm1d(4, eps=1e-5, momentum=0.1, affine=affine)
    if affine:
        twin.load_state_dict({k: to_torch(torch, v).reshape(twin.state_dict()[k].shape) for k, v in bn.state_dict().items()})

    for step in range(3):  # several batches, so the running statistics accumulate
        x = lamina.randn(10, 4) * (step + 1.0) + step
        upstream = lamina.randn(10, 4)
        out = bn(x)
        grad_x = bn.backward(upstream)
        tx = to_torch(torch, x).requires_grad_()
        t_out = twin(tx)
        t_out.backward(to_torch(torch, upstream))
        assert_close(out, t_out)
        assert_close(grad_x, tx.grad)
        if affine:
            assert_close(bn.weight.grad, twin.weight.grad.reshape(1, 4))
            assert_close(bn.bias.grad, twin.bias.grad.reshape(1, 4))
            bn.zero_grad()
            twin.zero_grad()
    assert_close(bn.running_mean, twin.running_mean)
    assert_close(bn.running_var, twin.running_var)
    assert bn.num_batches_tracked.item() == twin.num_batches_tracked.item() == 3

    bn.eval()
    twin.eval()
    x, upstream = lamina.randn(6, 4), lamina.randn(6, 4)
    tx = to_torch(torch, x).requires_grad_()
    t_out = twin(tx)
    t_out.backward(to_torch(torch, upstream))
    assert_close(bn(x), t_out)
    assert_close(bn.backward(upstream), tx.grad)


def test_state_dict_keys_are_pytorchs(torch):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert list(model.state_dict()) == list(twin.state_dict())
