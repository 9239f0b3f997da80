"""Plugins that misbehave: each is skipped and listed as failed, never taking a command down with it;
a look-alike of lamina's own name gets no built-in's privileges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
from fixtures.distributions import site  # noqa: F401  (a fixture)

import lamina
from lamina.plugin_system.manager import PluginWarning, plugin_manager, reset_plugins

MODULE_HOOK = """
import lamina

class {cls}(lamina.nn.Module):
    def forward(self, x):
        return x

    def backward(self, grad):
        return grad

@lamina.hookimpl
def lamina_register_modules():
    return [{cls}]
"""


@pytest.fixture(autouse=True)
def keep_the_registry():
    """Put back the registry other test modules filled in-process when imported (the site
    fixture forgets it)."""
    before = plugin_manager()
    yield
    reset_plugins(before)


def project(root, distribution, package, source, entry_point=None):
    """A plugin distribution's project folder, as the site fixture installs it."""
    folder = root / "projects" / package
    (folder / "src" / package).mkdir(parents=True)
    (folder / "src" / package / "__init__.py").write_text(source)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{distribution}"\nversion = "1.0"\n'
        f'[project.entry-points.lamina]\n{entry_point or package} = "{package}"\n'
    )
    return folder


def loaded(site_install, *projects):
    site_install(*projects)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", PluginWarning)
        return plugin_manager()


@pytest.mark.parametrize("body, error", [
    ("import sys\nsys.exit('no thanks')", "SystemExit: no thanks"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
])
def test_a_plugin_exiting_or_interrupting_at_import_is_only_skipped(site, tmp_path, body, error):
    manager = loaded(site, project(tmp_path, "lamina-quitter", "lamina_quitter", body))
    assert (manager.status("lamina_quitter").status, manager.status("lamina_quitter").error) == ("failed", error)
    assert lamina.nn.Linear(2, 1).weight.shape == (1, 2)


def test_a_hook_returning_something_that_is_not_a_component_fails_that_plugin(site, tmp_path):
    source = "import lamina\n\nclass NotALayer:\n    pass\n\n@lamina.hookimpl\ndef lamina_register_modules():\n    return [NotALayer]\n"
    manager = loaded(site, project(tmp_path, "lamina-fake", "lamina_fake", source))
    status = manager.status("lamina_fake")
    assert status.status == "failed" and "not a subclass of lamina's Module" in status.error
    assert "NotALayer" not in manager.registry.names("modules")


def test_a_distribution_named_like_lamina_is_not_a_builtin_and_obeys_the_allow_list(site, tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_LOAD_PLUGINS", "")  # no third-party plugin at all
    manager = loaded(site, project(tmp_path, "Lamina", "lamina_impostor", MODULE_HOOK.format(cls="Impostor")))
    assert manager.status("lamina_impostor").error == "not in LAMINA_LOAD_PLUGINS"
    assert "lamina_impostor" not in sys.modules
    assert manager.status("lamina.layers").status == "loaded"


def test_a_collision_breaks_only_its_name(site, tmp_path):
    manager = loaded(site, project(tmp_path, "lamina-relu-again", "lamina_relu_again", MODULE_HOOK.format(cls="ReLU")))
    with pytest.raises(lamina.errors.PluginError, match="two plugins register the module 'ReLU'"):
        manager.registry.get("modules", "ReLU")
    assert lamina.nn.Linear(2, 1).weight.shape == (1, 2)


def test_a_plugin_printing_at_import_leaves_plugins_json_valid(site, tmp_path):
    chatty = MODULE_HOOK.format(cls="Chatty") + "\nprint('hello from a plugin')\n"
    site(project(tmp_path, "lamina-chatty", "lamina_chatty", chatty))
    quitter = project(tmp_path, "lamina-quitter", "lamina_quitter", "import sys\nsys.exit(3)")
    site(quitter)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "lamina.cli", "plugins", "--json"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    statuses = {plugin["name"]: plugin["status"] for plugin in json.loads(done.stdout)}
    assert statuses["lamina_chatty"] == "loaded" and statuses["lamina_quitter"] == "failed"
    assert "hello from a plugin" in done.stderr


def test_a_failing_plugins_warning_is_one_escaped_line(site, tmp_path):
    source = "raise RuntimeError('first line\\n\\x1b[32mloaded OK')"
    site(project(tmp_path, "lamina-liar", "lamina_liar", source))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        plugin_manager()
    message = next(str(w.message) for w in caught if "lamina_liar" in str(w.message))
    assert "\n" not in message and "\x1b" not in message and "\\x1b[32mloaded OK" in message
