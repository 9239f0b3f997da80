"""lamina-jsonl: lamina's conformance checks, and the lines it writes during real Trainer runs."""

import json

import pytest

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset


@pytest.mark.lamina_conformance(distribution="lamina-jsonl")
def test_conformance(lamina_check):
    lamina_check()


def run(callback, epochs=4, fail_at=None):
    lamina.manual_seed(0)
    x = lamina.randn(20, 2)
    y = (x @ lamina.tensor([[1.0], [-2.0]]) > 0.0) * 1.0
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())

    class Fail(lamina.Callback):
        def on_epoch_start(self, trainer, epoch):
            if epoch == fail_at:
                raise RuntimeError("stop here")

    trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5),
                             callbacks=[callback, Fail()], max_epochs=epochs, metrics=["accuracy"])
    return trainer.fit(DataLoader(TensorDataset(x, y), batch_size=5), DataLoader(TensorDataset(x, y), batch_size=20))


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_line_per_epoch_holding_the_trainer_s_logs(tmp_path):
    path = tmp_path / "runs" / "metrics.jsonl"
    history = run(lamina.callbacks.JSONLinesLogger(path))
    lines = read(path)
    assert [line["epoch"] for line in lines] == [0, 1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert [line[key] for line in lines] == history[key]


def test_every_n_epochs_keeps_the_last(tmp_path):
    path = tmp_path / "m.jsonl"
    run(lamina.callbacks.JSONLinesLogger(path, every=2), epochs=5)
    assert [line["epoch"] for line in read(path)] == [0, 2, 4]
    run(lamina.callbacks.JSONLinesLogger(path, every=3), epochs=5)
    assert [line["epoch"] for line in read(path)] == [0, 3, 4]


def test_a_new_fit_starts_afresh_unless_appending(tmp_path):
    path = tmp_path / "m.jsonl"
    run(lamina.callbacks.JSONLinesLogger(path), epochs=2)
    run(lamina.callbacks.JSONLinesLogger(path), epochs=2)
    assert len(read(path)) == 2
    logger = lamina.callbacks.JSONLinesLogger(path, append=True)
    run(logger, epochs=3)
    assert len(read(path)) == 5 and logger.state_dict() == {"epochs_written": 3}


def test_finished_epochs_survive_a_crash(tmp_path):
    path = tmp_path / "m.jsonl"
    logger = lamina.callbacks.JSONLinesLogger(path)
    with pytest.raises(RuntimeError, match="stop here"):
        run(logger, epochs=5, fail_at=2)
    assert [line["epoch"] for line in read(path)] == [0, 1]
    assert logger.file is None  # closed on the way out


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"JSONLinesLogger\(every=0\): every must be >= 1, got 0"):
        lamina.callbacks.JSONLinesLogger(every=0)
