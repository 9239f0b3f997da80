"""Every optimizer and option against torch.optim, in float64, over 50 steps.

Two ways: a small MLP trained from identical weights, where lamina's gradients come from its own
backward (optimizer and backward tested together), and identical synthetic gradient sequences
fed straight to both (the optimizer alone, to a tighter tolerance).
"""

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn, optim

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

STEPS = 50

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.8), eps=1e-6)),  # beta1 < 0.5: the moving average moves more than halfway
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.0)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True)),
    ("RMSprop", dict(lr=0.005, weight_decay=0.1, centered=True, momentum=0.9)),
    # maximize=True negates the gradient before weight decay: coupled decay still pulls towards 0.
    ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, maximize=True)),
    ("RMSprop", dict(lr=0.005, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, maximize=True)),
]
# With alpha this small, a slowly changing gradient makes the centered variance square_avg -
# grad_avg^2 cancel to almost nothing, so last-bit differences between lamina's backward and
# PyTorch's autograd are amplified; it is checked on identical gradients only.
SAME_GRADIENTS_ONLY = [("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, alpha=0.3))]


def ids(cases):
    return [f"{name}-" + "-".join(f"{k}={v}" for k, v in options.items()) for name, options in cases]


def lamina_mlp():
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2))


def torch_copy(torch, model):
    """The same MLP in PyTorch, with lamina's weights (biases are (1, n) in lamina, (n,) in torch)."""
    copy = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    state = copy.state_dict()
    copy.load_state_dict({k: to_torch(torch, v).reshape(state[k].shape) for k, v in model.state_dict().items()})
    return copy


def train_both(torch, name, options, groups=None):
    model = lamina_mlp()
    reference = torch_copy(torch, model)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = lamina.randn(8, 3), lamina.randn(8, 2)
    tx, ty = to_torch(torch, x), to_torch(torch, y)
    loss_fn, torch_loss_fn = nn.MSELoss(), torch.nn.MSELoss()
    if groups is None:
        opt = getattr(optim, name)(model.parameters(), **options)
        torch_opt = getattr(torch.optim, name)(reference.parameters(), **options)
    else:
        opt = getattr(optim, name)(groups(model), **options)
        torch_opt = getattr(torch.optim, name)(groups(reference), **options)
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        torch_opt.zero_grad()
        torch_loss_fn(reference(tx), ty).backward()
        torch_opt.step()
    # the comparison means something only if the weights have moved well away from the start
    moved = max(abs(a - b) for k, v in model.state_dict().items() for a, b in zip(_flat(v), _flat(start[k])))
    assert moved > 1e-3
    return model, reference


def _flat(t):
    return t.flatten().tolist()


@pytest.mark.parametrize("name, options", CASES, ids=ids(CASES))
def test_mlp_trajectory_matches_torch(torch, name, options):
    model, reference = train_both(torch, name, options)
    expected = reference.state_dict()
    for key, value in model.state_dict().items():
        assert_close(value, expected[key])


def test_param_groups_keep_their_own_options(torch):
    def groups(model):
        return [{"params": model[0].parameters(), "lr": 0.02, "weight_decay": 0.1}, {"params": model[2].parameters()}]

    model, reference = train_both(torch, "Adam", dict(lr=0.01, amsgrad=True), groups)
    expected = reference.state_dict()
    for key, value in model.state_dict().items():
        assert_close(value, expected[key])


@pytest.mark.parametrize("name, options", CASES + SAME_GRADIENTS_ONLY, ids=ids(CASES + SAME_GRADIENTS_ONLY))
def test_same_gradients_give_the_same_parameters(torch, name, options):
    shapes = [(4, 3), (1, 4)]
    params = [lamina.Parameter(lamina.randn(*shape)) for shape in shapes]
    torch_params = [to_torch(torch, p).requires_grad_(True) for p in params]
    opt = getattr(optim, name)(params, **options)
    torch_opt = getattr(torch.optim, name)(torch_params, **options)
    for _ in range(STEPS):
        for p, tp in zip(params, torch_params):
            p.grad = lamina.randn(*p.shape)
            tp.grad = to_torch(torch, p.grad)
        opt.step()
        torch_opt.step()
    for p, tp in zip(params, torch_params):
        assert_close(p, tp, tol=1e-12)
