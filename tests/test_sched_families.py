"""The schedules added for PyTorch users (ConstantLR, PolynomialLR, LambdaLR, MultiplicativeLR,
ChainedScheduler, CyclicLR, CosineAnnealingWarmRestarts): what the parity cases in
test_sched_parity.py do not cover — fractional epochs, declared intervals, errors, and schedules
holding Python functions working everywhere but in a file."""

import re

import pytest
from conftest import assert_close
from test_sched_parity import lamina_params, torch_params

import lamina
from lamina import optim

S = optim.lr_scheduler


def sgd(library=optim, params=None):
    return library.SGD(params or lamina_params(), lr=0.1, momentum=0.9)


def test_warm_restarts_stepped_by_fractional_epochs_match_torch(torch):
    """PyTorch's documented per-batch use: step(epoch + batch / batches)."""
    rates = []
    for library, params in ((optim, lamina_params()), (torch.optim, torch_params(torch))):
        opt = sgd(library, params)
        schedule = library.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)
        seen = []
        for epoch in range(20):
            for batch in range(5):
                opt.step()
                schedule.step(epoch + batch / 5)
                seen.append(list(schedule.get_last_lr()) + [schedule.last_epoch])
        rates.append(seen)
    assert_close(rates[0], rates[1], tol=1e-12)


def test_each_schedule_declares_the_interval_pytorch_steps_it_at():
    assert S.CyclicLR.interval == "step"
    for name in ("ConstantLR", "PolynomialLR", "LambdaLR", "MultiplicativeLR", "CosineAnnealingWarmRestarts"):
        assert getattr(S, name).interval == "epoch", name
    assert S.CyclicLR.needs_metric is False


def test_a_chain_steps_as_often_as_what_it_chains():
    opt = sgd()
    per_step = S.ChainedScheduler([S.CyclicLR(opt, 0.01, 0.1, 4), S.CyclicLR(opt, 0.001, 0.1, 7, cycle_momentum=False)])
    assert per_step.interval == "step"
    assert S.ChainedScheduler([S.ConstantLR(opt), S.ExponentialLR(opt, 0.9)]).interval == "epoch"
    model, loss = lamina.nn.Sequential(lamina.nn.Linear(1, 1)), lamina.nn.MSELoss()
    assert lamina.Trainer(model, loss, opt, scheduler=per_step).stepping_interval == "step"

    mixed = S.ChainedScheduler([S.CyclicLR(opt, 0.01, 0.1, 4), S.LambdaLR(opt, lambda step: 0.999 ** step)])
    with pytest.raises(ValueError, match=r"^ChainedScheduler: its schedulers step at different intervals "
                                         r"\(epoch, step\); say which with Trainer\(scheduler_interval="):
        lamina.Trainer(model, loss, opt, scheduler=mixed).fit(loader(8))
    trainer = lamina.Trainer(model, loss, opt, scheduler=mixed, scheduler_interval="step")
    trainer.fit(loader(8))
    assert mixed.schedulers[0].last_epoch == 2  # two batches of four, one step each


def loader(rows, batch_size=4):
    lamina.manual_seed(5)
    x, y = lamina.randn(rows, 1), lamina.randn(rows, 1)
    return lamina.data.DataLoader(lamina.data.TensorDataset(x, y), batch_size=batch_size)


