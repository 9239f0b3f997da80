"""Edited checkpoints: a resume either refuses the file in one line or continues with the user's own
command-line paths and hyper-parameters; it never writes anywhere else and never corrupts weights."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import lamina
from lamina import nn, optim
from lamina.saving.checkpoint_checks import CheckpointMismatch, check_optimizer_state

CONFIG = """
seed = 1
[data]
dataset = { name = "circle", n = 60, seed = 1 }
test_size = 20
batch_size = 20
[model]
layers = [{ name = "Linear", in_features = 2, out_features = 3 }, { name = "ReLU" },
          { name = "Linear", in_features = 3, out_features = 1 }, { name = "Sigmoid" }]
[loss]
name = "BCELoss"
[optimizer]
name = "Adam"
lr = 0.01
[scheduler]
name = "StepLR"
step_size = 2
[[callbacks]]
name = "EarlyStopping"
monitor = "loss"
patience = 5
[trainer]
max_epochs = 3
"""


def lamina_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lamina.cli", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A one-epoch run's checkpoint, as JSON text, made once for every test here."""
    folder = tmp_path_factory.mktemp("first")
    (folder / "run.toml").write_text(CONFIG)
    done = lamina_cli("train", "run.toml", "--epochs", "1", "--checkpoint", "ck.json", cwd=folder)
    assert done.returncode == 0, done.stderr
    return (folder / "ck.json").read_text()


def edited(first_run, tmp_path, edit):
    (tmp_path / "run.toml").write_text(CONFIG)
    document = json.loads(first_run)
    edit(document["checkpoint"]["dict"])
    (tmp_path / "evil.json").write_text(json.dumps(document))
    return lamina_cli("train", "run.toml", "--resume", "evil.json", "--checkpoint", "mine.json", cwd=tmp_path)


def refused_in_one_line(done, *words):
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lamina train: error: cannot resume from evil.json"), lines
    for word in words:
        assert word in lines[0], lines[0]


def callback_state(checkpoint, name):
    return checkpoint["callbacks"]["dict"][name]["dict"]


def test_a_saved_path_in_a_checkpoint_never_chooses_where_lamina_writes(first_run, tmp_path):
    # Finding 1: ModelCheckpoint.load_state_dict set every key as an attribute, "path" included.
    def point_at_victim(checkpoint):
        callback_state(checkpoint, "ModelCheckpoint")["path"] = "victim.json"

    done = edited(first_run, tmp_path, point_at_victim)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "victim.json").exists()
    assert (tmp_path / "mine.json").exists()


def test_an_edited_schedule_hyper_parameter_is_refused_in_one_line(first_run, tmp_path):
    # Finding 1: vars(self).update(state) took step_size=0 past its validator (ZeroDivisionError).
    def zero_step(checkpoint):
        checkpoint["scheduler"]["dict"]["step_size"] = 0

    refused_in_one_line(edited(first_run, tmp_path, zero_step), "step_size")
    assert not (tmp_path / "mine.json").exists()


