"""Install tests: lamina and the contrib distributions built by pip into a fresh virtual
environment (no PyTorch), then used as a user would, each step in a new process.

One environment for the session keeps this quick; the fixture distributions that must not be
seen by every process (a broken plugin, two colliding ones) are pip-installed into folders of
their own and put on PYTHONPATH only where a test wants them.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ("lamina-prelu", "lamina-adagrad", "lamina-jsonl", "lamina-tensorboard")
PLUGIN_ENV = ("LAMINA_LOAD_PLUGINS", "LAMINA_BLOCK_PLUGINS", "LAMINA_STRICT_PLUGINS", "PYTHONPATH")


def pip(python, *args):
    # --no-build-isolation: build with the environment's own setuptools, offline and quick.
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-build-isolation", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def venv(tmp_path_factory):
    """A fresh virtual environment holding lamina and the contrib distributions, plus two
    pip --target folders: one with the broken fixture plugins, one with the colliding pair."""
    base = tmp_path_factory.mktemp("install")
    # Build from a clean copy: pip builds a local folder in place, and setuptools' build/ folder
    # could carry files already deleted from the source into the wheel.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    pip(python, "setuptools>=70.1")  # --no-build-isolation builds wheels with it (bdist_wheel built in)
    pip(python, source, *(source / "contrib" / name for name in CONTRIB), "pytest")
    for site, fixtures in (("broken", ["lamina-fixture-broken"]),
                           ("collide", ["lamina-fixture-swish-a", "lamina-fixture-swish-b"])):
        pip(python, "--no-deps", "--target", base / site, *(source / "tests" / "fixtures" / f for f in fixtures))
    return base


def run(venv, *command, env=None, code=None, check=True):
    """Run `lamina ...` (or the environment's python with -c code) in a new process."""
    environment = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV}
    environment.update(env or {})
    if code is not None:
        command = [venv / "venv" / "bin" / "python", "-c", textwrap.dedent(code), *command]
    else:
        command = [venv / "venv" / "bin" / "lamina", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=venv)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def plugins(venv, env=None):
    return {p["name"]: p for p in json.loads(run(venv, "plugins", "--json", env=env).stdout)}


def test_lamina_plugins_lists_each_contrib_distribution_loaded(venv):
    listed = plugins(venv)
    assert listed["prelu"] == {"name": "prelu", "distribution": "lamina-prelu", "version": "0.1.0",
                               "status": "loaded", "error": "", "components": {"modules": ["PReLU"]},
                               "descriptions": {"modules": {"PReLU": "ReLU with a learned slope for negative "
                                                                     "inputs: one slope, or one per feature."}}}
    assert listed["adagrad"]["distribution"] == "lamina-adagrad" and listed["adagrad"]["version"] == "0.2.0"
    assert (listed["adagrad"]["status"], listed["adagrad"]["components"]) == ("loaded", {"optimizers": ["Adagrad"]})
    assert listed["jsonl"]["distribution"] == "lamina-jsonl" and listed["jsonl"]["version"] == "0.4.0"
    assert (listed["jsonl"]["status"], listed["jsonl"]["components"]) == (
        "loaded", {"callbacks": ["JSONLinesLogger"], "commands": ["jsonl"]})
    assert (listed["tensorboard"]["distribution"], listed["tensorboard"]["status"]) == ("lamina-tensorboard", "loaded")
    assert listed["lamina.layers"]["status"] == "loaded"
    table = run(venv, "plugins").stdout
    assert any(line.split()[:4] == ["prelu", "lamina-prelu", "0.1.0", "loaded"] for line in table.splitlines())


def test_import_lamina_imports_no_plugin_module(venv):
    out = run(venv, code="""
        import sys
        import lamina, lamina.nn, lamina.optim, lamina.callbacks
        print(sorted(m for m in sys.modules if m.startswith(("lamina.plugins", "lamina_"))))
    """).stdout
    assert out.strip() == "[]"