def fit(make_schedule, rows=40, **options):
    """Fit a one-weight model for 5 epochs of rows / 4 batches: the trainer, its weight before,
    and its weight after (or when fit raised) and the error, if any."""
    lamina.manual_seed(0)
    model = lamina.nn.Sequential(lamina.nn.Linear(1, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = model.state_dict()["0.weight"].tolist()
    trainer = lamina.Trainer(model, lamina.nn.MSELoss(), opt, scheduler=make_schedule(opt), max_epochs=5, **options)
    try:
        trainer.fit(loader(rows))
        error = None
    except ValueError as raised:
        error = raised
    return trainer, before, model.state_dict()["0.weight"].tolist(), error


@pytest.mark.parametrize("make, options, message", [
    # The silent run: sized in batches, stepped per epoch, never leaving its warm-up.
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=50), {"scheduler_interval": "epoch"},
     r"^Trainer: OneCycleLR\(total_steps=50\) is sized in optimizer steps but stepped once per epoch "
     r"\(scheduler_interval='epoch'\): 5 epochs would stop its cycle at step 5 of 50; leave scheduler_interval unset"),
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=30), {},
     r"^Trainer: OneCycleLR\(total_steps=30\) has 30 steps left but this run, stepping it after every optimizer "
     r"step for 5 epochs, would step it 50 times; size it for the run \(total_steps=50\)"),
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=15), {"grad_accumulation": 3},
     r"would step it 20 times"),  # 10 batches in windows of 3: 4 steps an epoch
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=4), {"scheduler_interval": "epoch"}, r"would step it 5 times"),
    (lambda opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=4), {"scheduler_interval": "epoch"},
     r"^Trainer: CyclicLR's cycle takes 8 steps \(step_size_up=4, step_size_down=None\) but it is stepped once per "
     r"epoch \(scheduler_interval='epoch'\) for 5 epochs, less than one cycle"),
    (lambda opt: S.ChainedScheduler([S.OneCycleLR(opt, max_lr=1.0, total_steps=50, cycle_momentum=False)]),
     {"scheduler_interval": "epoch"}, r"OneCycleLR\(total_steps=50\) is sized in optimizer steps"),
])
def test_a_schedule_sized_in_steps_refuses_a_run_it_cannot_fit_before_training(make, options, message):
    trainer, before, after, error = fit(make, **options)
    assert error is not None and re.search(message, str(error)), error
    assert "\n" not in str(error)
    assert (trainer.global_step, after) == (0, before)  # refused before the first step


@pytest.mark.parametrize("make, options", [
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=50), {}),
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=5), {"scheduler_interval": "epoch"}),
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, epochs=5, steps_per_epoch=4), {"grad_accumulation": 3}),
    (lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=100), {}),  # a run cut short on purpose
    (lambda opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=30), {}),
    (lambda opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=2, step_size_down=3), {"scheduler_interval": "epoch"}),
])
def test_runs_that_fit_the_schedule_train(make, options):
    trainer, before, after, error = fit(make, **options)
    assert error is None and before != after and trainer.global_step > 0


def test_schedules_holding_python_functions_train_and_repeat():
    def run():
        lamina.manual_seed(0)
        model = lamina.nn.Sequential(lamina.nn.Linear(2, 1))
        opt = optim.SGD(model.parameters(), lr=0.1)
        schedule = S.LambdaLR(opt, lambda epoch: 1.0 / (1 + epoch))
        x, y = lamina.randn(8, 2), lamina.randn(8, 1)
        loader = lamina.data.DataLoader(lamina.data.TensorDataset(x, y), batch_size=4)
        history = lamina.Trainer(model, lamina.nn.MSELoss(), opt, scheduler=schedule, max_epochs=4).fit(loader)
        return history["lr"], model.state_dict()["0.weight"].tolist()

    (rates, weights), again = run(), run()
    assert rates == pytest.approx([0.1, 0.1 / 2, 0.1 / 3, 0.1 / 4])  # each epoch's rate while it trained
    assert (rates, weights) == again


