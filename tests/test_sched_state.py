"""LR schedules: state dicts that survive a JSON checkpoint and resume identically, composition
through the chainable form, and argument errors that name the argument."""

import json

import pytest
from test_sched_parity import CASES, lamina_params, observe, run, two_groups

import lamina
from lamina import optim
from lamina.component import component, field

S = optim.lr_scheduler
SAVED_AT, STEPS = 40, 100


def through_json(value):
    """What a JSON checkpoint gives back: tensors as nested lists, int keys as strings."""
    return json.loads(json.dumps(value, default=lambda tensor: tensor.tolist()))


# Schedules holding a Python function run anywhere but cannot be saved (tested below).
PYTHON_ONLY = [case for case in CASES if case.startswith(("LambdaLR", "MultiplicativeLR")) or "scale-fn" in case]


@pytest.mark.parametrize("case", [case for case in CASES if case not in PYTHON_ONLY])
def test_state_dict_round_trip_resumes_identically(case):
    uninterrupted = run(optim, lamina_params(), case, STEPS)
    make_optimizer, make_schedule = CASES[case]
    opt = make_optimizer(optim, lamina_params())
    schedule = make_schedule(S, opt)
    for _ in range(SAVED_AT):
        opt.step()
        schedule.step()
    saved_optimizer, saved_schedule = through_json(opt.state_dict()), through_json(schedule.state_dict())

    # As in PyTorch: build the schedule first (it sets the rates), then load both states.
    opt = make_optimizer(optim, lamina_params())
    schedule = make_schedule(S, opt)
    opt.load_state_dict(saved_optimizer)
    schedule.load_state_dict(saved_schedule)
    resumed = [observe(opt, schedule)]
    for _ in range(STEPS - SAVED_AT):
        opt.step()
        schedule.step()
        resumed.append(observe(opt, schedule))
    assert resumed == uninterrupted[SAVED_AT:]


@pytest.mark.parametrize("case", PYTHON_ONLY)
def test_a_schedule_holding_a_python_function_refuses_to_save_in_one_line(case):
    make_optimizer, make_schedule = CASES[case]
    schedule = make_schedule(S, make_optimizer(optim, lamina_params()))
    name = type(schedule).__name__
    with pytest.raises(TypeError, match=rf"^{name}\.state_dict\(\): (lr_lambda|scale_fn) is a Python function, "
                                        r"which lamina cannot save") as error:
        schedule.state_dict()
    assert "\n" not in str(error.value)


def test_reduce_lr_on_plateau_round_trip_resumes_identically():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.98, 0.97, 0.99, 1.0, 0.9, 0.95, 0.96, 0.97, 0.98]

    def fresh():
        opt = two_groups(optim, lamina_params())
        return opt, S.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)

    opt, schedule = fresh()
    rates = []
    for step, metric in enumerate(metrics):
        if step == 5:
            saved = through_json(opt.state_dict()), through_json(schedule.state_dict())
        schedule.step(metric)
        rates.append(schedule.get_last_lr())
    opt, schedule = fresh()
    opt.load_state_dict(saved[0])
    schedule.load_state_dict(saved[1])
    resumed = []
    for metric in metrics[5:]:
        schedule.step(metric)
        resumed.append(schedule.get_last_lr())
    assert resumed == rates[5:]
    assert rates[-1] != rates[0]


def test_two_schedules_on_one_optimizer_compose_as_in_pytorch(torch):
    """The chainable form: each multiplies the rate the other left."""
    rates = []
    for library, params in ((optim, lamina_params()), (torch.optim, [torch.ones(1, requires_grad=True)])):
        opt = library.SGD(params, lr=1.0)
        schedules = [library.lr_scheduler.StepLR(opt, 3, gamma=0.5), library.lr_scheduler.ExponentialLR(opt, 0.9)]
        seen = []
        for _ in range(10):
            opt.step()
            for schedule in schedules:
                schedule.step()
            seen.append(opt.param_groups[0]["lr"])
        rates.append(seen)
    assert rates[0] == pytest.approx(rates[1], rel=1e-13)
    assert rates[0][-1] == pytest.approx(0.5 ** 3 * 0.9 ** 10, rel=1e-13)


def test_a_schedule_drives_any_optimizer_through_its_groups_lr():
    @component
    class NoMomentum(optim.Optimizer):
        lr: float = field(default=0.1)

        def update(self, param, grad, state, group):
            param.sub_(grad * group["lr"])

    param = lamina.Parameter(lamina.zeros(1, 1))
    opt = NoMomentum([param], lr=1.0)
    schedule = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False, anneal_strategy="linear")
    moved = []
    for _ in range(10):
        param.grad = lamina.ones(1, 1)
        before = param.item()
        opt.step()
        moved.append(before - param.item())
        schedule.step()
    assert moved[0] == pytest.approx(1.0 / 25)  # initial_lr = max_lr / div_factor
    assert max(moved) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"OneCycleLR\(cycle_momentum=True\): NoMomentum has neither"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match=r"OneCycleLR\(total_steps=10\) was stepped 11 times"):
        schedule.step()


