"""EarlyStopping and ModelCheckpoint, on a scripted monitored value so that the right epochs are
known exactly; and a checkpoint write failing midway leaves the last good file."""

import os

import pytest

import lamina
from lamina import nn, optim
from lamina.callbacks import EarlyStopping, ModelCheckpoint
from lamina.data import DataLoader, TensorDataset


class Scripted(lamina.Callback):
    """A scripted 'score' in each epoch's logs, and a copy of the weights at each epoch's end."""

    def __init__(self, scores):
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.scores[epoch]
        self.weights.append(weights_of(trainer.model))


def run(scores, callback):
    lamina.manual_seed(1)
    x = lamina.randn(8, 2)
    model = nn.Linear(2, 1)
    scripted = Scripted(scores)
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             callbacks=[scripted, callback], max_epochs=len(scores))
    history = trainer.fit(DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4))
    return trainer, scripted, history


def weights_of(model):
    return {key: value.tolist() for key, value in model.state_dict().items()}


def saved_weights(path):
    return weights_of(lamina.load(path)["model"])


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    path = str(tmp_path / "best.json")
    checkpoint = ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True)
    _, scripted, _ = run([3.0, 1.0, 2.0, 0.5, 4.0, 0.7], checkpoint)
    assert saved_weights(path) == scripted.weights[3]
    assert lamina.load(path)["trainer"]["epoch"] == 4  # resumes after the best epoch
    assert (checkpoint.best, checkpoint.best_epoch, checkpoint.best_path) == (0.5, 3, path)


def test_a_path_template_names_each_file_and_save_best_only_writes_only_improvements(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt-{epoch}-{score:.1f}.json"), monitor="score",
                                 save_best_only=True)
    _, scripted, _ = run([3.0, 1.0, 2.0, 0.5, 4.0], checkpoint)
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
        trainer.fit(DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4))
    monkeypatch.undo()
    assert len(scripted.weights) == 2  # epoch 1 ended, and its checkpoint write failed
    assert saved_weights(path) == scripted.weights[0]
    assert lamina.load(path)["trainer"]["epoch"] == 1
    assert os.listdir(tmp_path) == ["latest.json"]  # no half-written temporary file left behind


def test_a_checkpoint_holds_the_model_itself_or_the_weights_of_an_unregistered_one(tmp_path):
    path = str(tmp_path / "latest.json")
    trainer, _, _ = run([0.0] * 3, ModelCheckpoint(path))
    x = lamina.randn(5, 2)
    assert lamina.load(path)["model"](x).tolist() == trainer.model(x).tolist()

    class Unregistered(nn.Module):
        def __init__(self):
            self.inner = nn.Linear(2, 1)

        def forward(self, x):
            return self.inner(x)

        def backward(self, grad):
            return self.inner.backward(grad)

    model = Unregistered()
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), max_epochs=2,
                             callbacks=[ModelCheckpoint(path)])
    trainer.fit(DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2))
    assert lamina.load(path)["model"]["inner.weight"].tolist() == model.inner.weight.tolist()
    fresh = Unregistered()
    lamina.Trainer(fresh, nn.MSELoss(), optim.SGD(fresh.parameters(), lr=0.1), max_epochs=2).fit(
        DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2), resume_from=path
    )
    assert fresh.inner.weight.tolist() == model.inner.weight.tolist()


def test_argument_mistakes():
    with pytest.raises(ValueError, match="save_best_only=True\\) needs a monitor"):
        ModelCheckpoint("x.json", save_best_only=True)
    with pytest.raises(ValueError, match="every_n_epochs must be >= 1, got 0"):
        ModelCheckpoint("x.json", every_n_epochs=0)


def test_a_template_naming_a_missing_value_says_which_values_there_are(tmp_path):
    with pytest.raises(ValueError, match=r"cannot fill it in from epoch and loss, lr, score \('val_loss'\)"):
        run([0.0], ModelCheckpoint(str(tmp_path / "{val_loss}.json")))


# --- EarlyStopping ---------------------------------------------------------------------------


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best_weights():
    stopping = EarlyStopping(monitor="score", patience=2, mode="min", restore_best_weights=True)
    trainer, scripted, history = run([5.0, 4.0, 3.0, 3.5, 3.2, 1.0, 0.5], stopping)
    assert history.epochs == [0, 1, 2, 3, 4]  # best at epoch 2; epochs 3 and 4 do not improve
    assert (stopping.best, stopping.best_epoch, stopping.stopped_epoch) == (3.0, 2, 4)
    assert weights_of(trainer.model) == (scripted.weights[2])
    assert (scripted.weights[2]) != (scripted.weights[4])


def test_without_restore_the_last_weights_stay():
    stopping = EarlyStopping(monitor="score", patience=1)
    trainer, scripted, history = run([3.0, 3.0, 1.0], stopping)
    assert history.epochs == [0, 1]
    assert weights_of(trainer.model) == (scripted.weights[1])


def test_min_delta_and_max_mode():
    # gains of 0.05 are not improvements with min_delta 0.1; in max mode (auto for accuracies) up is better
    stopping = EarlyStopping(monitor="score", min_delta=0.1, patience=2, mode="max")
    _, _, history = run([0.5, 0.55, 0.6, 0.62, 0.9], stopping)
    assert history.epochs == [0, 1, 2] and stopping.best == 0.5
    assert EarlyStopping(monitor="val_accuracy")._monitor.mode == "max"
    assert EarlyStopping(monitor="val_loss")._monitor.mode == "min"


def test_a_restored_run_that_never_stopped_early_still_ends_on_its_best_weights():
    stopping = EarlyStopping(monitor="score", patience=10, restore_best_weights=True)
    trainer, scripted, history = run([2.0, 1.0, 1.5], stopping)
    assert len(history) == 3 and stopping.stopped_epoch is None
    assert weights_of(trainer.model) == (scripted.weights[1])


def test_a_missing_monitor_names_the_logged_keys_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"EarlyStopping\(monitor='val_loss'\): the epoch logs have no 'val_loss', "
                                         r"only loss, lr, score; give fit a val_loader, or, with `lamina train`, set \[data\] validation_size"):
        run([1.0, 2.0], EarlyStopping())
    with pytest.raises(ValueError, match=r"EarlyStopping\(patience=-1\)"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'min', 'max', got 'up'"):
        EarlyStopping(mode="up")
