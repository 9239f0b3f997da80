"""ModelCheckpoint: what it writes, when, and that a write failing midway leaves the last good file."""

import os

import pytest

import lamina
from lamina import nn, optim
from lamina.callbacks import ModelCheckpoint
from lamina.data import DataLoader, TensorDataset


class Scripted(lamina.Callback):
    """A scripted 'score' in each epoch's logs, and a copy of the weights at each epoch's end."""

    def __init__(self, scores):
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.scores[epoch]
        self.weights.append({key: value.tolist() for key, value in trainer.model.state_dict().items()})


def run(scores, checkpoint):
    lamina.manual_seed(1)
    x = lamina.randn(8, 2)
    model = nn.Linear(2, 1)
    scripted = Scripted(scores)
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             callbacks=[scripted, checkpoint], max_epochs=len(scores))
    trainer.fit(DataLoader(TensorDataset(x, x.sum(1)), batch_size=4))
    return trainer, scripted


def saved_weights(path):
    return {key: value.tolist() for key, value in lamina.load(path)["model"].items()}


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    path = str(tmp_path / "best.json")
    checkpoint = ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True)
    _, scripted = run([3.0, 1.0, 2.0, 0.5, 4.0, 0.7], checkpoint)
    assert saved_weights(path) == scripted.weights[3]
    assert lamina.load(path)["trainer"]["epoch"] == 4  # resumes after the best epoch
    assert (checkpoint.best, checkpoint.best_epoch, checkpoint.best_path) == (0.5, 3, path)


def test_a_path_template_names_each_file_and_save_best_only_writes_only_improvements(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt-{epoch}-{score:.1f}.json"), monitor="score",
                                 save_best_only=True)
    _, scripted = run([3.0, 1.0, 2.0, 0.5, 4.0], checkpoint)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-0-3.0.json", "ckpt-1-1.0.json", "ckpt-3-0.5.json"]
    assert checkpoint.best_path == str(tmp_path / "ckpt-3-0.5.json")
    assert saved_weights(checkpoint.best_path) == scripted.weights[3]


def test_every_n_epochs(tmp_path):
    run([0.0] * 5, ModelCheckpoint(str(tmp_path / "e{epoch}.json"), every_n_epochs=2))
    assert sorted(os.listdir(tmp_path)) == ["e1.json", "e3.json"]


def test_a_write_failing_midway_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = str(tmp_path / "latest.json")

    class FailAfterEpoch0(lamina.Callback):
        """From epoch 1 on, every file write stops halfway with a full disk."""

        def on_epoch_start(self, trainer, epoch):
            if epoch == 1:
                monkeypatch.setattr(os, "fdopen", half_writing(os.fdopen))

    def half_writing(fdopen):
        def opened(*args, **kwargs):
            stream = fdopen(*args, **kwargs)
            write = stream.write

            def write_half(data):
                write(data[: len(data) // 2])
                raise OSError(28, "No space left on device")

            stream.write = write_half
            return stream

        return opened

    scripted = Scripted([0.0] * 4)
    lamina.manual_seed(1)
    x = lamina.randn(8, 2)
    model = nn.Linear(2, 1)
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             callbacks=[FailAfterEpoch0(), scripted, ModelCheckpoint(path)], max_epochs=4)
    with pytest.raises(OSError, match="No space left"):
        trainer.fit(DataLoader(TensorDataset(x, x.sum(1)), batch_size=4))
    monkeypatch.undo()
    assert len(scripted.weights) == 2  # epoch 1 ended, and its checkpoint write failed
    assert saved_weights(path) == scripted.weights[0]
    assert lamina.load(path)["trainer"]["epoch"] == 1
    assert os.listdir(tmp_path) == ["latest.json"]  # no half-written temporary file left behind


def test_a_checkpoint_holds_a_usable_model_state(tmp_path):
    path = str(tmp_path / "latest.json")
    trainer, _ = run([0.0] * 3, ModelCheckpoint(path))
    fresh = nn.Linear(2, 1)
    fresh.load_state_dict(lamina.load(path)["model"])
    x = lamina.randn(5, 2)
    assert fresh(x).tolist() == trainer.model(x).tolist()


def test_argument_mistakes():
    with pytest.raises(ValueError, match="save_best_only=True\\) needs a monitor"):
        ModelCheckpoint("x.json", save_best_only=True)
    with pytest.raises(ValueError, match="every_n_epochs must be >= 1, got 0"):
        ModelCheckpoint("x.json", every_n_epochs=0)


def test_a_template_naming_a_missing_value_says_which_values_there_are(tmp_path):
    with pytest.raises(ValueError, match=r"cannot fill it in from epoch and loss, lr, score \('val_loss'\)"):
        run([0.0], ModelCheckpoint(str(tmp_path / "{val_loss}.json")))
