"""The image milestones, trained from the command line as a user runs them: the digits CNN reaches
98% test accuracy under the numpy backend, and the MNIST CNN example runs as written on MNIST's
files (small generated ones here, in MNIST's own IDX format)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lamina
from idx_helpers import small_dataset, write_dataset

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytest.importorskip("numpy")


def lamina_train(*arguments, env=None):
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "train", *map(str, arguments)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def accuracy_in(output):
    return float(re.search(r"Test accuracy: ([\d.]+)%", output).group(1))


def test_the_digits_cnn_example_reaches_98_percent_under_numpy():
    pytest.importorskip("sklearn", reason="the digits need pip install 'lamina[datasets]'")
    output = lamina_train(EXAMPLES / "digits_cnn.toml", "--backend", "numpy")
    assert accuracy_in(output) >= 98.0, output[-300:]


def test_the_mnist_cnn_example_trains_on_mnist_files(tmp_path, monkeypatch):
    # Exactly the official split's sizes for the test rows (test_size = 10000), few training rows.
    write_dataset(tmp_path / "mnist", small_dataset(train=96, test=10000, seed=3))
    env = {**__import__("os").environ, "LAMINA_DATA": str(tmp_path)}
    output = lamina_train(EXAMPLES / "mnist_cnn.toml", "--epochs", "1", "--out", tmp_path / "model.json", env=env)
    assert "Epoch   0" in output or "Epoch 0" in output
    assert 0.0 <= accuracy_in(output) <= 100.0  # random pixels: the run, not the score, is the point
    assert (tmp_path / "model.json").exists()
