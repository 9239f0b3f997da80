"""benchmarks/numpy_speed.py runs each contender in its own process and reports ratios to its
baselines (the speed targets themselves are read off a full run, never timed in a test)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "numpy_speed.py"


def test_the_numpy_speed_benchmark_runs_and_reports_ratios():
    pytest.importorskip("numpy")
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--n", "640", "--only", "mnist,inference"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"lamina numpy / torch float64: [\d.]+x \(median\)  target <= 1.1x: (meets|misses)", result.stdout)
    assert re.search(r"lamina numpy / numpy by hand: [\d.]+x \(median\)  target <= 1.3x: (meets|misses)", result.stdout)


def test_an_unknown_row_is_one_line_naming_the_rows():
    result = subprocess.run([sys.executable, str(SCRIPT), "--only", "mnist,gpu"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown rows ['gpu']; the rows are mnist, inference, tensor" in result.stderr.strip().splitlines()[-1]


def test_the_mnist_row_runs_in_float32_against_both_baselines_in_float32():
    pytest.importorskip("numpy")
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--n", "640", "--only", "mnist",
                             "--dtype", "float32"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"lamina numpy / numpy float32: [\d.]+x \(median\)  target <= 1.1x: (meets|misses)", result.stdout)
    assert re.search(r"lamina numpy / torch float32: [\d.]+x \(median\)  target <= 1.15x: (meets|misses)", result.stdout)