def sgd():
    return optim.SGD(lamina_params(), lr=0.1, momentum=0.9)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda opt: S.StepLR(opt, step_size=0), r"StepLR\(step_size=0\): step_size must be >= 1"),
        (lambda opt: S.StepLR(opt, 2, gamma=-0.5), r"StepLR\(gamma=-0.5\)"),
        (lambda opt: S.MultiStepLR(opt, milestones=[5, "x"]), r"MultiStepLR\(milestones=\[5, 'x'\]\)"),
        (lambda opt: S.ExponentialLR(opt, gamma="0.9"), r"ExponentialLR\(gamma='0.9'\)"),
        (lambda opt: S.CosineAnnealingLR(opt, T_max=0), r"CosineAnnealingLR\(T_max=0\)"),
        (lambda opt: S.CosineAnnealingLR(opt, T_max=2.5), r"CosineAnnealingLR\(T_max=2.5\)"),
        (lambda opt: S.LinearLR(opt, start_factor=0.0), r"LinearLR\(start_factor=0.0\)"),
        (lambda opt: S.LinearLR(opt, end_factor=1.5), r"LinearLR\(end_factor=1.5\)"),
        (lambda opt: S.LinearLR(opt, total_iters=0), r"LinearLR\(total_iters=0\)"),
        (lambda opt: S.OneCycleLR(opt, max_lr=0.1), r"OneCycleLR needs total_steps"),
        (lambda opt: S.OneCycleLR(opt, max_lr=0.1, total_steps=0), r"OneCycleLR\(total_steps=0\)"),
        (lambda opt: S.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=1.5), r"OneCycleLR\(steps_per_epoch=1.5\)"),
        (lambda opt: S.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=5), r"OneCycleLR\(max_lr=\[0.1, 0.2\]\)"),
        (lambda opt: S.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=1.5), r"OneCycleLR\(pct_start=1.5\)"),
        (lambda opt: S.OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="exp"), r"OneCycleLR\(anneal_strategy='exp'\)"),
        (lambda opt: S.ReduceLROnPlateau(opt, mode="avg"), r"ReduceLROnPlateau\(mode='avg'\)"),
        (lambda opt: S.ReduceLROnPlateau(opt, factor=1.0), r"ReduceLROnPlateau\(factor=1.0\)"),
        (lambda opt: S.ReduceLROnPlateau(opt, patience=-1), r"ReduceLROnPlateau\(patience=-1\)"),
        (lambda opt: S.ReduceLROnPlateau(opt, threshold_mode="relative"), r"ReduceLROnPlateau\(threshold_mode='relative'\)"),
        (lambda opt: S.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2]), r"ReduceLROnPlateau\(min_lr=\[0.1, 0.2\]\)"),
        (lambda opt: S.ReduceLROnPlateau(opt).step("low"), r"ReduceLROnPlateau.step\(metrics='low'\)"),
        (lambda opt: S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[]), r"SequentialLR\(milestones=\[\]\)"),
        (lambda opt: S.SequentialLR(opt, [S.StepLR(opt, 2)] * 3, [9, 4]), r"SequentialLR\(milestones=\[9, 4\]\).*increasing"),
        (lambda opt: S.SequentialLR(opt, [], milestones=[]), r"SequentialLR\(schedulers=\[\]\)"),
        (lambda opt: S.SequentialLR(opt, [S.StepLR(opt, 2), S.ReduceLROnPlateau(opt)], [3]), r"scheduler 1 is ReduceLROnPlateau"),
        (lambda opt: S.SequentialLR(opt, [S.StepLR(sgd(), 2)], []), r"scheduler 0 \(StepLR\) belongs to another optimizer"),
        (lambda opt: S.StepLR("sgd", 2), r"StepLR expects a lamina Optimizer, got str"),
        (lambda opt: S.StepLR(opt, 2, last_epoch=3), r"StepLR\(last_epoch=3\): param group 0 has no 'initial_lr'"),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises((ValueError, TypeError, KeyError), match=message):
        make(sgd())


def test_config_leaves_out_state():
    schedule = S.CosineAnnealingLR(sgd(), T_max=10, eta_min=0.01)
    schedule.step()
    assert lamina.config_of(schedule) == {"T_max": 10, "eta_min": 0.01}
    assert repr(schedule) == "CosineAnnealingLR(T_max=10, eta_min=0.01)"


@pytest.mark.parametrize("kind", ["SequentialLR", "ChainedScheduler"])
def test_a_composite_schedule_restores_only_what_it_saved(kind):
    S = lamina.optim.lr_scheduler
    opt = lamina.optim.SGD([lamina.Parameter(lamina.ones(1, 1))], lr=0.1)
    inner = [S.StepLR(opt, step_size=2), S.ExponentialLR(opt, gamma=0.9)]
    chain = S.SequentialLR(opt, inner, milestones=[3]) if kind == "SequentialLR" else S.ChainedScheduler(inner)
    state = chain.state_dict()
    with pytest.raises(ValueError, match=f"{kind}.load_state_dict: expected the states of 2 schedules"):
        chain.load_state_dict({**state, "schedulers": state["schedulers"][:1]})
    chain.load_state_dict({**state, "path": "victim.json", "optimizer": None})  # keys it never saved: ignored
    assert not hasattr(chain, "path") and chain.optimizer is opt
