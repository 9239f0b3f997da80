"""`lamina plugins` and `lamina plugins --json`, and `lamina train` next to a broken plugin."""

import json
import warnings

from fixtures.distributions import site  # noqa: F401  (a fixture)

from lamina.cli import app as cli
from lamina.plugin_system.manager import PluginWarning


def run(capsys, *argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_each_plugin_with_distribution_version_status_and_components(site, capsys):
    site("lamina-fixture-broken", "lamina-fixture-swish-b")
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    plugins = {p["name"]: p for p in json.loads(out)}
    assert plugins["swish_b"] == {
        "name": "swish_b", "distribution": "lamina-fixture-swish-b", "version": "2.3.0",
        "status": "loaded", "error": "", "components": {"modules": ["Swish"]},
        "descriptions": {"modules": {"Swish": "x / (1 + e^-x)"}},
    }
    assert plugins["lamina.optimizers"]["descriptions"]["optimizers"]["SGD"]
    assert plugins["broken_on_import"]["status"] == "failed"
    assert plugins["broken_on_import"]["error"].startswith("RuntimeError: lamina_fixture_broken.on_import")
    assert plugins["broken_on_import"]["components"] == {}
    assert {"SGD", "Adam"} <= set(plugins["lamina.optimizers"]["components"]["optimizers"])
    assert plugins["lamina.optimizers"]["distribution"] == "lamina"


def test_json_shows_blocked_plugins_and_why(site, capsys, monkeypatch):
    site("lamina-fixture-swish-a")
    monkeypatch.setenv("LAMINA_BLOCK_PLUGINS", "lamina.metrics")
    monkeypatch.setenv("LAMINA_LOAD_PLUGINS", "")
    plugins = {p["name"]: p for p in json.loads(run(capsys, "plugins", "--json")[1])}
    assert (plugins["lamina.metrics"]["status"], plugins["lamina.metrics"]["error"]) == (
        "blocked", "blocked by LAMINA_BLOCK_PLUGINS")
    assert (plugins["swish_a"]["status"], plugins["swish_a"]["error"]) == ("blocked", "not in LAMINA_LOAD_PLUGINS")


def test_table_has_one_row_per_plugin(site, capsys):
    site("lamina-fixture-broken", "lamina-fixture-swish-a")
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDES"]
    rows = {line.split()[0]: i for i, line in enumerate(lines) if not line.startswith(" ")}
    assert lines[rows["swish_a"]].split() == ["swish_a", "lamina-fixture-swish-a", "1.0.0", "loaded", "modules:", "Swish"]
    assert lines[rows["broken_hook"]].split()[3:] == ["failed", "-"]
    assert lines[rows["broken_hook"] + 1] == "    ValueError: lamina_fixture_broken.bad_hook fails in its hook (on purpose)"
    assert "modules: Linear, Dropout" in lines[rows["lamina.layers"]]
    # the columns line up: every row's status starts where the header's does
    status_column = lines[0].index("STATUS")
    statuses = [lines[i][status_column:].split()[0] for name, i in rows.items() if name != "PLUGIN"]
    described = sum(len(p["components"].get(kind, ())) for p in json.loads(run(capsys, "plugins", "--json")[1])
                    for kind in p["components"])
    assert set(statuses) == {"loaded", "failed"} and len(statuses) == len(lines) - 1 - 4 - described  # 4 reasons


def test_the_table_describes_each_component_on_one_line_of_its_own(site, capsys):
    site("lamina-fixture-swish-a")
    lines = run(capsys, "plugins")[1].splitlines()
    swish = lines.index(next(line for line in lines if line.startswith("swish_a ")))
    assert lines[swish + 1] == "    modules.Swish: x * sigmoid(x)."
    assert "    optimizers.SGD: " in "\n".join(lines)
    assert all("\x1b" not in line for line in lines)


def test_strict_mode_makes_the_command_fail_in_one_line(site, capsys, monkeypatch):
    site("lamina-fixture-broken")
    monkeypatch.setenv("LAMINA_STRICT_PLUGINS", "1")
    code, out, err = run(capsys, "plugins")
    assert code == 1 and out == ""
    assert err.startswith("lamina plugins: error: lamina plugin 'broken_")
    assert len(err.splitlines()) == 1


def test_a_collision_breaks_only_that_name_and_the_listing_names_both(site, capsys):
    site("lamina-fixture-swish-a", "lamina-fixture-swish-b")
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    swish_b = next(plugin for plugin in json.loads(out) if plugin["name"] == "swish_b")
    assert "lamina-fixture-swish-a 1.0.0" in swish_b["error"] and "lamina-fixture-swish-b 2.3.0" in swish_b["error"]
    code, out, _ = run(capsys, "train", "--epochs", "1")  # a run that does not use Swish
    assert code == 0 and "Test accuracy:" in out


def test_train_runs_next_to_a_broken_plugin_and_strict_mode_stops_it(site, capsys, monkeypatch):
    site("lamina-fixture-broken")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = cli.main(["train", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "Test accuracy:" in out
    assert len([w for w in caught if issubclass(w.category, PluginWarning)]) == 4

    from lamina.plugin_system.manager import reset_plugins

    reset_plugins()
    monkeypatch.setenv("LAMINA_STRICT_PLUGINS", "1")
    code = cli.main(["train", "--epochs", "1"])
    _, err = capsys.readouterr()
    assert code == 1 and "lamina-fixture-broken 0.0.1 failed to load" in err
