"""`lamina sweep`: every combination over seeds, each run the run `lamina train` makes, the same
numbers on one worker, two, or a Dask LocalCluster; failures reported while the rest go on;
Ctrl-C keeps what finished and a second run skips it."""

import csv
import math
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lamina.cli.run_config import build_run, read_config
from lamina.cli.sweep import REMOVE, parse_assignment, show, split_values, with_values
from lamina.errors import ConfigError, LaminaError

CIRCLE = str(pathlib.Path(__file__).resolve().parent.parent / "examples" / "circle.toml")
LAMINA = [sys.executable, "-m", "lamina.cli"]


def sweep(*arguments, **options):
    return subprocess.run([*LAMINA, "sweep", CIRCLE, *arguments], capture_output=True, text=True,
                          timeout=120, **options)


def rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def numbers(folder):
    """Every value of results.csv but the time, by run."""
    return {row["run"]: {k: v for k, v in row.items() if k != "seconds"} for row in rows(folder / "results.csv")}


def test_set_values_are_toml_values_split_at_top_level_commas():
    assert split_values('[1,2],[3], "a,b"') == ["[1,2]", "[3]", '"a,b"']
    path, values = parse_assignment('scheduler={ name = "StepLR", step_size = 3 },none')
    assert path == ("scheduler",) and values == [{"name": "StepLR", "step_size": 3}, REMOVE]
    assert parse_assignment("optimizer.name=Adam,SGD")[1] == ["Adam", "SGD"]
    assert parse_assignment("optimizer.weight_decay=0,0.01")[1] == [0, 0.01]
    assert show({"name": "StepLR", "step_size": 3}) == "StepLR(step_size=3)" and show(REMOVE) == "none"
    assert with_values({"a": {"b": 1}}, {("a", "b"): REMOVE, ("c", "d"): 2}) == {"a": {}, "c": {"d": 2}}
    with pytest.raises(ConfigError, match="expected SECTION.KEY=V1,V2"):
        parse_assignment("optimizer.lr")
    with pytest.raises(ConfigError, match="'optimiser' is no run-config section; expected one of seed, "):
        parse_assignment("optimiser.lr=0.1")


