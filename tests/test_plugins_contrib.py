"""Each contrib distribution's own test suite (conformance kit, PyTorch parity), run as its author
would run it: in a new process where the distribution is installed and lamina is not told about it
in any other way."""

import os
import subprocess
import sys

import pytest
from fixtures.distributions import CONTRIB, install_metadata

PACKAGES = sorted(p.name for p in CONTRIB.iterdir() if (p / "pyproject.toml").exists())


@pytest.mark.parametrize("package", PACKAGES)
def test_contrib_package_suite_passes(package, tmp_path):
    pytest.importorskip("torch")  # so that the parity tests run rather than skip
    install_metadata(CONTRIB / package, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LAMINA_STRICT_PLUGINS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=CONTRIB / package, env=env, capture_output=True, text=True,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
