"""Adam's fused kernel takes fewer passes but must give exactly the unfused update's numbers, on
every backend that has one (the `backend` fixture runs each test once per backend)."""

import pytest

import lamina
from lamina import nn, optim
from lamina.plugins.python_backend import PythonBackend
from lamina.pure_python import PurePythonBackend

BACKENDS_CHECKED_HERE = {"python", "numpy"}  # the `backend` fixture's


def trajectory(fused, steps=30, resume_with=None, **options):
    """Weights after `steps` Adam steps; with `resume_with`, the optimizer is swapped half way for
    a fresh one (fused=resume_with) that loads the first one's state dict."""
    lamina.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.05, fused=fused, **options)
    x, y = lamina.randn(8, 3), lamina.randn(8, 2)
    loss_fn = nn.MSELoss()
    for step in range(steps):
        if resume_with is not None and step == steps // 2:
            state = opt.state_dict()
            opt = optim.Adam(model.parameters(), lr=0.05, fused=resume_with, **options)
            opt.load_state_dict(state)
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return [p.tolist() for p in model.parameters()], opt


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True}])
def test_fused_and_unfused_adam_are_bit_identical(options, backend):
    assert callable(getattr(backend, "adam_step", None))  # so that fused=True really fuses
    fused, _ = trajectory(True, **options)
    unfused, _ = trajectory(False, **options)
    assert fused == unfused
    assert fused != trajectory(False, steps=29, **options)[0]  # the comparison can tell steps apart


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}])
def test_fused_state_continues_bit_identically_in_an_unfused_optimizer(options, backend):
    uninterrupted, opt = trajectory(True, **options)
    assert {s["exp_avg"].backend.name for s in opt.state_dict()["state"].values()} == {backend.name}
    assert trajectory(True, resume_with=False, **options)[0] == uninterrupted
    assert trajectory(False, resume_with=True, **options)[0] == uninterrupted


def test_every_backend_with_a_fused_kernel_is_checked_here():
    registry = lamina.registry()
    fused = {name for name in registry.names("backends")
             if getattr(registry.get("backends", name), "adam_step", None) is not None}
    assert fused <= BACKENDS_CHECKED_HERE


class CountingBackend(PythonBackend):
    """The default backend, counting its fused Adam steps."""

    name = "counting python"
    steps = 0

    def adam_step(self, *args, **kwargs):
        self.steps += 1
        return super().adam_step(*args, **kwargs)


class UnfusedBackend(PurePythonBackend):
    """lamina's reference kernels, which have no fused Adam step."""

    name = "unfused python"


def test_adam_uses_a_fused_kernel_by_default_and_only_where_a_backend_has_one():
    counting = lamina.set_backend(CountingBackend())
    by_default, _ = trajectory(None)
    assert counting.steps == 30 * 4  # every step, for each of the four parameters

    lamina.set_backend(UnfusedBackend())
    assert trajectory(None)[0] == by_default  # the readable update, with the same numbers
    with pytest.raises(lamina.BackendError, match="fused=True.*unfused python backend has no"):
        trajectory(True)
