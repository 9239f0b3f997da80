"""lamina-adagrad: lamina's conformance checks, and trajectories against torch.optim.Adagrad with
weight decay and an LR schedule (lamina's CosineAnnealingLR), neither of which the plugin wrote."""

import pytest

import lamina
from lamina import optim


@pytest.mark.lamina_conformance(distribution="lamina-adagrad")
def test_conformance(lamina_check):
    lamina_check()


def test_adagrad_is_reachable_as_lamina_optim_adagrad():
    assert optim.Adagrad is lamina.registry().get("optimizers", "Adagrad")
    assert lamina.registry().entry("optimizers", "Adagrad").provider.distribution == "lamina-adagrad"


def test_first_step_moves_each_weight_by_lr():
    # After one step sum = g^2, so the step is lr * g / |g| = lr * sign(g) (eps aside).
    p = lamina.Parameter(lamina.tensor([[1.0, -2.0]]))
    opt = optim.Adagrad([p], lr=0.5)
    p.grad = lamina.tensor([[3.0, -0.25]])
    opt.step()
    assert p.tolist()[0] == pytest.approx([0.5, -1.5], abs=1e-9)


def test_bad_arguments_name_themselves():
    p = lamina.Parameter(lamina.zeros(1, 1))
    with pytest.raises(ValueError, match=r"Adagrad\(lr_decay=-1\): lr_decay must be >= 0.0, got -1"):
        optim.Adagrad([p], lr_decay=-1)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    return torch


def trajectories(torch, options, schedule=False, steps=12):
    """Parameters after each step of a least-squares problem, for lamina and for PyTorch."""
    lamina.manual_seed(1)
    x, y, w0 = lamina.randn(8, 3), lamina.randn(8, 2), lamina.randn(2, 3)
    ours = lamina.Parameter(w0.clone())
    theirs = torch.tensor(w0.tolist(), requires_grad=True)
    our_opt = optim.Adagrad([ours], **options)
    torch_options = {k: v for k, v in options.items() if k != "decoupled_weight_decay"}
    their_opt = torch.optim.Adagrad([theirs], **torch_options)
    our_sched = optim.lr_scheduler.CosineAnnealingLR(our_opt, T_max=5) if schedule else None
    their_sched = torch.optim.lr_scheduler.CosineAnnealingLR(their_opt, T_max=5) if schedule else None
    xt, yt = torch.tensor(x.tolist()), torch.tensor(y.tolist())
    ours_path, theirs_path = [], []
    for _ in range(steps):
        # loss = mean((x W^T - y)^2) / 2, whose gradient in W is (x W^T - y)^T x / n
        our_opt.zero_grad()
        ours.grad = (x @ ours.T - y).T @ x * (1.0 / len(x))
        our_opt.step()
        their_opt.zero_grad()
        (((xt @ theirs.T - yt) ** 2).mean(0).sum() / 2).backward()
        their_opt.step()
        if schedule:
            our_sched.step()
            their_sched.step()
        ours_path.append(ours.tolist())
        theirs_path.append(theirs.detach().tolist())
    return ours_path, theirs_path


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.3, "eps": 1e-6},
    {"lr": 0.1, "weight_decay": 0.2},
], ids=["defaults", "lr_decay-accumulator-eps", "weight_decay"])
def test_trajectory_matches_pytorch(torch, options):
    ours, theirs = trajectories(torch, options)
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("options", [
    {"lr": 0.1, "maximize": True},
    {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.2, "maximize": True},
], ids=["maximize", "maximize-weight_decay"])
def test_maximize_matches_pytorch_over_50_steps(torch, options):
    ours, theirs = trajectories(torch, options, steps=50)
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-9, atol=1e-12)


def test_positional_arguments_bind_in_pytorch_s_order(torch):
    p = lamina.Parameter(lamina.zeros(1, 1))
    ours = optim.Adagrad([p], 0.1, 0.01, 0.2, 0.3, 1e-6, None).defaults
    theirs = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)], 0.1, 0.01, 0.2, 0.3, 1e-6, None).defaults
    names = ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "foreach", "maximize"]
    assert {k: ours[k] for k in names} == {k: theirs[k] for k in names}


def test_an_lr_schedule_it_never_wrote_matches_pytorch_s(torch):
    ours, theirs = trajectories(torch, {"lr": 0.2, "weight_decay": 0.1}, schedule=True)
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-9, atol=1e-12)
    assert ours[-1] != trajectories(torch, {"lr": 0.2, "weight_decay": 0.1})[0][-1]  # the schedule mattered


def test_decoupled_weight_decay_shrinks_before_the_update():
    p = lamina.Parameter(lamina.tensor([[2.0]]))
    opt = optim.Adagrad([p], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    p.grad = lamina.tensor([[1.0]])
    opt.step()
    # shrink: 2 * (1 - 0.1 * 0.5) = 1.9; then Adagrad's first step moves it by lr * sign(g)
    assert p.item() == pytest.approx(1.8, abs=1e-9)