TRAIN = """
    import json, sys
    import lamina
    from lamina import nn, optim
    from lamina.data import DataLoader, TensorDataset

    lamina.manual_seed(0)
    x, y = lamina.registry().create("datasets", "circle", n=200, seed=1)
    model = nn.Sequential(nn.Linear(2, 8), nn.PReLU(num_parameters=8), nn.Linear(8, 1), nn.Sigmoid())
    opt = optim.Adagrad(model.parameters(), lr=0.1, weight_decay=1e-4)
    logger = lamina.callbacks.JSONLinesLogger("metrics.jsonl")
    trainer = lamina.Trainer(model, nn.BCELoss(), opt, callbacks=[logger], max_epochs=15, metrics=["accuracy"])
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True))
    lamina.save(model.eval(), sys.argv[1])
    print(json.dumps({"loss": history["loss"], "slopes": model[1].weight.tolist(),
                      "predictions": model(x[:5]).tolist()}))
"""

PREDICT = """
    import json, sys
    import lamina
    model = lamina.load(sys.argv[1])
    x, _ = lamina.registry().create("datasets", "circle", n=200, seed=1)
    print(json.dumps({"layer": type(model[1]).__module__, "predictions": model(x[:5]).tolist()}))
"""


@pytest.fixture(scope="module")
def trained(venv):
    path = venv / "prelu-model.json"
    return path, json.loads(run(venv, path, code=TRAIN).stdout)


