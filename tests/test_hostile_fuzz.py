"""Fuzzing the files lamina reads: model files, checkpoints and run configs, each edited at a random
place (a value replaced, a key removed, the bytes cut short or flipped). Whatever the edit, a command
ends with exit status 0, 1 or 2; a failure is one printable line on stderr and no traceback; no file
but the outputs the command names is touched; and memory stays bounded."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina
from lamina import nn, optim
from lamina.cli import app
from lamina.data import DataLoader, TensorDataset

CONFIG = """seed = 3
[data]
dataset = { name = "circle", n = 40, seed = 3 }
test_size = 8
batch_size = 16
[model]
layers = [{ name = "Linear", in_features = 2, out_features = 4 }, { name = "ReLU" }, { name = "Linear", in_features = 4, out_features = 1 }, { name = "Sigmoid" }]
[loss]
name = "BCELoss"
[optimizer]
name = "Adam"
lr = 0.01
[scheduler]
name = "StepLR"
step_size = 2
[trainer]
max_epochs = 2
metrics = ["accuracy"]
"""
PEAK_BYTES = 200 * 2**20  # what one command may allocate while reading a hostile file

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from([0, -1, 1, 2**31, 2**64, 10**30, -(10**30)]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "Linear", "\r\x1b[2K\x1b[32mloaded OK", "os.system", "../victim.json", "x" * 5000]),
    st.text(max_size=20),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """A model file, a checkpoint and a config, each valid, as text."""
    folder = tmp_path_factory.mktemp("originals")
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    lamina.save(model, folder / "model.json")
    (folder / "run.toml").write_text(CONFIG)
    with contextlib.redirect_stdout(io.StringIO()):
        assert app.main(["train", str(folder / "run.toml"), "--epochs", "1", "--checkpoint", str(folder / "ck.json")]) == 0
    return {name: (folder / name).read_text() for name in ("model.json", "ck.json", "run.toml")}


def json_edit(data, text):
    """The JSON text with one random edit: a value replaced, a key dropped, or the bytes damaged."""
    how = data.draw(st.sampled_from(["replace", "drop", "truncate", "flip"]))
    if how in ("truncate", "flip"):
        return damaged(data, text, how)
    document = json.loads(text)
    parent, key = document, None
    node = document
    while isinstance(node, (dict, list)) and node and data.draw(st.integers(0, 4)) > 0:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
    if key is None:
        return json.dumps(data.draw(values))
    if how == "drop" and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = data.draw(values)
    return json.dumps(document)


def toml_edit(data, text):
    how = data.draw(st.sampled_from(["replace", "truncate", "flip"]))
    if how != "replace":
        return damaged(data, text, how)
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if " = " in line]
    index = data.draw(st.sampled_from(candidates))
    key = lines[index].split(" = ", 1)[0]
    literal = data.draw(st.one_of(
        st.integers().map(str), st.sampled_from(["10000000000000000000000000", "-1", "0", "nan", "inf",
                                                 '"\\u001b[31mred"', "[" * 600 + "]" * 600, "{}", "[]"]),
        st.text(max_size=10).map(json.dumps),
    ))
    lines[index] = f"{key} = {literal}"
    return "\n".join(lines) + "\n"


def damaged(data, text, how):
    raw = text.encode()
    at = data.draw(st.integers(0, len(raw) - 1))
    if how == "truncate":
        return raw[:at].decode("utf-8", "replace")
    flipped = bytes([raw[at] ^ data.draw(st.integers(1, 255))])
    return (raw[:at] + flipped + raw[at + 1:]).decode("utf-8", "replace")


def run_and_check(folder, argv, outputs=()):
    """Run the command in-process; check status, stderr, untouched files and peak memory."""
    before = {name: os.stat(folder / name).st_mtime_ns for name in os.listdir(folder)}
    err, out = io.StringIO(), io.StringIO()
    tracemalloc.start()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                status = app.main(argv)
            except SystemExit as exit:  # argparse's usage errors
                status = exit.code
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert status in (0, 1, 2), (status, err.getvalue())
    if status:
        message = err.getvalue()
        assert message.count("\n") == 1 and message.endswith("\n"), message
        assert message.isprintable() or message[:-1].isprintable(), repr(message)
    assert peak < PEAK_BYTES, peak
    after = {name: os.stat(folder / name).st_mtime_ns for name in os.listdir(folder)}
    touched = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert touched <= set(outputs), touched


@FUZZ
@given(data=st.data())
def test_a_fuzzed_model_file(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.json").write_text(json_edit(data, originals["model.json"]))
    (folder / "in.csv").write_text("0.5,0.25\n1,2\n")
    run_and_check(folder, ["summary", str(folder / "model.json")])
    run_and_check(folder, ["predict", str(folder / "model.json"), str(folder / "in.csv")])


@FUZZ
@given(data=st.data())
def test_a_fuzzed_checkpoint_on_resume(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("resume")
    (folder / "run.toml").write_text(CONFIG)
    (folder / "ck.json").write_text(json_edit(data, originals["ck.json"]))
    run_and_check(folder, ["train", str(folder / "run.toml"), "--resume", str(folder / "ck.json"),
                           "--checkpoint", str(folder / "mine.json")], outputs={"mine.json"})


@FUZZ
@given(data=st.data())
def test_a_fuzzed_run_config(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("config")
    (folder / "run.toml").write_text(toml_edit(data, CONFIG))
    run_and_check(folder, ["train", str(folder / "run.toml"), "--epochs", "1", "--out", str(folder / "out.json")],
                  outputs={"out.json"})
