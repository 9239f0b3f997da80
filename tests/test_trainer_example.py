"""examples/per_sample_vs_minibatch.py: accumulating 16 one-sample gradients trains as batches of 16."""

import importlib.util
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "per_sample_vs_minibatch.py"


def load_example():
    spec = importlib.util.spec_from_file_location("per_sample_vs_minibatch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_accumulation_matches_mini_batches_and_per_sample_stepping_differs(capsys):
    example = load_example()
    results = example.compare(epochs=2)
    per_sample, mini_batch, accumulated = (results[name] for name in example.REGIMES)
    assert (per_sample["steps"], mini_batch["steps"], accumulated["steps"]) == (800, 50, 50)
    assert accumulated["loss"] == pytest.approx(mini_batch["loss"], rel=1e-9)
    assert per_sample["loss"][0] != pytest.approx(mini_batch["loss"][0], rel=1e-3)
    assert mini_batch["loss"][1] < mini_batch["loss"][0]
    example.report(results)
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["epoch", "per-sample"] and table[-3].split() == ["steps", "800", "50", "50"]
