"""benchmarks/digits_cnn.py trains the digits CNN in lamina (numpy) and in PyTorch, each in its own
process, and reports the ratio; the speed target is read off a full run, never timed in a test."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "digits_cnn.py"


def test_the_digits_cnn_benchmark_runs_and_reports_its_ratios():
    for module in ("numpy", "torch", "sklearn"):
        pytest.importorskip(module)
    result = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--epochs", "1", "--python-epochs", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"lamina numpy / torch float64: [\d.]+x \(median\)  target <= 1.5x: (meets|misses); "
                     r"accuracy (equal or better|lower)", result.stdout)
    # One epoch already lifts both well above chance (10%): a broken CNN or a miscounted accuracy shows.
    accuracies = [float(a) for a in re.findall(r"accuracy ([\d.]+)%", result.stdout)]
    assert len(accuracies) == 2 and all(a > 30.0 for a in accuracies), result.stdout
