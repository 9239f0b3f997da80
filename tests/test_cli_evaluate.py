"""`lamina evaluate` scores what it says it scores: a run's held-out rows with --config, else every row."""

import pytest

from lamina.cli import app as cli

CONFIG = """
seed = 5
[data]
dataset = { name = "circle" }
test_size = 100
validation_size = 0.2
batch_size = 50
[model]
layers = [{ name = "Linear", in_features = 2, out_features = 1 }, { name = "Sigmoid" }]
[loss]
name = "BCELoss"
[optimizer]
name = "Adam"
lr = 0.05
[trainer]
max_epochs = 3
metrics = ["accuracy"]
"""


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def trained(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.toml").write_text(CONFIG)
    code, out, _ = run(capsys, "train", "run.toml", "--out", "m.json")
    assert code in (0, None)
    return out


def test_with_the_run_config_it_scores_the_held_out_rows_as_train_did(trained, capsys):
    code, out, _ = run(capsys, "evaluate", "m.json", "--config", "run.toml", "--loss", "BCELoss")
    assert code in (0, None)
    lines = out.splitlines()
    assert lines[:2] == ["Samples: 100",
                         "Rows: the 100 held-out test rows of run.toml ([data] test_size, the last rows)"]
    test = {line.split(": ")[0]: line.split(": ")[1] for line in trained.splitlines() if line.startswith("Test ")}
    assert lines[2] == f"BCELoss: {test['Test loss']}"
    assert lines[3] == f"accuracy: {test['Test accuracy']}"


def test_a_dataset_name_says_it_scored_every_row_with_the_default_arguments(trained, capsys):
    code, out, _ = run(capsys, "evaluate", "m.json", "--data", "circle")
    assert out.splitlines()[1] == ("Rows: all 500 rows of the dataset 'circle' with its default arguments, "
                                   "training rows included (a run's held-out rows: --config RUN.toml)")


def test_a_config_without_held_out_rows_and_both_sources_are_refused(trained, tmp_path, capsys):
    (tmp_path / "none.toml").write_text(CONFIG.replace("test_size = 100", "test_size = 0"))
    code, _, err = run(capsys, "evaluate", "m.json", "--config", "none.toml")
    assert code == 1 and err.strip() == ("lamina evaluate: error: none.toml [data]: no test_size, so the run "
                                         "held out no rows to score")
    with pytest.raises(SystemExit):
        run(capsys, "evaluate", "m.json", "--config", "run.toml", "--data", "circle")
