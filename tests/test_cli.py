"""The `lamina` command: train, evaluate, predict, summary; one-line errors, no tracebacks."""

import csv
import io
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import lamina
from lamina import nn
from lamina.cli.app import main

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def lamina_command():
    """The installed console script next to this interpreter (what a shell runs)."""
    script = pathlib.Path(sys.executable).with_name("lamina")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lamina.cli"]


def shell(*arguments, cwd):
    return subprocess.run([*lamina_command(), *arguments], cwd=cwd, capture_output=True, text=True)


def test_train_predict_summary_from_a_shell(tmp_path):
    trained = shell("train", str(EXAMPLES / "circle.toml"), "--out", "m.json", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    accuracy = float(re.search(r"Test accuracy: (\d+\.\d)%", trained.stdout).group(1))
    assert accuracy >= 95.0
    assert (tmp_path / "m.json").exists()

    (tmp_path / "points.csv").write_text("x,y\n0.0,0.0\n1.9,-1.9\n0.3,0.4\n")
    predicted = shell("predict", "m.json", "points.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(io.StringIO(predicted.stdout)))
    assert rows[0] == ["output"]
    outputs = [float(row[0]) for row in rows[1:]]
    model = lamina.load(tmp_path / "m.json")
    expected = model(lamina.tensor([[0.0, 0.0], [1.9, -1.9], [0.3, 0.4]])).tolist()
    assert outputs == [row[0] for row in expected]  # exact: the CSV carries every bit
    assert outputs[0] > 0.5 > outputs[1]  # the centre is inside the circle, the corner is not

    summary = shell("summary", "m.json", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    lines = summary.stdout.splitlines()
    assert lines[1].split() == ["0", "Linear", "16", "48"]
    assert lines[7].split() == ["6", "Linear", "1", "9"]
    assert lines[-1] == "Total parameters: 465"


def test_train_with_no_config_trains_the_lesson_circle_classifier(capsys):
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert float(re.search(r"Test accuracy: (\d+\.\d)%", out).group(1)) >= 95.0
    assert out.count("Epoch") == 11  # every 10th epoch and the last


def test_summary_of_a_config_matches_the_saved_model(tmp_path, capsys):
    assert main(["summary", str(EXAMPLES / "circle.toml")]) == 0
    from_config = capsys.readouterr().out
    lamina.save(
        nn.Sequential(
            nn.Linear(2, 16),
            nn.ReLU(),
            nn.Linear(16, 16),
            nn.ReLU(),
            nn.Linear(16, 8),
            nn.ReLU(),
            nn.Linear(8, 1),
            nn.Sigmoid(),
        ),
        tmp_path / "m.json",
    )
    assert main(["summary", str(tmp_path / "m.json")]) == 0
    assert capsys.readouterr().out == from_config
    assert from_config.splitlines()[-1] == "Total parameters: 465"


def test_evaluate_on_a_csv_and_on_a_dataset(tmp_path, capsys):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    model.load_state_dict({"0.weight": [[1.0, 0.0]], "0.bias": [0.0]})  # predicts x > 0
    lamina.save(model, tmp_path / "m.json")
    (tmp_path / "d.csv").write_text("1,5,1\n-1,5,0\n2,0,0\n-3,1,0\n")
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "m.json"),
                "--data",
                str(tmp_path / "d.csv"),
                "--loss",
                "BCELoss",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Samples: 4"
    assert lines.pop(1) == f"Rows: all 4 rows of {tmp_path / 'd.csv'}"
    assert lines[1].startswith("BCELoss: ")
    expected_loss = nn.BCELoss()(
        model(lamina.tensor([[1, 5], [-1, 5], [2, 0], [-3, 1]])), lamina.tensor([[1], [0], [0], [0]])
    )
    assert float(lines[1].split()[1]) == pytest.approx(expected_loss, abs=1e-6)
    assert lines[2] == "accuracy: 75.0%"

    assert (
        main(["evaluate", str(tmp_path / "m.json"), "--data", "circle", "--metrics", "accuracy", "mae"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Samples: 500" and lines[1].startswith("Rows: all 500 rows of the dataset 'circle'")
    assert lines[3].startswith("mae: ")


def one_line_error(capsys, argv, status=1):
    assert main(argv) == status
    captured = capsys.readouterr()
    error = captured.err.strip()
    assert "\n" not in error and "Traceback" not in error, error
    return error


def test_every_user_error_is_one_line_with_a_non_zero_exit(tmp_path, capsys):
    model_path = tmp_path / "m.json"
    lamina.save(nn.Sequential(nn.Linear(2, 1)), model_path)
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    (tmp_path / "bad.toml").write_text('[optimizer]\nname = "Adamm"\n')
    (tmp_path / "broken.json").write_text(model_path.read_text()[:50])

    assert one_line_error(capsys, ["predict", str(tmp_path / "nope.json"), "x.csv"]).endswith(
        "nope.json: No such file or directory"
    )
    assert "bad.csv line 2, column 2: 'x' is not a number" in one_line_error(
        capsys, ["predict", str(model_path), str(tmp_path / "bad.csv")]
    )
    assert "truncated" in one_line_error(capsys, ["summary", str(tmp_path / "broken.json")])
    assert "the [data] section is missing" in one_line_error(
        capsys, ["train", str(tmp_path / "bad.toml")]
    )
    assert one_line_error(capsys, ["train", "--out", str(tmp_path / "no" / "m.json")]).endswith(
        f"{tmp_path / 'no'}: no such folder to save into"
    )
    assert "no save format claims the extension '.pt'" in one_line_error(
        capsys, ["train", "--out", "m.pt"]
    )
    assert "no dataset named 'spiralz'" in one_line_error(
        capsys, ["evaluate", str(model_path), "--data", "spiralz"]
    )
    assert "Linear(in_features=2) got input with 3 features" in one_line_error(
        capsys, ["predict", str(model_path), str(_csv(tmp_path, "3.csv", "1,2,3\n"))]
    )


def test_a_usage_mistake_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["train", "--epochs", "many"])
    assert raised.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "argument --epochs: invalid int value: 'many'" in error


def test_predict_writes_a_csv_file(tmp_path):
    model = nn.Sequential(nn.Linear(1, 2))
    model.load_state_dict({"0.weight": [[2.0], [-1.0]], "0.bias": [0.5, 0.0]})
    lamina.save(model, tmp_path / "m.json")
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.json"),
                str(_csv(tmp_path, "in.csv", "1\n0.1\n")),
                "--out",
                str(tmp_path / "out.csv"),
            ]
        )
        == 0
    )
    assert (
        tmp_path / "out.csv"
    ).read_text() == f"output_0,output_1\n2.5,-1.0\n{0.1 * 2.0 + 0.5!r},-0.1\n"


def _csv(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_a_model_whose_plugin_is_not_loaded_names_the_distribution_the_file_records(tmp_path):
    lamina.save(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), tmp_path / "m.json")
    environment = {**os.environ, "LAMINA_BLOCK_PLUGINS": "lamina.layers"}
    blocked = subprocess.run(
        [*lamina_command(), "summary", "m.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert blocked.returncode == 1
    error = blocked.stderr.strip()
    assert "\n" not in error and "Traceback" not in error
    assert "no module named 'Linear' is registered" in error
    assert f"came from lamina {lamina_version()}" in error


def lamina_version():
    from importlib.metadata import version

    return version("lamina")


@pytest.mark.parametrize(
    "spoil, message",
    [
        (
            lambda d: d["model"]["architecture"]["children"][0].update(name="os.system"),
            "no module named 'os.system' is registered",
        ),
        (lambda d: d.update(version=99), "format version 99 by a newer lamina"),
        (
            lambda d: d["model"]["state_dict"]["0.weight"].update(shape=[10**6, 10**6]),
            "declares 1000000000000 values but the file holds 2",
        ),
        (
            lambda d: d["model"].update(state_dict=[[[[]]]]),
            "model.state_dict should be a table, found a list",
        ),
    ],
    ids=["importable-name", "future-version", "huge-shape", "wrong-structure"],
)
def test_a_refused_model_file_is_one_line_from_every_command(tmp_path, capsys, spoil, message):
    path = tmp_path / "m.json"
    lamina.save(nn.Sequential(nn.Linear(2, 1)), path)
    document = json.loads(path.read_text())
    spoil(document)
    path.write_text(json.dumps(document))
    (tmp_path / "x.csv").write_text("1,2\n")
    for argv in (
        ["summary", str(path)],
        ["predict", str(path), str(tmp_path / "x.csv")],
        ["evaluate", str(path), "--data", "circle"],
    ):
        assert message in one_line_error(capsys, argv)
