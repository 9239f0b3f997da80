"""Adam's fused kernel takes fewer passes but must give exactly the unfused update's numbers, on
every backend (the `backend` fixture runs each test once per backend)."""

import pytest

import lamina
from lamina import nn, optim


def trajectory(fused, steps=30, **options):
    lamina.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.05, fused=fused, **options)
    x, y = lamina.randn(8, 3), lamina.randn(8, 2)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return [p.tolist() for p in model.parameters()], opt


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True}])
def test_fused_and_unfused_adam_are_bit_identical(options, backend):
    fused, _ = trajectory(True, **options)
    unfused, _ = trajectory(False, **options)
    assert fused == unfused
    assert fused != trajectory(False, steps=29, **options)[0]  # the comparison can tell steps apart


def test_fused_state_round_trips_into_unfused(backend):
    _, opt = trajectory(True)
    state = opt.state_dict()
    assert all(isinstance(s["exp_avg"], lamina.Tensor) for s in state["state"].values())
    assert {s["exp_avg"].backend.name for s in state["state"].values()} == {backend.name}
