"""Training never loses work: a run stopped and resumed from its checkpoint, in a new process or
after Ctrl-C in the middle of an epoch, ends bit-identical to a run that was never interrupted.

Run as a script (`python test_trainer_resume.py CHECKPOINT OUT`), this file resumes the run from
CHECKPOINT and writes the final weights and history to OUT: the "new process" of the first test.
"""

import json
import os
import signal
import subprocess
import sys

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

EPOCHS = 8


def build_run(callbacks=()):
    """Dropout, a shuffled loader, Adam and a cosine schedule: every source of run-to-run state."""
    lamina.manual_seed(7)
    x, y = lamina.registry().create("datasets", "circle", n=120, seed=3)
    model = nn.Sequential(nn.Linear(2, 12), nn.ReLU(), nn.Dropout(0.25), nn.Linear(12, 1), nn.Sigmoid())
    opt = optim.Adam(model.parameters(), lr=0.02)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    trainer = lamina.Trainer(
        model, nn.BCELoss(), opt, scheduler=schedule, callbacks=list(callbacks),
        max_epochs=EPOCHS, metrics=["accuracy"],
    )
    train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=16, shuffle=True)
    validation = DataLoader(TensorDataset(x[90:], y[90:]), batch_size=30)
    return trainer, train, validation


def outcome(trainer):
    return {
        "weights": {key: value.tolist() for key, value in trainer.model.state_dict().items()},
        "history": trainer.history.history,
        "epochs": trainer.history.epochs,
        "lr": trainer.optimizer.param_groups[0]["lr"],
        "global_step": trainer.global_step,
    }


class StopAfterEpoch(lamina.Callback):
    def __init__(self, last_epoch):
        self.last_epoch = last_epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.last_epoch:
            trainer.should_stop = True


def uninterrupted():
    trainer, train, validation = build_run()
    trainer.fit(train, validation)
    return outcome(trainer)


def test_a_run_stopped_after_epoch_4_and_resumed_in_a_new_process_is_bit_identical(tmp_path):
    checkpoint = str(tmp_path / "run.json")
    trainer, train, validation = build_run([StopAfterEpoch(3), lamina.callbacks.ModelCheckpoint(checkpoint)])
    history = trainer.fit(train, validation)
    assert history.epochs == [0, 1, 2, 3]

    out = tmp_path / "resumed.json"
    subprocess.run([sys.executable, __file__, checkpoint, str(out)], check=True, timeout=120)
    resumed = json.loads(out.read_text())

    expected = uninterrupted()
    assert resumed["epochs"] == list(range(EPOCHS))
    assert resumed["weights"] == expected["weights"]
    assert resumed["history"] == expected["history"]
    assert resumed["lr"] == expected["lr"] and resumed["global_step"] == expected["global_step"]
    assert resumed["weights"] != outcome(trainer)["weights"]  # the second half did train


class CtrlCAt(lamina.Callback):
    """Sends this process SIGINT, as a terminal's Ctrl-C would, after one batch of one epoch."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
        if (trainer.epoch, batch_index) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


class SeesException(lamina.Callback):
    def __init__(self):
        self.errors = []

    def on_exception(self, trainer, error):
        self.errors.append(error)


def test_ctrl_c_mid_epoch_checkpoints_cleanly_and_resumes_bit_identically(tmp_path):
    checkpoint = str(tmp_path / "run.json")
    seen = SeesException()
    trainer, train, validation = build_run([CtrlCAt(2, 3), lamina.callbacks.ModelCheckpoint(checkpoint), seen])
    history = trainer.fit(train, validation)  # returns: no KeyboardInterrupt escapes
    assert trainer.interrupted and len(seen.errors) == 1 and isinstance(seen.errors[0], KeyboardInterrupt)
    assert history.epochs == [0, 1]
    assert (trainer.epoch, trainer.batches_done) == (2, 4)
    assert lamina.load(checkpoint)["trainer"]["batches_done"] == 4

    resumed, train, validation = build_run([lamina.callbacks.ModelCheckpoint(checkpoint)])
    resumed.fit(train, validation, resume_from=checkpoint)
    assert outcome(resumed) == uninterrupted()


def test_ctrl_c_in_the_last_batch_of_an_epoch_resumes_into_that_epochs_end(tmp_path):
    """Every batch of epoch 2 done, its end (validation, schedule, logs) not yet run."""
    checkpoint = str(tmp_path / "run.json")
    trainer, train, validation = build_run([CtrlCAt(2, len(train_batches()) - 1), lamina.callbacks.ModelCheckpoint(checkpoint)])
    trainer.fit(train, validation)
    assert trainer.interrupted and (trainer.epoch, trainer.batches_done) == (2, len(train_batches()))
    resumed, train, validation = build_run([lamina.callbacks.ModelCheckpoint(checkpoint)])
    resumed.fit(train, validation, resume_from=checkpoint)
    assert outcome(resumed) == uninterrupted()


def train_batches():
    return list(build_run()[1])


class CtrlCInValidation(lamina.Callback):
    def on_validation_start(self, trainer):
        if trainer.epoch == 4:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_validation_stops_once_the_epoch_has_ended(tmp_path):
    checkpoint = str(tmp_path / "run.json")
    trainer, train, validation = build_run([CtrlCInValidation(), lamina.callbacks.ModelCheckpoint(checkpoint)])
    history = trainer.fit(train, validation)
    assert trainer.interrupted and history.epochs == [0, 1, 2, 3, 4]
    assert trainer.stop_reason == "interrupted at epoch 5, after 0 batches"
    resumed, train, validation = build_run()
    resumed.fit(train, validation, resume_from=checkpoint)
    assert outcome(resumed) == uninterrupted()


def test_resume_keeps_the_callbacks_state_and_the_csv_rows_before_the_checkpoint(tmp_path):
    checkpoint, log = str(tmp_path / "run.json"), str(tmp_path / "log.csv")
    stopping = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=50)
    trainer, train, validation = build_run(
        [StopAfterEpoch(4), stopping, lamina.callbacks.ModelCheckpoint(checkpoint, every_n_epochs=2),
         lamina.callbacks.CSVLogger(log)]
    )
    trainer.fit(train, validation)  # checkpoints after epochs 1 and 3; logs epochs 0..4
    resumed_stopping = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=50)
    resumed, train, validation = build_run([resumed_stopping, lamina.callbacks.CSVLogger(log)])
    resumed.fit(train, validation, resume_from=checkpoint)
    with open(log) as rows:
        epochs = [line.split(",")[0] for line in rows.read().splitlines()]
    assert epochs == ["epoch", *map(str, range(EPOCHS))]
    expected = uninterrupted()["history"]["val_loss"]
    assert resumed_stopping.best == min(expected)
    assert resumed_stopping.best_epoch == expected.index(min(expected))


def test_resuming_from_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    import pytest

    trainer, train, _ = build_run()
    model_file = str(tmp_path / "model.json")
    lamina.save(trainer.model, model_file)
    with pytest.raises(ValueError, match="model.json holds a .*, not a training checkpoint"):
        trainer.fit(train, resume_from=model_file)
    partial = str(tmp_path / "partial.json")
    lamina.save({"model": trainer.model.state_dict()}, partial)
    expected = "cannot resume from .*partial.json: not a training checkpoint: it has no 'optimizer'"
    with pytest.raises(ValueError, match=expected):
        trainer.fit(train, resume_from=partial)


if __name__ == "__main__":
    checkpoint, out = sys.argv[1:]
    trainer, train, validation = build_run()
    trainer.fit(train, validation, resume_from=checkpoint)
    with open(out, "w") as stream:
        json.dump(outcome(trainer), stream)
