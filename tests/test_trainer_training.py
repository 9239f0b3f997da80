"""What one fit computes: the same weights as a hand-written loop, accumulated gradients that are
the mean over the window, schedules stepped per epoch or per step, non-finite losses stopped."""

import math

import pytest

import lamina
from conftest import assert_close
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset
from lamina.optim.lr_scheduler import LRScheduler


def regression_data(rows=14):
    lamina.manual_seed(3)
    x = lamina.randn(rows, 3)
    y = x @ lamina.tensor([[1.0, -2.0], [0.5, 0.0], [-1.0, 1.5]]) + 0.1
    return x, y


def test_fit_matches_a_hand_written_loop_bit_for_bit():
    """Dropout, shuffling and Adam all draw on or depend on the same state, in the same order."""

    def build():
        lamina.manual_seed(11)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
        return model, optim.Adam(model.parameters(), lr=0.01)

    x, y = regression_data(30)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)

    model, opt = build()
    lamina.Trainer(model, nn.MSELoss(), opt, max_epochs=3).fit(loader)

    hand, hand_opt = build()
    loss_fn = nn.MSELoss()
    for _ in range(3):
        hand.train()
        for xb, yb in loader:
            loss_fn(hand(xb), yb)
            hand_opt.zero_grad()
            hand.backward(loss_fn.backward())
            hand_opt.step()
    assert model.state_dict()["3.weight"].tolist() == hand.state_dict()["3.weight"].tolist()
    assert model.state_dict()["0.bias"].tolist() == hand.state_dict()["0.bias"].tolist()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_accumulated_gradients_equal_one_step_on_the_whole_window(reduction):
    """Batches of 4 with grad_accumulation=2 over 14 rows step on windows of 8 and 6 rows: the same
    steps as batches of 8 (the second one short) without accumulation."""
    x, y = regression_data(14)

    def train(batch_size, accumulation):
        lamina.manual_seed(5)
        model = nn.Linear(3, 2)
        trainer = lamina.Trainer(
            model, nn.MSELoss(reduction=reduction), optim.SGD(model.parameters(), lr=0.05),
            max_epochs=3, grad_accumulation=accumulation,
        )
        trainer.fit(DataLoader(TensorDataset(x, y), batch_size=batch_size))
        return model, trainer.global_step

    accumulated, steps = train(4, 2)
    whole, whole_steps = train(8, 1)
    assert steps == whole_steps == 6
    assert_close(accumulated.weight, whole.weight, tol=1e-12)
    assert_close(accumulated.bias, whole.bias, tol=1e-12)
    assert accumulated.weight.tolist() != train(4, 1)[0].weight.tolist()


def test_accumulation_with_a_loader_without_len_steps_the_last_short_window():
    x, y = regression_data(14)

    class Unsized:
        def __init__(self, loader):
            self.loader = loader

        def __iter__(self):
            return iter(self.loader)

    def train(loader, accumulation):
        lamina.manual_seed(5)
        model = nn.Linear(3, 2)
        trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
                                 max_epochs=2, grad_accumulation=accumulation)
        trainer.fit(loader)
        return model, trainer.global_step

    unsized, steps = train(Unsized(DataLoader(TensorDataset(x, y), batch_size=4)), 3)
    whole, _ = train(DataLoader(TensorDataset(x, y), batch_size=12), 1)
    assert steps == 4
    assert_close(unsized.weight, whole.weight, tol=1e-12)


class Halving(LRScheduler):
    """lr = base * 0.5 ** last_epoch."""

    def get_lr(self):
        return [base * 0.5 ** self.last_epoch for base in self.base_lrs]


@pytest.mark.parametrize("interval, exponent", [("epoch", lambda e: e), ("step", lambda e: 3 * e + 2)])
def test_logged_lr_is_the_rate_of_each_epochs_last_step(interval, exponent):
    x, y = regression_data(12)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = lamina.Trainer(model, nn.MSELoss(), opt, scheduler=Halving(opt), scheduler_interval=interval,
                             max_epochs=3)
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=4))
    assert history["lr"] == [0.1 * 0.5 ** exponent(e) for e in range(3)]
    steps_taken = 3 if interval == "epoch" else 9
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5 ** steps_taken


class PerStepHalving(Halving):
    interval = "step"


@pytest.mark.parametrize("declared, given, steps_taken", [
    (Halving, None, 3), (PerStepHalving, None, 9), (PerStepHalving, "epoch", 3), (Halving, "step", 9)])
def test_a_scheduler_steps_at_the_interval_it_declares_unless_the_trainer_is_told_otherwise(declared, given, steps_taken):
    x, y = regression_data(12)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = lamina.Trainer(model, nn.MSELoss(), opt, scheduler=declared(opt), scheduler_interval=given, max_epochs=3)
    trainer.fit(DataLoader(TensorDataset(x, y), batch_size=4))
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5 ** steps_taken


