"""Hostile and careless files on the command line: each is refused in one escaped line, before
anything large is allocated, and nothing the user did not name is written."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

import lamina
from lamina import nn
from lamina.cli.messages import one_line
from lamina.errors import FileFormatError
from lamina.saving import formats

PROVIDER = {"distribution": "lamina", "version": "0.1.0", "plugin": "lamina.layers"}
SMALL = """
seed = 1
[data]
dataset = { name = "circle", n = 40, seed = 1 }
test_size = 10
batch_size = 10
[model]
layers = [{ name = "Linear", in_features = 2, out_features = 1 }, { name = "Sigmoid" }]
[loss]
name = "BCELoss"
[optimizer]
name = "Adam"
[trainer]
max_epochs = 1
"""


def lamina_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lamina.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def one_line_error(done, status=1):
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "error:" in lines[0], lines
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    return lines[0]


def model_file(folder, children, state_dict=None, name="m.json"):
    architecture = {"name": "Sequential", "provider": PROVIDER, "config": {}, "training": False,
                    "children": children}
    document = {"format": "lamina", "version": 1,
                "model": {"architecture": architecture, "state_dict": state_dict or {}}}
    (folder / name).write_text(json.dumps(document))
    return name


# --- 2: every size bounded before anything is allocated ------------------------------------------

def test_many_layers_each_under_the_allowance_are_refused_by_one_total_for_the_file(tmp_path):
    # 2,000 Linear(1024, 1024) with no weights: a 218 KB file that asked for about 68 GB.
    linear = {"name": "Linear", "provider": PROVIDER, "training": False,
              "config": {"in_features": 1000, "out_features": 1000, "bias": False}}
    name = model_file(tmp_path, [linear] * 2000)
    line = one_line_error(lamina_cli("summary", name, cwd=tmp_path))
    assert "refusing to build it" in line and "children[1]" in line


def test_a_model_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # no writer: opening it for reading would wait for ever
    assert "not a regular file" in one_line_error(lamina_cli("summary", "pipe.json", cwd=tmp_path))
    os.symlink("/dev/zero", tmp_path / "zero.json")  # never ends
    assert "not a regular file" in one_line_error(lamina_cli("summary", "zero.json", cwd=tmp_path))


def test_a_csv_that_is_not_a_regular_file_is_refused(tmp_path):
    lamina.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "m.json")
    assert "not a regular file" in one_line_error(lamina_cli("predict", "m.json", "/dev/zero", cwd=tmp_path))


def test_config_widths_and_summary_widths_are_bounded_before_allocation(tmp_path):
    (tmp_path / "wide.toml").write_text(SMALL.replace("out_features = 1 }", "out_features = 1000000000000 }"))
    assert "at most" in one_line_error(lamina_cli("train", "wide.toml", cwd=tmp_path))
    lamina.save(nn.Sequential(nn.ReLU()), tmp_path / "m.json")
    line = one_line_error(lamina_cli("summary", "m.json", "--input-width", "1000000000", cwd=tmp_path))
    assert "1000000000" in line


# --- 4: one line, never a traceback -----------------------------------------------------------

def test_a_toml_array_a_thousand_deep_is_one_line(tmp_path):
    (tmp_path / "deep.toml").write_text("x = " + "[" * 1000 + "]" * 1000 + "\n")
    one_line_error(lamina_cli("train", "deep.toml", cwd=tmp_path))


def test_a_csv_field_longer_than_a_number_is_one_line_naming_the_file(tmp_path):
    lamina.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "m.json")
    (tmp_path / "wide.csv").write_text("1," + "7" * 200_000 + "\n")
    assert "wide.csv line 1" in one_line_error(lamina_cli("predict", "m.json", "wide.csv", cwd=tmp_path))


@pytest.mark.parametrize("error", [OverflowError("int too large"), RecursionError(), MemoryError(),
                                   StopIteration(), IndexError("list index out of range")])
def test_every_kind_of_error_input_can_cause_is_caught_and_printed_as_one_line(error, monkeypatch, capsys):
    from lamina.cli import app

    def fail(args):
        raise error

    monkeypatch.setattr(app, "command_summary", fail)
    assert app.main(["summary", "x.json"]) == 1
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and line.startswith("lamina summary: error: ")


# --- 5: nothing from a file reaches the terminal unescaped -------------------------------------

def test_a_provider_string_with_terminal_escapes_is_printed_escaped(tmp_path):
    forged = {"distribution": "\r\x1b[2K\x1b[32mloaded OK", "version": "1\n2", "plugin": "x"}
    node = {"name": "NoSuchLayer", "provider": forged, "config": {}, "training": False}
    line = one_line_error(lamina_cli("summary", model_file(tmp_path, [node]), cwd=tmp_path))
    assert "\\x1b[32mloaded OK" in line


def test_one_line_escapes_control_characters_and_joins_lines():
    assert one_line(ValueError("a\nb\r\x1b[2Kc")) == "a b\\r\\x1b[2Kc"
    assert one_line(OSError(errno.ENOENT, "No such file", "x\x1by")) == "x\\x1by: No such file"


# --- 6: predict writes one row per input row, or refuses in one line naming the row ------------

@pytest.fixture
def predictor(tmp_path):
    lamina.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "m.json")
    return tmp_path


def test_a_first_row_with_one_mistyped_cell_is_data_not_a_header(predictor):
    (predictor / "in.csv").write_text("0.1,O.2\n0.3,0.4\n0.5,0.6\n")  # a letter O for a zero
    line = one_line_error(lamina_cli("predict", "m.json", "in.csv", cwd=predictor))
    assert "in.csv line 1, column 2" in line and "--header" in line


def test_an_excel_byte_order_mark_does_not_make_the_first_row_a_header(predictor):
    (predictor / "in.csv").write_bytes(b"\xef\xbb\xbf0.1,0.2\n0.3,0.4\n0.5,0.6\n")
    done = lamina_cli("predict", "m.json", "in.csv", cwd=predictor)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 + 3  # the output's header, then one row per input row


def test_header_and_no_header_make_the_choice_explicit(predictor):
    (predictor / "in.csv").write_text("1,2\n0.3,0.4\n")
    with_header = lamina_cli("predict", "m.json", "in.csv", "--header", cwd=predictor)
    without = lamina_cli("predict", "m.json", "in.csv", "--no-header", cwd=predictor)
    assert len(with_header.stdout.splitlines()) == 2 and len(without.stdout.splitlines()) == 3
    (predictor / "named.csv").write_text("x,y\n0.3,0.4\n")
    assert "line 1" in one_line_error(lamina_cli("predict", "m.json", "named.csv", "--no-header", cwd=predictor))


def test_predict_into_a_closed_pipe_ends_quietly(predictor):
    (predictor / "in.csv").write_text("0.1,0.2\n" * 20000)
    done = subprocess.run(f"{sys.executable} -m lamina.cli predict m.json in.csv | head -2", shell=True,
                          cwd=predictor, capture_output=True, text=True, timeout=60)
    assert done.stdout.count("\n") == 2 and done.stderr == ""


# --- 7: outputs checked before training; errors name the target; stale temporaries removed -----

@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
def test_an_unwritable_output_is_refused_before_training(tmp_path, option):
    (tmp_path / "run.toml").write_text(SMALL)
    done = lamina_cli("train", "run.toml", option, "/proc/lamina-cannot-write.json", cwd=tmp_path)
    line = one_line_error(done)
    assert "/proc/lamina-cannot-write.json" in line and "tmp" not in line
    assert "Epoch" not in done.stdout


def test_a_failed_write_names_the_target_and_leaves_no_temporary(tmp_path, monkeypatch):
    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(formats.os, "fsync", disk_full)
    with pytest.raises(OSError) as raised:
        formats.write_atomically(tmp_path / "m.json", b"{}")
    assert raised.value.filename == str(tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_a_killed_runs_temporary_is_removed_on_the_next_write_of_the_same_target(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".m.json.{int(dead.stdout)}.abc{formats.TEMPORARY_SUFFIX}"
    other = tmp_path / f".other.json.{int(dead.stdout)}.abc{formats.TEMPORARY_SUFFIX}"
    stale.write_bytes(b"half")
    other.write_bytes(b"half")
    formats.write_atomically(tmp_path / "m.json", b"{}")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.json", other.name])


def test_loading_still_refuses_a_lying_file_in_process(tmp_path):
    linear = {"name": "Linear", "provider": PROVIDER, "training": False,
              "config": {"in_features": 100000, "out_features": 100000}}
    with pytest.raises(FileFormatError, match="refusing"):
        lamina.load(tmp_path / model_file(tmp_path, [linear]))


def test_fewer_model_outputs_than_classes_is_one_line_not_an_index_error(tmp_path):
    # A common mistake: CrossEntropyLoss with out_features = 2 on the 3-class spiral.
    (tmp_path / "run.toml").write_text(
        '[data]\ndataset = { name = "spiral" }\nbatch_size = 16\n[model]\n'
        'layers = [{ name = "Linear", in_features = 2, out_features = 2 }]\n[loss]\nname = "CrossEntropyLoss"\n'
        '[optimizer]\nname = "Adam"\n[trainer]\nmax_epochs = 1\n'
    )
    assert "outside 0..1" in one_line_error(lamina_cli("train", "run.toml", cwd=tmp_path))


def test_a_dataset_sample_count_is_bounded_before_generating(tmp_path):
    (tmp_path / "run.toml").write_text(SMALL.replace("n = 40", "n = 100000000000000000000000000"))
    assert "n = 100000000000000000000000000" in one_line_error(lamina_cli("train", "run.toml", cwd=tmp_path))
