"""benchmarks/digits_mlp.py runs lamina's numpy backend and the hand-written numpy MLP each in its
own process, epoch by epoch in turn, and reports the ratio to its target (read off a full run,
never timed in a test)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "digits_mlp.py"


def test_the_digits_benchmark_runs_and_reports_its_ratio():
    pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--epochs", "1", "--rows", "128"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"lamina numpy +median +[\d.]+ s +test acc +[\d.]+%", result.stdout)
    assert re.search(r"lamina numpy / numpy by hand: [\d.]+x \(median\)  target <= 1.3x: (meets|misses)", result.stdout)
    assert re.search(r"round by round: [\d.]+x to [\d.]+x", result.stdout)


def test_a_contender_that_fails_is_named_in_one_line():
    pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    # no training rows: lamina's DataLoader refuses an empty dataset, in the contender's own process
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--epochs", "1", "--rows", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert result.stderr.strip() == "digits_mlp: lamina numpy failed: ValueError: DataLoader got an empty dataset"


def test_float32_runs_both_contenders_in_float32():
    pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--epochs", "1", "--rows", "64",
                             "--dtype", "float32"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "float32" in result.stdout.splitlines()[0]
