"""EarlyStopping: patience, min_delta, mode and restore_best_weights. The monitored value is
scripted, so the right stopping epoch is known exactly."""

import pytest

import lamina
from lamina import nn, optim
from lamina.callbacks import EarlyStopping
from lamina.data import DataLoader, TensorDataset


class Scripted(lamina.Callback):
    """Puts a scripted 'score' into each epoch's logs and keeps a copy of the weights per epoch."""

    def __init__(self, scores):
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.scores[epoch]
        self.weights.append(trainer.model.state_dict())


def run(scores, stopping):
    lamina.manual_seed(1)
    x = lamina.randn(8, 2)
    model = nn.Linear(2, 1)
    scripted = Scripted(scores)
    trainer = lamina.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                             callbacks=[scripted, stopping], max_epochs=len(scores))
    history = trainer.fit(DataLoader(TensorDataset(x, x.sum(1)), batch_size=4))
    return trainer, scripted, history


def as_lists(state):
    return {key: value.tolist() for key, value in state.items()}


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best_weights():
    stopping = EarlyStopping(monitor="score", patience=2, mode="min", restore_best_weights=True)
    trainer, scripted, history = run([5.0, 4.0, 3.0, 3.5, 3.2, 1.0, 0.5], stopping)
    assert history.epochs == [0, 1, 2, 3, 4]  # best at epoch 2; epochs 3 and 4 do not improve
    assert (stopping.best, stopping.best_epoch, stopping.stopped_epoch) == (3.0, 2, 4)
    assert as_lists(trainer.model.state_dict()) == as_lists(scripted.weights[2])
    assert as_lists(scripted.weights[2]) != as_lists(scripted.weights[4])


def test_without_restore_the_last_weights_stay():
    stopping = EarlyStopping(monitor="score", patience=1)
    trainer, scripted, history = run([3.0, 3.0, 1.0], stopping)
    assert history.epochs == [0, 1]
    assert as_lists(trainer.model.state_dict()) == as_lists(scripted.weights[1])


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
    assert as_lists(trainer.model.state_dict()) == as_lists(scripted.weights[1])


def test_a_missing_monitor_names_the_logged_keys_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"EarlyStopping\(monitor='val_loss'\): the epoch logs have no 'val_loss', "
                                         r"only loss, lr, score; pass a val_loader to fit"):
        run([1.0, 2.0], EarlyStopping())
    with pytest.raises(ValueError, match=r"EarlyStopping\(patience=-1\)"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'min', 'max', got 'up'"):
        EarlyStopping(mode="up")
