"""`lamina jsonl LOGFILE`: a JSONLinesLogger log printed as a table; one-line errors for a file
that is not one."""

import pytest

import lamina
from lamina import nn, optim
from lamina.cli.app import main
from lamina.data import DataLoader, TensorDataset

LOG = (
    '{"epoch": 0, "loss": 0.6931471805599453, "accuracy": 0.5, "lr": 0.01}\n'
    '{"epoch": 1, "loss": 0.61234567891, "accuracy": 0.75, "val_loss": 0.7, "lr": 0.01}\n'
    "\n"
    '{"epoch": 2, "loss": 1.5e-07, "accuracy": 1.0, "lr": 0.001}\n'
)


def lamina_command(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lamina_help_lists_the_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "jsonl print a JSON-lines training log as a table" in " ".join(capsys.readouterr().out.split())


def test_a_row_per_epoch_under_the_keys_in_the_order_first_seen(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    log.write_text(LOG)
    code, out, err = lamina_command(capsys, "jsonl", str(log))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "epoch      loss  accuracy     lr  val_loss",
        "    0  0.693147       0.5   0.01         -",
        "    1  0.612346      0.75   0.01       0.7",
        "    2   1.5e-07         1  0.001         -",
    ]


def test_the_log_of_a_real_run(tmp_path, capsys):
    lamina.manual_seed(0)
    x = lamina.randn(20, 2)
    y = (x @ lamina.tensor([[1.0], [-2.0]]) > 0.0) * 1.0
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    log = tmp_path / "metrics.jsonl"
    trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5), max_epochs=3,
                             callbacks=[lamina.callbacks.JSONLinesLogger(log)], metrics=["accuracy"])
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=5))
    code, out, _ = lamina_command(capsys, "jsonl", str(log))
    header, *rows = [line.split() for line in out.splitlines()]
    assert code == 0 and header == ["epoch", "loss", "accuracy", "lr"]
    assert rows == [[str(epoch)] + [f"{history[key][epoch]:.6g}" for key in header[1:]] for epoch in range(3)]


@pytest.mark.parametrize("line, expected", [
    ('{"epoch": 1, "loss": \n', "not JSON (Expecting value at column 21); expected one JSON object per line"),
    ("[1, 2]\n", "expected a JSON object"),
    ('{"loss": 0.5}\n', 'expected an integer "epoch"'),
])
def test_a_bad_line_is_one_error_naming_the_file_and_line(tmp_path, capsys, line, expected):
    log = tmp_path / "run.jsonl"
    log.write_text('{"epoch": 0, "loss": 0.6}\n' + line)
    code, out, err = lamina_command(capsys, "jsonl", str(log))
    assert code == 1 and out == ""
    assert err.startswith(f"lamina jsonl: error: {log}, line 2: {expected}")
    assert len(err.splitlines()) == 1


def test_a_missing_file_is_one_error(tmp_path, capsys):
    code, out, err = lamina_command(capsys, "jsonl", str(tmp_path / "absent.jsonl"))
    assert code == 1 and out == ""
    assert err == f"lamina jsonl: error: {tmp_path / 'absent.jsonl'}: No such file or directory\n"
