"""The Trainer calls every hook, in the documented order, with the documented arguments."""

import pytest

import lamina
from lamina import nn, optim
from lamina.callbacks import HOOKS, implemented_hooks
from lamina.data import DataLoader, TensorDataset


def tiny_run(callbacks, max_epochs=2, rows=6, batch_size=4, **options):
    lamina.manual_seed(0)
    x = lamina.randn(rows, 2)
    y = (x.sum(1, keepdim=True) > 0) * 1.0
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    trainer = lamina.Trainer(
        model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.1),
        callbacks=callbacks, max_epochs=max_epochs, metrics=["accuracy"], **options,
    )
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size)
    return trainer, loader


class Recorder(lamina.Callback):
    """Records (hook, integer arguments) for every hook, and every hook's full arguments."""

    def __init__(self):
        self.calls = []
        self.arguments = {}


def _recording(name):
    def hook(self, trainer, *args):
        self.calls.append((name, *[a for a in args if isinstance(a, int) and not isinstance(a, bool)]))
        self.arguments.setdefault(name, []).append(args)

    return hook


for _hook in HOOKS:
    setattr(Recorder, _hook, _recording(_hook))


def expected_epoch(epoch, batches, validation):
    calls = [("on_epoch_start", epoch)]
    for b in range(batches):
        calls += [("on_train_batch_start", b), ("on_before_backward",), ("on_after_backward",),
                  ("on_before_optimizer_step",), ("on_train_batch_end", b)]
    if validation:
        calls += [("on_validation_start",), ("on_validation_end",)]
    return calls + [("on_epoch_end", epoch)]


def test_every_hook_runs_in_the_documented_order():
    r = Recorder()
    trainer, loader = tiny_run([r])
    trainer.fit(loader, val_loader=loader)
    expected = [("on_fit_start",), *expected_epoch(0, 2, True), *expected_epoch(1, 2, True), ("on_fit_end",)]
    assert r.calls == expected


def test_hook_arguments_carry_the_loss_logs_and_optimizer():
    r = Recorder()
    trainer, loader = tiny_run([r])
    history = trainer.fit(loader, val_loader=loader)
    (loss,) = r.arguments["on_before_backward"][0]
    assert isinstance(loss, float) and loss > 0
    assert r.arguments["on_before_optimizer_step"][0] == (trainer.optimizer,)
    outputs, batch, index, batch_logs = r.arguments["on_train_batch_end"][0]
    assert set(batch_logs) == {"loss", "accuracy"} and batch_logs["loss"] == loss and index == 0
    x, y = next(iter(loader))  # the batch itself and the model's outputs on it, as Lightning passes them
    assert batch[0].tolist() == x.tolist() and batch[1].tolist() == y.tolist() and outputs.shape == (4, 1)
    assert r.arguments["on_train_batch_start"][0] == (batch, 0)
    assert r.arguments["on_after_backward"][0] == (batch, {"loss": loss})
    (validation,) = r.arguments["on_validation_end"][0]
    assert set(validation) == {"val_loss", "val_accuracy"}
    _, epoch_logs = r.arguments["on_epoch_end"][-1]
    assert set(epoch_logs) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert epoch_logs["lr"] == 0.1
    assert history["val_loss"][-1] == epoch_logs["val_loss"] == trainer.evaluate(loader)["loss"]


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    r = Recorder()
    trainer, loader = tiny_run([r], max_epochs=1, rows=6, batch_size=4)  # batches of 4 and 2
    history = trainer.fit(loader)
    losses = [logs["loss"] for *_, logs in r.arguments["on_train_batch_end"]]
    assert history["loss"] == [(4 * losses[0] + 2 * losses[1]) / 6]


def test_with_accumulation_the_optimizer_hook_runs_only_on_stepping_batches():
    r = Recorder()
    trainer, loader = tiny_run([r], max_epochs=1, rows=12, batch_size=4, grad_accumulation=2)
    trainer.fit(loader)  # 3 batches: a window of 2, then the epoch's last, short window of 1
    steps = [i for i, call in enumerate(r.calls) if call[0] == "on_before_optimizer_step"]
    batch_ends = [i for i, call in enumerate(r.calls) if call[0] == "on_train_batch_end"]
    assert len(steps) == 2 and steps[0] > batch_ends[0] and steps[0] < batch_ends[1] and steps[1] > batch_ends[1]
    assert trainer.global_step == 2


def test_should_stop_ends_training_after_the_current_epoch():
    class StopInFirstBatch(lamina.Callback):
        def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
            trainer.should_stop = True

    r = Recorder()
    trainer, loader = tiny_run([StopInFirstBatch(), r], max_epochs=5)
    history = trainer.fit(loader)
    assert history.epochs == [0]
    batch_ends = [c for c in r.calls if c[0] == "on_train_batch_end"]
    assert batch_ends == [("on_train_batch_end", 0), ("on_train_batch_end", 1)]
    assert r.calls[-1] == ("on_fit_end",)


def test_an_error_in_a_hook_runs_on_exception_and_propagates_without_on_fit_end():
    class Boom(lamina.Callback):
        def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
            if trainer.epoch == 1:
                raise RuntimeError("boom")

    r = Recorder()
    trainer, loader = tiny_run([Boom(), r], max_epochs=3)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(loader)
    assert r.calls[-1] == ("on_exception",)
    (error,) = r.arguments["on_exception"][0]
    assert isinstance(error, RuntimeError)
    assert ("on_fit_end",) not in r.calls


def test_only_overridden_hooks_are_called_per_batch():
    class EpochOnly(lamina.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            pass

    table = implemented_hooks([EpochOnly(), Recorder()])
    assert len(table["on_epoch_end"]) == 2
    assert len(table["on_train_batch_start"]) == 1


def test_history_is_kept_per_fit_and_a_passed_history_is_the_trainers_own():
    history = lamina.callbacks.History()
    trainer, loader = tiny_run([history], max_epochs=2)
    assert trainer.fit(loader) is history and history.epochs == [0, 1]
    trainer.fit(loader)  # a new fit starts a new record
    assert history.epochs == [0, 1] and len(history["loss"]) == 2


def test_callback_mistakes_are_reported_by_position():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="callback 0 is the class EarlyStopping; pass an instance"):
        lamina.Trainer(model, nn.MSELoss(), opt, callbacks=[lamina.callbacks.EarlyStopping])
    with pytest.raises(TypeError, match="callback 1 is a str"):
        lamina.Trainer(model, nn.MSELoss(), opt, callbacks=[Recorder(), "early"])
    with pytest.raises(ValueError, match="grad_accumulation=0"):
        lamina.Trainer(model, nn.MSELoss(), opt, grad_accumulation=0)
    with pytest.raises(ValueError, match="scheduler_interval='batch'"):
        lamina.Trainer(model, nn.MSELoss(), opt, scheduler_interval="batch")
