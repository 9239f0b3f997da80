"""lamina.set_num_threads limits the numerical libraries behind the numpy backend, as
torch.set_num_threads does; `lamina train` runs on one thread unless given --threads."""

import subprocess
import sys

import pytest

import lamina

pytest.importorskip("numpy")
pytest.importorskip("threadpoolctl")


@pytest.fixture
def restore_threads():
    before = lamina.get_num_threads()
    yield
    lamina.set_num_threads(before)


def test_set_num_threads_limits_blas(restore_threads):
    lamina.set_num_threads(1)
    assert lamina.get_num_threads() == 1
    import threadpoolctl

    assert all(pool["num_threads"] == 1 for pool in threadpoolctl.threadpool_info())


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_a_bad_thread_count_is_one_line_naming_it(bad):
    with pytest.raises(ValueError, match=r"lamina.set_num_threads\(.*\): the number of threads must be an integer >= 1"):
        lamina.set_num_threads(bad)


def run(*arguments, code=None):
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "lamina.cli", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_lamina_train_on_numpy_runs_on_one_thread_unless_told():
    code = """
import lamina, threadpoolctl
from lamina.cli import app
seen = []
app.build_run = (lambda build: lambda *a, **k: (seen.append(0), build(*a, **k))[1])(app.build_run)
original = lamina.set_num_threads
lamina.set_num_threads = lambda n: (seen.append(n), original(n))
assert app.main(["train", "--backend", "numpy", "--epochs", "1"]) == 0
assert app.main(["train", "--backend", "numpy", "--epochs", "1", "--threads", "2"]) == 0
print(seen)
"""
    result = run(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 1, 0, 2]"


def test_lamina_train_refuses_zero_threads_in_one_line():
    result = run("train", "--backend", "numpy", "--epochs", "1", "--threads", "0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "lamina train: error: lamina.set_num_threads(0): the number of threads must be an integer >= 1"]


def test_without_threadpoolctl_the_error_names_the_extra():
    result = run(code="import sys; sys.modules['threadpoolctl'] = None\nimport lamina\nlamina.set_num_threads(1)")
    assert "needs numpy and threadpoolctl: pip install 'lamina[numpy]'" in result.stderr.strip().splitlines()[-1]
