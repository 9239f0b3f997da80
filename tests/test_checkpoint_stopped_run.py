"""A checkpoint of a run EarlyStopping ended records it; resuming it trains nothing and overwrites nothing."""

import pytest

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

REASON = "EarlyStopping stopped it after epoch 1: loss had not improved for 1 epoch"


def make_trainer(order, max_epochs=40):
    lamina.manual_seed(0)
    x = lamina.randn(32, 2)
    model = nn.Sequential(nn.Linear(2, 1))
    early = lamina.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    checkpoint = lamina.callbacks.ModelCheckpoint("last.json")
    callbacks = [early, checkpoint] if order == "early first" else [checkpoint, early]
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             callbacks=callbacks, max_epochs=max_epochs)
    return trainer, DataLoader(TensorDataset(x, lamina.randn(32, 1)), batch_size=8)


@pytest.mark.parametrize("order", ["early first", "checkpoint first"])
def test_resuming_a_run_early_stopping_ended_trains_nothing(order, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    trainer, loader = make_trainer(order)
    history = trainer.fit(loader)
    epochs = list(history.epochs)
    assert len(epochs) == 2  # the first epoch sets `best`; the second cannot improve by 10
    saved = lamina.load("last.json")
    assert saved["trainer"]["stopped"] == REASON
    before = (tmp_path / "last.json").read_bytes()

    resumed, loader = make_trainer(order)
    history = resumed.fit(loader, resume_from="last.json")
    assert list(history.epochs) == epochs
    assert resumed.global_step == trainer.global_step
    assert resumed.stop_reason == REASON
    assert (tmp_path / "last.json").read_bytes() == before
    message = capsys.readouterr().err.strip().splitlines()
    assert message == [f"last.json: the run it holds is finished ({REASON}); "
                       "nothing to resume, no training done"]
    for got, want in zip(resumed.model.parameters(), trainer.model.parameters()):
        assert got.tolist() == want.tolist()


def test_a_run_that_was_not_stopped_still_resumes_and_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer, loader = make_trainer("early first", max_epochs=1)
    trainer.fit(loader)
    assert "stopped" not in lamina.load("last.json")["trainer"]
    resumed, loader = make_trainer("early first", max_epochs=2)
    assert len(resumed.fit(loader, resume_from="last.json").epochs) == 2


def test_a_stopped_flag_that_is_not_text_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer, loader = make_trainer("early first")
    trainer.fit(loader)
    saved = lamina.load("last.json")
    saved["trainer"]["stopped"] = 3
    lamina.save(saved, "last.json")
    resumed, loader = make_trainer("early first")
    with pytest.raises(ValueError, match=r"cannot resume from last.json: trainer.stopped: expected text"):
        resumed.fit(loader, resume_from="last.json")


def test_a_callback_that_stops_without_a_reason_leaves_the_run_resumable(tmp_path, monkeypatch):
    """tests/test_trainer_resume.py stops runs this way to resume them in another process."""
    class Stop(lamina.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.should_stop = True

    monkeypatch.chdir(tmp_path)
    trainer, loader = make_trainer("early first")
    trainer.callbacks.insert(0, Stop())
    trainer.fit(loader)
    assert "stopped" not in lamina.load("last.json")["trainer"]