def test_a_checkpoint_of_a_run_with_a_lambda_schedule_fails_in_one_line_naming_it(tmp_path):
    model = lamina.nn.Sequential(lamina.nn.Linear(2, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = lamina.Trainer(model, lamina.nn.MSELoss(), opt, scheduler=S.MultiplicativeLR(opt, lambda e: 0.9))
    from lamina.saving.checkpoints import save_checkpoint

    with pytest.raises(TypeError, match=r"^MultiplicativeLR\.state_dict\(\): lr_lambda is a Python function"):
        save_checkpoint(trainer, tmp_path / "run.json")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda opt: S.ConstantLR(opt, factor=1.5), r"ConstantLR\(factor=1.5\): factor must be in \(0.0, 1.0\]"),
        (lambda opt: S.ConstantLR(opt, factor=0.0), r"ConstantLR\(factor=0.0\)"),
        (lambda opt: S.ConstantLR(opt, total_iters=0), r"ConstantLR\(total_iters=0\): total_iters must be >= 1"),
        (lambda opt: S.PolynomialLR(opt, total_iters=2.5), r"PolynomialLR\(total_iters=2.5\)"),
        (lambda opt: S.PolynomialLR(opt, power=-1), r"PolynomialLR\(power=-1\): power must be >= 0.0"),
        (lambda opt: S.LambdaLR(opt, 0.9), r"LambdaLR\(lr_lambda=0.9\): lr_lambda must be a function of the epoch"),
        (lambda opt: S.LambdaLR(opt, [lambda e: 1.0] * 3), r"LambdaLR\(lr_lambda=\[...\]\): got 3 functions for 2"),
        (lambda opt: S.LambdaLR(opt, lambda e: "fast"), r"LambdaLR: lr_lambda for param group 0 returned 'fast' at epoch 0"),
        (lambda opt: S.MultiplicativeLR(opt, None), r"MultiplicativeLR\(lr_lambda=None\)"),
        (lambda opt: S.ChainedScheduler([]), r"ChainedScheduler\(schedulers=\[\]\): expected at least one"),
        (lambda opt: S.ChainedScheduler([S.ReduceLROnPlateau(opt)]), r"scheduler 0 is ReduceLROnPlateau"),
        (lambda opt: S.ChainedScheduler([S.ConstantLR(sgd())], opt), r"scheduler 0 \(ConstantLR\) belongs to another"),
        (lambda opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=0), r"CyclicLR\(step_size_up=0\)"),
        (lambda opt: S.CyclicLR(opt, 0.01, 0.1, step_size_down=1.5), r"CyclicLR\(step_size_down=1.5\)"),
        (lambda opt: S.CyclicLR(opt, 0.01, 0.1, mode="sine"), r"CyclicLR\(mode='sine'\)"),
        (lambda opt: S.CyclicLR(opt, [0.01] * 3, 0.1), r"CyclicLR\(base_lr=\[0.01, 0.01, 0.01\]\)"),
        (lambda opt: S.CyclicLR(opt, 0.01, 0.1, scale_fn=2), r"CyclicLR\(scale_fn=2\)"),
        (lambda opt: S.CosineAnnealingWarmRestarts(opt, T_0=0), r"CosineAnnealingWarmRestarts\(T_0=0\)"),
        (lambda opt: S.CosineAnnealingWarmRestarts(opt, 5, T_mult=1.5), r"CosineAnnealingWarmRestarts\(T_mult=1.5\)"),
        (lambda opt: S.CosineAnnealingWarmRestarts(opt, 5).step(-1), r"step\(epoch=-1\): epoch must be a number >= 0"),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    opt = optim.SGD([{"params": lamina_params()[:1]}, {"params": lamina_params()[1:]}], lr=0.1, momentum=0.9)
    with pytest.raises((ValueError, TypeError), match=message):
        make(opt)


def test_config_round_trips_through_the_registry():
    opt = sgd()
    schedule = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2")
    config = lamina.config_of(schedule)
    assert config["mode"] == "triangular2" and config["step_size_down"] is None
    rebuilt = lamina.registry().create("schedulers", "CyclicLR", sgd(), **config)
    assert lamina.config_of(rebuilt) == config


@pytest.mark.parametrize("min_lr", [0.0, 0.001])
def test_reduce_lr_on_plateau_reduces_a_param_group_added_after_it_was_built(torch, min_lr):
    rates = []
    for library, params in ((optim, lamina_params()), (torch.optim, torch_params(torch))):
        opt = library.SGD(params[:1], lr=0.1)
        schedule = library.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=min_lr)
        opt.add_param_group({"params": params[1:], "lr": 0.04})
        for metric in (1.0, 1.0, 1.0):
            opt.step()
            schedule.step(metric)
        rates.append([group["lr"] for group in opt.param_groups])
    assert rates[0] == rates[1] == [0.025, 0.01]


def test_reduce_lr_on_plateau_with_per_group_floors_says_what_to_do_for_a_new_group():
    params = lamina_params()
    opt = optim.SGD(params[:1], lr=0.1)
    schedule = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.01])
    opt.add_param_group({"params": params[1:]})
    schedule.step(1.0)
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau\(min_lr=\[0.01\]\): the optimizer now has 2 param "
                                         r"groups, not 1; set scheduler.min_lrs to a list of 2$"):
        schedule.step(1.0)