def test_contrib_layer_optimizer_and_callback_train_together(venv, trained):
    _, result = trained
    losses = result["loss"]
    assert losses[-1] < 0.7 * losses[0]  # it learned
    assert all(slope != 0.25 for slope in result["slopes"])  # PReLU's slopes (num_parameters,) trained too
    lines = [json.loads(line) for line in (venv / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == list(range(15))  # the callback ran
    assert [line["loss"] for line in lines] == losses


def test_lamina_help_lists_the_contrib_command_which_prints_the_run_s_log(venv, trained):
    listed = run(venv, "--help")
    assert "jsonl print a JSON-lines training log as a table" in " ".join(listed.stdout.split())
    assert listed.stderr == ""
    logged = [json.loads(line) for line in (venv / "metrics.jsonl").read_text().splitlines()]
    header, *rows = [row.split() for row in run(venv, "jsonl", "metrics.jsonl").stdout.splitlines()]
    assert header == ["epoch", "loss", "accuracy", "lr"]
    assert rows == [[str(line["epoch"])] + [f"{line[key]:.6g}" for key in header[1:]] for line in logged]
    assert len(rows) == 15

    (venv / "cut-short.jsonl").write_text('{"epoch": 0, "loss": 0.5}\n{"epoch": 1, "lo\n')
    failed = run(venv, "jsonl", "cut-short.jsonl", check=False)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("lamina jsonl: error: cut-short.jsonl, line 2: not JSON (")
    assert "expected one JSON object per line" in failed.stderr and len(failed.stderr.splitlines()) == 1


def test_a_saved_model_with_a_contrib_layer_loads_in_a_new_process(venv, trained):
    path, result = trained
    document = json.loads(path.read_text())
    assert "lamina-prelu" in json.dumps(document["model"]["architecture"])
    loaded = json.loads(run(venv, path, code=PREDICT).stdout)
    assert loaded == {"layer": "lamina_prelu", "predictions": result["predictions"]}  # bit for bit


def test_excluded_by_the_allow_list_its_components_are_gone(venv, trained):
    path, _ = trained
    env = {"LAMINA_LOAD_PLUGINS": "lamina-adagrad,lamina-jsonl"}
    listed = plugins(venv, env)
    assert (listed["prelu"]["status"], listed["prelu"]["error"]) == ("blocked", "not in LAMINA_LOAD_PLUGINS")
    assert listed["adagrad"]["status"] == "loaded"
    gone = run(venv, code="import lamina; lamina.nn.PReLU", env=env, check=False)
    assert gone.returncode == 1 and "no module named 'PReLU' is registered" in gone.stderr
    failed = run(venv, path, code=PREDICT, env=env, check=False)
    assert failed.returncode == 1
    assert "lamina-prelu 0.1.0" in failed.stderr and "not installed or is blocked" in failed.stderr


def test_optimizer_is_reachable_as_lamina_optim_name(venv):
    out = run(venv, code="""
        import lamina
        from lamina import optim
        p = lamina.Parameter(lamina.tensor([[1.0]]))
        opt = optim.Adagrad([p], lr=0.5)
        p.grad = lamina.tensor([[2.0]])
        opt.step()
        print(type(opt).__module__, p.item())
    """).stdout.split()
    assert out[0] == "lamina_adagrad" and abs(float(out[1]) - 0.5) < 1e-9


def test_a_broken_plugin_does_not_stop_lamina_train_and_is_listed_as_failed(venv):
    env = {"PYTHONPATH": str(venv / "broken")}
    trained = run(venv, "train", "--epochs", "2", env=env)
    assert "Test accuracy:" in trained.stdout
    assert trained.stderr.count("PluginWarning") == 4  # one warning per broken plugin
    listed = plugins(venv, env)
    assert listed["broken_on_import"]["status"] == "failed"
    assert listed["broken_on_import"]["error"].startswith("RuntimeError:")
    assert listed["broken_hook"]["status"] == "failed" and listed["misspelt_hook"]["status"] == "failed"
    assert listed["prelu"]["status"] == "loaded"  # every other plugin still works


def test_strict_mode_makes_a_broken_plugin_fatal(venv):
    env = {"PYTHONPATH": str(venv / "broken"), "LAMINA_STRICT_PLUGINS": "1"}
    result = run(venv, "train", "--epochs", "2", env=env, check=False)
    assert result.returncode == 1 and "Test accuracy" not in result.stdout
    assert "lamina train: error: lamina plugin 'broken_" in result.stderr
    assert "from lamina-fixture-broken 0.0.1 failed to load" in result.stderr


def test_two_plugins_registering_one_name_break_only_that_name_naming_both(venv):
    env = {"PYTHONPATH": str(venv / "collide")}
    error = plugins(venv, env)["swish_b"]["error"]
    assert "two plugins register the module 'Swish'" in error
    assert "lamina-fixture-swish-a 1.0.0" in error and "lamina-fixture-swish-b 2.3.0" in error
    assert "Test accuracy:" in run(venv, "train", "--epochs", "2", env=env).stdout  # Swish is not used
    used = run(venv, code="import lamina; lamina.nn.Swish", env=env, check=False)
    assert used.returncode == 1 and "two plugins register the module 'Swish'" in used.stderr


def test_each_contrib_suite_passes_with_the_installed_conformance_kit(venv):
    """The pytest plugin arrives with lamina's installed metadata; PyTorch is absent here, so only
    the parity tests skip."""
    suites = [f"contrib/{name}/tests" for name in CONTRIB]
    result = subprocess.run(
        [venv / "venv" / "bin" / "python", "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", *suites],
        cwd=venv / "source", capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k not in PLUGIN_ENV},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    for case in ("modules:PReLU[1]:gradients", "optimizers:Adagrad:weight_decay", "callbacks:JSONLinesLogger:fit"):
        assert f"test_conformance[{case}] PASSED" in result.stdout
    assert "test_jsonl_command.py::test_a_row_per_epoch_under_the_keys_in_the_order_first_seen PASSED" in result.stdout
    assert "test_tensorboard.py::test_scalars_per_epoch_and_weight_and_gradient_histograms_read_back PASSED" in result.stdout
    assert "SKIPPED" in result.stdout and "could not import 'torch'" in result.stdout
