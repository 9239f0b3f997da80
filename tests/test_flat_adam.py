"""On the numpy backend Adam steps each parameter group as one flat array (FlatAdamGroup): the
parameters and moments become views of three flat arrays. Whatever replaces those arrays (loading a
state dict, copy_, a step that skips a parameter) must leave the numbers exactly the unfused ones."""

import pytest

import lamina
from conftest import NO_NUMPY
from lamina import nn, optim

np = pytest.importorskip("numpy", reason=NO_NUMPY)


def run(fused, steps=12, interrupt=None, groups=False):
    """Weights after `steps` Adam steps of a small model; `interrupt(step, model, opt)` runs before
    each step's forward pass and may replace arrays or clear gradients."""
    lamina.set_backend("numpy")
    lamina.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    params = model.parameters()
    chosen = [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}] if groups else params
    opt = optim.Adam(chosen, lr=0.05, fused=fused)
    x, y = lamina.randn(8, 3), lamina.randn(8, 2)
    loss_fn = nn.MSELoss()
    for step in range(steps):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        if interrupt is not None:
            interrupt(step, model, opt)
        opt.step()
    return [p.tolist() for p in model.parameters()], model, opt


def test_a_group_steps_as_one_flat_array_with_the_unfused_numbers():
    fused, model, _ = run(None)
    weight, bias = model.layers[0].weight.data, model.layers[2].bias.data
    assert weight.base is not None and weight.base is bias.base  # views of one flat array: the flat step ran
    assert fused == run(False)[0]


def test_two_groups_each_step_flat_with_their_own_learning_rate():
    assert run(None, groups=True)[0] == run(False, groups=True)[0]


def reload_model(step, model, opt):
    if step == 4:  # rebinds every parameter's array: the flat arrays must be rebuilt from them
        model.load_state_dict(model.state_dict())


def copy_one_weight(step, model, opt):
    if step == 6:
        weight = model.layers[2].weight
        weight.copy_(weight * 0.5)


def skip_a_bias(step, model, opt):
    if step in (3, 4):  # a parameter without a gradient: that step goes parameter by parameter
        model.layers[0].bias.grad = None


def reload_optimizer(step, model, opt):
    if step == 5:
        opt.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("interrupt", [reload_model, copy_one_weight, skip_a_bias, reload_optimizer])
def test_whatever_replaces_the_arrays_the_numbers_stay_the_unfused_ones(interrupt):
    assert run(None, interrupt=interrupt)[0] == run(False, interrupt=interrupt)[0]


def test_a_float32_model_steps_flat_in_float32():
    lamina.set_backend("numpy")
    lamina.set_default_dtype("float32")
    try:
        fused, model, opt = run(None)
    finally:
        lamina.set_default_dtype("float64")
    assert {p.dtype for p in model.parameters()} == {"float32"}
    assert {s["exp_avg_sq"].dtype for s in opt.state.values()} == {"float32"}


def test_a_subclass_with_its_own_update_rule_keeps_it():
    class Frozen(optim.Adam):
        def update(self, param, grad, state, group):
            pass  # its rule: never move

    lamina.set_backend("numpy")
    layer = nn.Linear(2, 2)
    before = [p.tolist() for p in layer.parameters()]
    opt = Frozen(layer.parameters(), lr=0.1)
    for p in layer.parameters():
        p.grad = lamina.ones(*p.shape)
    opt.step()
    assert [p.tolist() for p in layer.parameters()] == before
