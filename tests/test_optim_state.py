"""Optimizer state dicts: PyTorch's layout, a JSON round trip that resumes bit-identically,
and hyper-parameter errors that name the argument."""

import json

import pytest

import lamina
from lamina import nn, optim

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

RESUMABLE = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9))),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


def through_json(value):
    """What a JSON checkpoint gives back: tensors as nested lists, int keys as strings."""
    return json.loads(json.dumps(value, default=lambda tensor: tensor.tolist()))


def train(model, opt, x, y, steps):
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()


@pytest.mark.parametrize("name, options", RESUMABLE, ids=[name for name, _ in RESUMABLE])
def test_json_round_trip_resumes_identically(name, options):
    x, y = lamina.randn(6, 3), lamina.randn(6, 1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    start = model.state_dict()
    opt = getattr(optim, name)(model.parameters(), **options)
    train(model, opt, x, y, 20)
    model_state, opt_state = through_json(model.state_dict()), through_json(opt.state_dict())
    train(model, opt, x, y, 30)

    resumed = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    resumed.load_state_dict(start)
    resumed_opt = getattr(optim, name)(resumed.parameters(), **{**options, "lr": 123.0})
    resumed.load_state_dict(model_state)
    resumed_opt.load_state_dict(opt_state)
    assert resumed_opt.param_groups[0]["lr"] == options["lr"]  # the saved hyper-parameters win
    train(resumed, resumed_opt, x, y, 30)
    for key, value in model.state_dict().items():
        assert resumed.state_dict()[key].tolist() == value.tolist()


@pytest.mark.parametrize(
    "name, options",
    [
        ("SGD", dict(momentum=0.9)),
        ("Adam", dict(amsgrad=True)),
        ("AdamW", dict()),
        ("RMSprop", dict(momentum=0.9, centered=True)),
    ],
)
def test_state_dict_has_pytorchs_layout(torch, name, options):
    param = lamina.Parameter(lamina.randn(2, 3))
    reference = torch.zeros(2, 3, requires_grad=True)
    opt, torch_opt = getattr(optim, name)([param], **options), getattr(torch.optim, name)([reference], **options)
    param.grad, reference.grad = lamina.ones(2, 3), torch.ones(2, 3)
    opt.step()
    torch_opt.step()
    state, torch_state = opt.state_dict(), torch_opt.state_dict()
    assert set(state["state"]) == set(torch_state["state"]) == {0}
    assert set(state["state"][0]) == set(torch_state["state"][0])
    assert state["param_groups"][0]["params"] == [0]
    # decoupled_weight_decay is lamina's on every optimizer; PyTorch has it on Adam and AdamW only
    extension = {"decoupled_weight_decay"} if name in ("SGD", "RMSprop") else set()
    for key, value in opt.defaults.items():
        if key in extension:
            continue
        assert torch_state["param_groups"][0][key] == value


def test_load_state_dict_refuses_a_different_model():
    opt = optim.SGD(nn.Linear(3, 4).parameters(), lr=0.1)
    other = optim.SGD(nn.Linear(3, 4, bias=False).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="param groups do not match"):
        other.load_state_dict(opt.state_dict())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-0.1), r"SGD\(lr=-0.1\): lr must be >= 0"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-1), r"SGD\(momentum=-1\)"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), r"SGD\(nesterov=True, momentum=0.0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"Adam\(betas=\(1.0, 0.999\)\)"),
        (lambda p: optim.Adam(p, eps=-1e-8), r"Adam\(eps=-1e-08\)"),
        (lambda p: optim.AdamW(p, weight_decay=-0.01), r"AdamW\(weight_decay=-0.01\)"),
        (lambda p: optim.AdamW(p, decoupled_weight_decay=False), r"AdamW\(decoupled_weight_decay=False\)"),
        (lambda p: optim.RMSprop(p, alpha=-0.5), r"RMSprop\(alpha=-0.5\)"),
        (lambda p: optim.RMSprop(p, centered="yes"), r"RMSprop\(centered='yes'\)"),
        (lambda p: optim.Adam([], lr=0.1), r"Adam got an empty parameter list"),
    ],
)
def test_bad_hyper_parameters_name_the_argument(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(nn.Linear(2, 1).parameters())


def test_positional_arguments_follow_pytorchs_order():
    params = list(nn.Linear(2, 1).parameters())
    assert optim.SGD(params, 0.1, 0.9, 0.0, 0.01, True).defaults["weight_decay"] == 0.01
    assert optim.Adam(params, 0.1, (0.8, 0.9), 1e-6, 0.01, True).defaults["amsgrad"] is True
    assert optim.RMSprop(params, 0.1, 0.9, 1e-6, 0.01, 0.5, True).defaults["momentum"] == 0.5