def test_the_done_when_sweep_gives_the_same_numbers_on_one_two_and_dask_workers(tmp_path):
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'lamina[dask]'")
    common = ["--set", "optimizer.weight_decay=0,0.01", "--set", "trainer.max_epochs=3", "--seeds", "3"]
    results = {}
    for name, extra in {"one": ["--workers", "1"], "two": ["--workers", "2"],
                        "dask": ["--dask", "local", "--workers", "2"]}.items():
        done = sweep(*common, *extra, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        results[name] = numbers(tmp_path / name)
        table = done.stdout.splitlines()
        assert table[0].split()[:4] == ["combination", "runs", "loss", "test_loss"]
        assert len(table) == 3 and all(" 3 " in line and "±" in line for line in table[1:])
        assert (tmp_path / name / "curves.png").stat().st_size > 10_000 or not _has_matplotlib()
    assert len(results["one"]) == 6
    assert results["one"] == results["two"] == results["dask"]
    histories = rows(tmp_path / "two" / "histories.csv")
    assert len(histories) == 6 * 3 and {"run", "epoch", "loss", "accuracy", "lr"} <= set(histories[0])


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_each_run_is_bit_identical_to_lamina_train_with_those_values(tmp_path):
    done = sweep("--set", "optimizer.lr=0.02", "--set", "trainer.max_epochs=3", "--seeds", "2",
                 "--workers", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    history = rows(tmp_path / "histories.csv")
    results = {row["seed"]: row for row in rows(tmp_path / "results.csv")}
    config = read_config(CIRCLE)
    config["optimizer"]["lr"] = 0.02
    config["trainer"]["max_epochs"] = 3
    for seed in (42, 43):  # counting up from the config's seed
        run = build_run(config, seed=seed, source=CIRCLE)  # what `lamina train --seed` builds
        expected = run.fit()
        mine = [row for row in history if row["seed"] == str(seed)]
        assert [float(row["loss"]) for row in mine] == expected["loss"]
        assert [float(row["accuracy"]) for row in mine] == expected["accuracy"]
        assert float(results[str(seed)]["test_loss"]) == run.test()["loss"]


def test_a_failed_run_is_one_line_and_the_others_finish_then_a_rerun_skips_what_is_done(tmp_path):
    out = str(tmp_path / "d")
    done = sweep("--set", "optimizer.name=Adam,Adamm", "--set", "trainer.max_epochs=2", "--workers", "2",
                 "--out", out)
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if line.startswith("run ")]
    assert failures == [failures[0]] and failures[0].startswith("run optimizer.name=Adamm trainer.max_epochs=2 seed=42 failed: ")
    assert "no optimizer named 'Adamm'" in failures[0] and "Traceback" not in done.stderr
    statuses = {row["run"]: row["status"] for row in rows(tmp_path / "d" / "results.csv")}
    assert sorted(statuses.values()) == ["failed", "ok"]
    again = sweep("--set", "optimizer.name=Adam,Adamm", "--set", "trainer.max_epochs=2", "--workers", "1",
                  "--out", out)
    assert "2 runs, 1 already in" in again.stderr and "1 to run" in again.stderr  # only the failed one again
    changed = sweep("--set", "optimizer.name=Adam", "--set", "trainer.max_epochs=2", "--set", "optimizer.lr=0.5",
                    "--workers", "1", "--out", out)
    assert "1 runs, 0 already in" in changed.stderr  # other values: a different run


def test_bad_arguments_are_one_line():
    done = sweep("--set", "optimizer", "--out", "unused")
    assert done.returncode == 1 and done.stderr.strip().count("\n") == 0
    assert "expected SECTION.KEY=V1,V2" in done.stderr
    done = sweep("--seeds", "0", "--out", "unused")
    assert done.stderr.strip() == "lamina sweep: error: --seeds must be at least 1, got 0"


def test_without_dask_or_matplotlib_the_error_names_the_extra(monkeypatch):
    from lamina.cli import plots, sweep_runners

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(LaminaError, match=r"pip install 'lamina\[dask\]'"):
        sweep_runners.DaskRunner("local", 1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(LaminaError, match=r"pip install 'lamina\[plot\]'"):
        plots.require_matplotlib()


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def finished_runs(path):
    try:
        return [row for row in rows(path) if row["status"] == "ok"]
    except FileNotFoundError:
        return []


def test_ctrl_c_stops_cleanly_keeping_finished_runs_and_the_same_command_does_the_rest(tmp_path):
    arguments = ["--set", "trainer.max_epochs=8", "--seeds", "6", "--workers", "1", "--out", str(tmp_path)]
    process = subprocess.Popen([*LAMINA, "sweep", CIRCLE, *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: finished_runs(tmp_path / "results.csv"))
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted;" in stderr
    kept = {row["run"]: row for row in finished_runs(tmp_path / "results.csv")}
    assert 1 <= len(kept) < 6
    epochs = rows(tmp_path / "histories.csv")
    assert all(sum(row["run"] == run for row in epochs) == 8 for run in kept)  # whole histories only
    again = sweep(*arguments)
    assert f"6 runs, {len(kept)} already in" in again.stderr and again.returncode == 0
    after = {row["run"]: row for row in rows(tmp_path / "results.csv")}
    assert len(after) == 6 and all(after[run] == row for run, row in kept.items())


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_dask_scheduler_with_two_workers_one_killed_mid_sweep_loses_nothing(tmp_path):
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'lamina[dask]'")
    from dask.distributed import Client

    dask = str(pathlib.Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                 "--no-dashboard"], **quiet)]
    try:
        for _ in range(2):
            started.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                             "--no-dashboard", "--host", "127.0.0.1"], **quiet))
        wait_for(lambda: _connects(address))
        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "d"
        process = subprocess.Popen(
            [*LAMINA, "sweep", CIRCLE, "--set", "trainer.max_epochs=12", "--set", "optimizer.lr=0.01,0.02",
             "--seeds", "4", "--dask", address, "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: finished_runs(out / "results.csv"))
        before = {row["run"]: row for row in finished_runs(out / "results.csv")}
        started[1].kill()
        stdout, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr
        after = {row["run"]: row for row in rows(out / "results.csv")}
        assert len(after) == 8  # each run finished on the surviving worker, or is reported failed
        assert all(after[run] == row for run, row in before.items())
        failed = [row for row in after.values() if row["status"] != "ok"]
        assert process.returncode == (1 if failed else 0)
        assert all(f"run {row['run']} failed: " in stderr for row in failed)
    finally:
        for started_process in started:
            started_process.kill()
            started_process.wait()


def _connects(address):
    import socket

    host, port = address[len("tcp://"):].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True