def test_a_scheduler_takes_only_the_keys_its_state_dict_declares():
    model = nn.Sequential(nn.Linear(2, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    schedule = optim.lr_scheduler.StepLR(opt, step_size=2)
    state = schedule.state_dict()
    schedule.load_state_dict({**state, "optimizer": "not an optimizer", "path": "victim.json"})
    assert schedule.optimizer is opt and not hasattr(schedule, "path")


@pytest.mark.parametrize("key, value", [("wait", -3), ("best", "low"), ("best_weights", [1, 2])])
def test_an_edited_callback_state_is_refused_by_its_declared_fields(first_run, tmp_path, key, value):
    def edit(checkpoint):
        callback_state(checkpoint, "EarlyStopping")[key] = value

    refused_in_one_line(edited(first_run, tmp_path, edit), "EarlyStopping", repr(key))


def test_optimizer_state_of_the_wrong_shape_is_refused_before_it_touches_the_weights(first_run, tmp_path):
    # Finding 3: pure Python shrank a (3, 2) weight to (1, 1) after one step.
    def shrink(checkpoint):
        first = checkpoint["optimizer"]["dict"]["state"]["pairs"][0][1]["dict"]
        first["exp_avg"] = {"tensor": {"shape": [1, 1], "data": [0.5]}}

    refused_in_one_line(edited(first_run, tmp_path, shrink), "exp_avg", "(3, 2)")


def test_an_optimizer_state_index_of_minus_one_is_refused(first_run, tmp_path):
    # Finding 3: index -1 landed on the last parameter.
    def negative(checkpoint):
        checkpoint["optimizer"]["dict"]["state"]["pairs"][3][0] = -1

    refused_in_one_line(edited(first_run, tmp_path, negative), "-1", "parameter index")


def test_optimizer_load_state_dict_itself_refuses_a_negative_index():
    model = nn.Sequential(nn.Linear(2, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["state"] = {-1: {"momentum_buffer": lamina.zeros(1, 1)}}
    with pytest.raises(KeyError):
        opt.load_state_dict(state)
    with pytest.raises(CheckpointMismatch, match="not a parameter index"):
        check_optimizer_state(opt, state)


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["rng"][1].__setitem__(0, 2**64), ["rng"]),
    (lambda c: c["trainer"]["dict"].__setitem__("batches_done", 99), ["batches_done"]),
    (lambda c: c["trainer"]["dict"].__setitem__("epoch", -2), ["epoch"]),
    (lambda c: c["optimizer"]["dict"]["param_groups"][0]["dict"].__setitem__("lr", "fast"), ["lr"]),
])
def test_edited_progress_generator_and_groups_give_one_line_not_a_traceback(first_run, tmp_path, edit, words):
    # Finding 4: OverflowError (a generator word of 2**64), StopIteration (more batches done
    # than the epoch has) and IndexError on resume.
    refused_in_one_line(edited(first_run, tmp_path, edit), *words)


def test_learning_rate_monitor_restores_only_lists_of_rates():
    monitor = lamina.callbacks.LearningRateMonitor()
    monitor.load_state_dict({"lrs": {"lr-Adam": [0.1, 0.05]}})
    assert monitor.lrs == {"lr-Adam": [0.1, 0.05]}
    with pytest.raises(ValueError, match="LearningRateMonitor's saved state 'lrs'"):
        monitor.load_state_dict({"lrs": {"lr-Adam": "0.1"}, "path": "victim.json"})


def test_history_restores_only_epoch_numbers_and_numbers_per_epoch():
    history = lamina.registry().create("callbacks", "History")
    history.load_state_dict({"epochs": [0, 1], "history": {"loss": [0.5, 0.25], "val_loss": [0.4]}})
    assert history.epochs == [0, 1] and history["loss"] == [0.5, 0.25] and history["val_loss"] == [0.4]
    for bad, words in [({"epochs": 2, "history": {}}, "'epochs': expected a list of epoch numbers, found 2"),
                       ({"epochs": [0], "history": [1.0]}, "'history': expected a table of lists"),
                       ({"epochs": [0], "history": {"loss": "0.5"}}, r"\['loss'\]: expected a list of numbers, at most one"),
                       ({"epochs": [0], "history": {"loss": [0.5, 0.4]}}, "one for each of the 1 saved epochs"),
                       ({"epochs": [0], "history": {"loss": [True]}}, "found \\[True\\]"),
                       ("not a table", "'epochs': expected a list of epoch numbers, found nothing")]:
        with pytest.raises(ValueError, match=words):
            history.load_state_dict(bad)
    assert history.epochs == [0, 1] and history["loss"] == [0.5, 0.25]  # nothing half-loaded


def test_best_weights_that_do_not_fit_the_model_are_refused_before_training(first_run, tmp_path):
    # EarlyStopping loads them into the model when the run ends: found out then, the run is lost.
    def wrong_weights(checkpoint):
        callback_state(checkpoint, "EarlyStopping")["best_weights"] = {"dict": {"0.weight": [[1.0]]}}

    done = edited(first_run, tmp_path, wrong_weights)
    refused_in_one_line(done, "best_weights")
    assert "Epoch" not in done.stdout