def test_one_cycle_declares_steps_and_plateau_declares_a_metric():
    S = optim.lr_scheduler
    assert (S.OneCycleLR.interval, S.OneCycleLR.needs_metric) == ("step", False)
    assert (S.ReduceLROnPlateau.interval, S.ReduceLROnPlateau.needs_metric) == ("epoch", True)
    assert (S.CosineAnnealingLR.interval, S.CosineAnnealingLR.needs_metric) == ("epoch", False)


def nan_run(callbacks):
    x, y = regression_data(12)
    rows = x.tolist()
    rows[5][1] = math.nan  # row 5 is in batch 1 (batches of 4, not shuffled)
    model = nn.Linear(3, 2)
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
                             max_epochs=2, callbacks=callbacks)
    return trainer, model, DataLoader(TensorDataset(lamina.tensor(rows), y), batch_size=4)


def test_a_nan_loss_stops_with_the_epoch_and_batch_and_steps_nothing_on_it():
    trainer, model, loader = nan_run([])
    with pytest.raises(lamina.NonFiniteLossError, match="the loss became nan at epoch 0, batch 1"):
        trainer.fit(loader)
    assert trainer.global_step == 1
    assert all(math.isfinite(v) for row in model.weight.tolist() for v in row)


def test_terminate_on_nan_stops_cleanly_instead(capsys):
    class Ends(lamina.Callback):
        ended = False

        def on_fit_end(self, trainer):
            Ends.ended = True

    trainer, model, loader = nan_run([lamina.callbacks.TerminateOnNaN(), Ends()])
    history = trainer.fit(loader)
    assert trainer.global_step == 1 and len(history) == 0 and Ends.ended
    assert trainer.stop_reason == "the loss became nan at epoch 0, batch 1"
    assert "at epoch 0, batch 1; training stopped" in capsys.readouterr().err
    assert all(math.isfinite(v) for row in model.weight.tolist() for v in row)


def test_evaluate_and_predict_run_in_eval_mode_and_restore_the_mode():
    x, y = regression_data(10)
    lamina.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["mae"])
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    model.eval()
    expected = model(x)
    model.train()
    assert trainer.predict(loader).tolist() == expected.tolist() == trainer.predict(x).tolist()
    results = trainer.evaluate(loader)
    assert model.training
    assert results["loss"] == pytest.approx(nn.MSELoss()(expected, y), rel=1e-12)
    assert results["mae"] == pytest.approx((expected - y).abs().mean(), rel=1e-12)


def test_clip_grad_norm_clips_before_each_step_as_a_hand_loop_would():
    from lamina.nn.utils import clip_grad_norm_

    x, y = regression_data(12)
    loader = DataLoader(TensorDataset(x * 10.0, y), batch_size=4)

    def build():
        lamina.manual_seed(4)
        model = nn.Linear(3, 2)
        return model, optim.SGD(model.parameters(), lr=0.01)

    norms = []

    class Norms(lamina.Callback):
        def on_before_optimizer_step(self, trainer, optimizer):
            norms.append(sum(v * v for p in optimizer.params for v in p.grad.flatten().tolist()) ** 0.5)

    model, opt = build()
    lamina.Trainer(model, nn.MSELoss(), opt, max_epochs=2, clip_grad_norm=1.0, callbacks=[Norms()]).fit(loader)
    hand, hand_opt = build()
    loss_fn = nn.MSELoss()
    for _ in range(2):
        for xb, yb in loader:
            loss_fn(hand(xb), yb)
            hand_opt.zero_grad()
            hand.backward(loss_fn.backward())
            clip_grad_norm_(hand.parameters(), 1.0)
            hand_opt.step()
    assert min(norms) > 1.0  # the hook sees the gradients before clipping; clipping mattered
    assert model.weight.tolist() == hand.weight.tolist() and model.bias.tolist() == hand.bias.tolist()


def test_reduce_lr_on_plateau_steps_on_the_validation_loss():
    x, y = regression_data(12)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=1e-4)  # too small to halve the loss
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)
    history = lamina.Trainer(model, nn.MSELoss(), opt, scheduler=plateau, max_epochs=3).fit(loader, loader)
    # epoch 0 sets the best; epochs 1 and 2 do not improve it by half, each halving the rate after it
    assert history["lr"] == [1e-4, 1e-4, 0.5e-4] and opt.param_groups[0]["lr"] == 0.25e-4
    assert plateau.best == history["val_loss"][0]
    with pytest.raises(ValueError, match="use scheduler_interval='epoch'"):
        lamina.Trainer(model, nn.MSELoss(), opt, scheduler=plateau, scheduler_interval="step")


def test_a_loader_that_does_not_yield_pairs_is_named_in_the_error():
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match=r"the training loader yielded int 1; expected \(inputs, targets\) pairs"):
        trainer.fit([1, 2, 3])
    with pytest.raises(TypeError, match=r"the evaluation loader yielded tuple"):
        trainer.evaluate([(lamina.zeros(1, 2),)])
