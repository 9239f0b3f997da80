"""Every LR schedule against torch.optim.lr_scheduler, in float64, over 100 steps.

lamina's schedules take PyTorch's names and arguments, so each case is one function called once
with `lamina.optim` and once with `torch.optim`.
"""

import math

import pytest

import lamina
from conftest import assert_close

STEPS = 100


def sgd(optim, params):
    return optim.SGD(params, lr=0.1, momentum=0.9)


def adam(optim, params):
    return optim.Adam(params, lr=0.1, betas=(0.9, 0.99))


def two_groups(optim, params):
    first, second = params
    return optim.SGD([{"params": [first], "lr": 0.2}, {"params": [second]}], lr=0.05, momentum=0.5)


CASES = {
    "StepLR": (sgd, lambda S, opt: S.StepLR(opt, step_size=7, gamma=0.5)),
    "MultiStepLR": (sgd, lambda S, opt: S.MultiStepLR(opt, milestones=[80, 10, 30, 30], gamma=0.5)),
    "ExponentialLR": (sgd, lambda S, opt: S.ExponentialLR(opt, gamma=0.97)),
    "CosineAnnealingLR": (sgd, lambda S, opt: S.CosineAnnealingLR(opt, T_max=100)),
    "CosineAnnealingLR-restarting": (sgd, lambda S, opt: S.CosineAnnealingLR(opt, T_max=30, eta_min=0.001)),
    "LinearLR-warmup": (sgd, lambda S, opt: S.LinearLR(opt, start_factor=0.1, total_iters=10)),
    "LinearLR-decay": (sgd, lambda S, opt: S.LinearLR(opt, start_factor=1.0, end_factor=0.05, total_iters=100)),
    "LinearLR-defaults": (sgd, lambda S, opt: S.LinearLR(opt)),
    "SequentialLR-warmup-cosine": (
        sgd,
        lambda S, opt: S.SequentialLR(
            opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(opt, T_max=95)], milestones=[5]
        ),
    ),
    "SequentialLR-three": (
        sgd,
        lambda S, opt: S.SequentialLR(
            opt,
            [S.LinearLR(opt, 0.25, total_iters=8), S.StepLR(opt, 10, gamma=0.7), S.ExponentialLR(opt, 0.95)],
            milestones=[10, 50],
        ),
    ),
    "OneCycleLR-cos": (sgd, lambda S, opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=STEPS)),
    "OneCycleLR-linear": (
        sgd,
        lambda S, opt: S.OneCycleLR(
            opt, max_lr=0.5, epochs=10, steps_per_epoch=10, anneal_strategy="linear", pct_start=0.25,
            div_factor=10.0, final_div_factor=100.0,
        ),
    ),
    "OneCycleLR-three-phase": (
        sgd,
        lambda S, opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=STEPS, three_phase=True, base_momentum=0.8, max_momentum=0.9),
    ),
    "OneCycleLR-adam-betas": (adam, lambda S, opt: S.OneCycleLR(opt, max_lr=0.01, total_steps=STEPS, pct_start=0.4)),
    "OneCycleLR-no-momentum": (
        adam, lambda S, opt: S.OneCycleLR(opt, max_lr=0.01, total_steps=STEPS, cycle_momentum=False)
    ),
    "OneCycleLR-per-group": (
        two_groups, lambda S, opt: S.OneCycleLR(opt, max_lr=[1.0, 0.3], total_steps=STEPS, max_momentum=[0.95, 0.9])
    ),
    "CosineAnnealingLR-per-group": (two_groups, lambda S, opt: S.CosineAnnealingLR(opt, T_max=40)),
    "StepLR-per-group": (two_groups, lambda S, opt: S.StepLR(opt, step_size=3)),
    "ConstantLR-defaults": (sgd, lambda S, opt: S.ConstantLR(opt)),
    "ConstantLR": (two_groups, lambda S, opt: S.ConstantLR(opt, factor=0.25, total_iters=40)),
    "PolynomialLR-defaults": (sgd, lambda S, opt: S.PolynomialLR(opt)),
    "PolynomialLR-squared": (two_groups, lambda S, opt: S.PolynomialLR(opt, total_iters=80, power=2.0)),
    "PolynomialLR-root": (sgd, lambda S, opt: S.PolynomialLR(opt, total_iters=100, power=0.5)),
    "LambdaLR": (sgd, lambda S, opt: S.LambdaLR(opt, lambda epoch: 0.97 ** epoch)),
    "LambdaLR-per-group": (
        two_groups, lambda S, opt: S.LambdaLR(opt, [lambda epoch: 1.0 / (1 + epoch), lambda epoch: (epoch % 7) / 7])
    ),
    "MultiplicativeLR": (sgd, lambda S, opt: S.MultiplicativeLR(opt, lambda epoch: 0.95)),
    "MultiplicativeLR-per-group": (
        two_groups, lambda S, opt: S.MultiplicativeLR(opt, [lambda epoch: 0.99, lambda epoch: 1.02 if epoch % 3 else 0.9])
    ),
    "ChainedScheduler": (
        sgd, lambda S, opt: S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=10), S.ExponentialLR(opt, gamma=0.97)])
    ),
    "ChainedScheduler-three": (
        two_groups,
        lambda S, opt: S.ChainedScheduler(
            [S.LinearLR(opt, 0.2, total_iters=20), S.StepLR(opt, 15, gamma=0.5), S.PolynomialLR(opt, 90, power=1.5)], opt
        ),
    ),
    "CyclicLR-triangular": (sgd, lambda S, opt: S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=7)),
    "CyclicLR-triangular2": (
        sgd, lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=5, step_size_down=11, mode="triangular2")
    ),
    "CyclicLR-exp-range": (
        two_groups,
        lambda S, opt: S.CyclicLR(opt, [0.01, 0.001], [0.1, 0.05], 6, mode="exp_range", gamma=0.98,
                                  base_momentum=[0.7, 0.75], max_momentum=[0.9, 0.95]),
    ),
    "CyclicLR-adam-betas": (adam, lambda S, opt: S.CyclicLR(opt, 0.001, 0.01, step_size_up=4, step_size_down=9)),
    "CyclicLR-scale-fn-iterations": (
        sgd,
        lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, 8, scale_fn=lambda x: 1.0 / (1.0 + 0.05 * x),
                                  scale_mode="iterations", cycle_momentum=False),
    ),
    "CyclicLR-scale-fn-cycle": (
        sgd, lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, 5, scale_fn=lambda x: 0.8 ** x, cycle_momentum=False)
    ),
    "CyclicLR-defaults": (sgd, lambda S, opt: S.CyclicLR(opt, base_lr=0.001, max_lr=0.1)),
    "CosineAnnealingWarmRestarts": (sgd, lambda S, opt: S.CosineAnnealingWarmRestarts(opt, T_0=10)),
    "CosineAnnealingWarmRestarts-doubling": (
        two_groups, lambda S, opt: S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
    ),
}


