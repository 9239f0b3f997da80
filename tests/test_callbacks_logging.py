"""CSVLogger writes one exact row per epoch; LearningRateMonitor records every group's rate."""

import csv

import pytest

import lamina
from lamina import nn, optim
from lamina.callbacks import CSVLogger, LearningRateMonitor
from lamina.data import DataLoader, TensorDataset


def fit(callbacks, max_epochs=3, param_groups=None, scheduler=None, **options):
    lamina.manual_seed(2)
    x = lamina.randn(12, 2)
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    groups = param_groups(model) if param_groups else model.parameters()
    opt = optim.SGD(groups, lr=0.1)
    trainer = lamina.Trainer(model, nn.MSELoss(), opt, callbacks=callbacks, max_epochs=max_epochs,
                             metrics=["mae"], scheduler=scheduler(opt) if scheduler else None, **options)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)
    return trainer, trainer.fit(loader, loader)


def test_csv_rows_hold_each_epochs_logs_exactly(tmp_path):
    path = tmp_path / "log.csv"
    _, history = fit([CSVLogger(str(path))])
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae", "lr"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    assert [float(row["val_loss"]) for row in rows] == history["val_loss"]  # repr round-trips


def test_csv_append_keeps_an_earlier_run_and_a_new_run_starts_afresh(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(str(path))], max_epochs=2)
    fit([CSVLogger(str(path), append=True)], max_epochs=2)
    assert [line.split(",")[0] for line in path.read_text().splitlines()] == ["epoch", "0", "1", "0", "1"]
    fit([CSVLogger(str(path), separator=";")], max_epochs=1)
    assert path.read_text().splitlines()[0] == "epoch;loss;mae;val_loss;val_mae;lr"
    assert len(path.read_text().splitlines()) == 2


def test_learning_rate_monitor_records_each_group_per_epoch_or_per_step():
    def two_groups(model):
        return [{"params": model.parameters()[:2]}, {"params": model.parameters()[2:], "lr": 0.01}]

    halving = lambda opt: optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    per_epoch = LearningRateMonitor()
    fit([per_epoch], param_groups=two_groups, scheduler=halving)
    assert per_epoch.lrs == {"lr-SGD": [0.1, 0.05, 0.025], "lr-SGD/pg1": [0.01, 0.005, 0.0025]}

    per_step = LearningRateMonitor(logging_interval="step")
    fit([per_step], max_epochs=1, scheduler=halving, scheduler_interval="step")
    assert per_step.lrs == {"lr-SGD": [0.1, 0.05, 0.025]}  # 3 batches, one step each
    with pytest.raises(ValueError, match="logging_interval must be one of 'epoch', 'step', got 'batch'"):
        LearningRateMonitor(logging_interval="batch")