def lamina_params():
    return [lamina.Parameter(lamina.ones(1, 2)), lamina.Parameter(lamina.ones(1, 1))]


def torch_params(torch):
    return [torch.ones(2, requires_grad=True), torch.ones(1, requires_grad=True)]


def run(optim, params, case, steps=STEPS):
    """The rates (and momentum/betas) each group has, at construction and after each step."""
    make_optimizer, make_schedule = CASES[case]
    opt = make_optimizer(optim, params)
    schedule = make_schedule(optim.lr_scheduler, opt)
    seen = [observe(opt, schedule)]
    for _ in range(steps):
        opt.step()  # no gradients: parameters stay put, but PyTorch wants step() before the schedule's
        schedule.step()
        seen.append(observe(opt, schedule))
    return seen


def observe(opt, schedule):
    lrs = list(schedule.get_last_lr())
    assert lrs == [group["lr"] for group in opt.param_groups]
    momenta = [group.get("momentum", group.get("betas", (0.0,))[0]) for group in opt.param_groups]
    return lrs + [float(m) for m in momenta]


@pytest.mark.parametrize("case", CASES)
def test_schedule_matches_torch(torch, case):
    from lamina import optim

    ours = run(optim, lamina_params(), case)
    theirs = run(torch.optim, torch_params(torch), case)
    assert_close(ours, theirs, tol=1e-12)
    # the schedule does change the rate (ConstantLR has only two: the factor's and the full one)
    assert len({tuple(step) for step in ours}) > (1 if case.startswith("ConstantLR") else 2)


PLATEAU_CASES = {
    "defaults": dict(patience=3),
    "min-abs-cooldown": dict(threshold_mode="abs", threshold=0.01, patience=2, cooldown=3, factor=0.5),
    "max-rel": dict(mode="max", threshold=0.05, patience=1, factor=0.7),
    "max-abs-min-lr": dict(mode="max", threshold_mode="abs", threshold=0.0, patience=0, min_lr=0.02, factor=0.5),
    "eps-stops-tiny-changes": dict(patience=0, factor=0.5, eps=1e-3),
}


def metric_sequence():
    """Falls, plateaus with noise, falls again, then wanders: every branch of the rule is taken."""
    noise = lamina.randn(STEPS, 1).tolist()
    values = []
    for step in range(STEPS):
        trend = 1.0 / (1 + step) if step < 40 else 0.03 - 0.0005 * (step - 40) * (step < 60)
        values.append(trend + 0.01 * noise[step][0] + 0.02 * math.sin(step / 3))
    return values


@pytest.mark.parametrize("case", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_torch(torch, case):
    from lamina import optim

    metrics = metric_sequence()
    rates = []
    for library, params in ((optim, lamina_params()), (torch.optim, torch_params(torch))):
        opt = two_groups(library, params)
        schedule = library.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAU_CASES[case])
        seen = []
        for metric in metrics:
            opt.step()
            schedule.step(metric)
            seen.append(list(schedule.get_last_lr()))
        rates.append(seen)
    ours, theirs = rates
    assert_close(ours, theirs, tol=1e-12)
    assert ours[-1] != ours[0]  # it did reduce the rate


def test_reachable_as_lamina_optim_lr_scheduler():
    from lamina import optim
    from lamina.plugins import (
        chained_scheduler,
        cyclical_schedulers,
        factor_schedulers,
        function_schedulers,
        plateau_scheduler,
        restart_schedulers,
        schedulers,
    )

    modules = {"OneCycleLR": cyclical_schedulers, "ReduceLROnPlateau": plateau_scheduler,
               "ConstantLR": factor_schedulers, "PolynomialLR": factor_schedulers,
               "LambdaLR": function_schedulers, "MultiplicativeLR": function_schedulers,
               "CyclicLR": restart_schedulers, "CosineAnnealingWarmRestarts": restart_schedulers,
               "ChainedScheduler": chained_scheduler}
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR", *modules):
        assert getattr(optim.lr_scheduler, name) is getattr(modules.get(name, schedulers), name)
        assert lamina.registry().entry("schedulers", name).provider.distribution == "lamina"
