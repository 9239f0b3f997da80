"""The plugin manager with real (fixture) distributions: collisions, broken plugins, strict mode,
allow- and deny-lists, in-process registration, lazy loading."""

import subprocess
import sys
import warnings

import pytest
from fixtures.distributions import site  # noqa: F401  (a fixture)

import lamina
from lamina.errors import PluginError, UnknownComponentError
from lamina.plugin_system.manager import PluginWarning, plugin_manager, reset_plugins


def load_quietly():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = plugin_manager()
    return manager, [w for w in caught if issubclass(w.category, PluginWarning)]


# --- in-process registration ------------------------------------------------------------------


@pytest.fixture
def fresh_registry():
    before = plugin_manager()  # with what other test modules registered in-process when imported
    reset_plugins()
    yield
    reset_plugins(before)


def test_register_makes_a_class_reachable_by_name(fresh_registry):
    @lamina.register("modules")
    class Cube(lamina.nn.Module):
        def forward(self, x):
            self.x = x
            return x * x * x

        def backward(self, grad):
            return grad * self.x * self.x * 3.0

    assert lamina.nn.Cube is Cube
    entry = lamina.registry().entry("modules", "Cube")
    assert str(entry.provider) == "registered in-process"
    assert lamina.nn.Cube()(lamina.tensor([[2.0]])).item() == 8.0


def test_register_under_another_name_and_as_a_function(fresh_registry):
    @lamina.register("metrics", name="max_error")
    def worst(prediction, target):
        """Largest absolute error."""
        return (prediction - target).abs().max()

    assert lamina.registry().get("metrics", "max_error") is worst
    assert lamina.registry().entry("metrics", "max_error").description == "Largest absolute error."
    assert "worst" not in lamina.registry().names("metrics")


def test_register_a_taken_name_names_both_providers_and_override_replaces(fresh_registry):
    class MyReLU(lamina.nn.Module):
        def forward(self, x):
            return x.clamp(min=0.0)

    with pytest.raises(PluginError) as error:
        lamina.register("modules", name="ReLU")(MyReLU)
    message = str(error.value)
    assert f"lamina {lamina.plugin_manager().status('lamina').version}" in message
    assert "'lamina.activations'" in message and "registered in-process" in message
    assert "override=True" in message
    assert lamina.nn.ReLU is not MyReLU  # the failed registration changed nothing

    lamina.register("modules", name="ReLU", override=True)(MyReLU)
    assert lamina.nn.ReLU is MyReLU


def test_register_an_unknown_kind_is_refused(fresh_registry):
    with pytest.raises(ValueError, match="unknown kind 'layers'; kinds are modules, losses"):
        lamina.register("layers")


# --- collisions between distributions ---------------------------------------------------------


def test_two_distributions_registering_one_name_make_that_name_an_error_naming_both(site):
    site("lamina-fixture-swish-a", "lamina-fixture-swish-b")
    assert "Linear" in lamina.registry().names("modules")  # every other name still works
    with pytest.raises(PluginError) as error:
        lamina.nn.Swish
    message = str(error.value)
    assert "two plugins register the module 'Swish'" in message
    assert "lamina-fixture-swish-a 1.0.0 (plugin 'swish_a')" in message
    assert "lamina-fixture-swish-b 2.3.0 (plugin 'swish_b')" in message
    assert "LAMINA_BLOCK_PLUGINS" in message


def test_blocking_one_of_two_colliding_distributions_resolves_it(site, monkeypatch):
    site("lamina-fixture-swish-a", "lamina-fixture-swish-b")
    monkeypatch.setenv("LAMINA_BLOCK_PLUGINS", "Lamina_Fixture.Swish_A")  # compared as pip does
    entry = lamina.registry().entry("modules", "Swish")
    assert (entry.provider.distribution, entry.provider.version) == ("lamina-fixture-swish-b", "2.3.0")
    assert plugin_manager().status("swish_a").status == "blocked"
    assert "lamina_fixture_swish_a" not in sys.modules  # never imported


# --- broken plugins ---------------------------------------------------------------------------


def test_broken_plugins_are_skipped_with_one_warning_each_and_listed_as_failed(site):
    site("lamina-fixture-broken", "lamina-fixture-swish-a")
    manager, caught = load_quietly()
    assert len(caught) == 4
    texts = sorted(str(w.message) for w in caught)
    assert all("lamina-fixture-broken 0.0.1 failed to load and was skipped" in t for t in texts)
    assert all("LAMINA_STRICT_PLUGINS=1" in t for t in texts)

    on_import = manager.status("broken_on_import")
    assert on_import.status == "failed"
    assert on_import.error == "RuntimeError: lamina_fixture_broken.on_import cannot be imported (on purpose)"
    bad_hook = manager.status("broken_hook")
    assert (bad_hook.status, bad_hook.error) == (
        "failed", "ValueError: lamina_fixture_broken.bad_hook fails in its hook (on purpose)")
    misspelt = manager.status("misspelt_hook")
    assert misspelt.status == "failed"
    assert misspelt.error == ("PluginError: unknown hook lamina_register_module (did you mean "
                              "lamina_register_modules?); the hooks are listed in lamina.plugin_system.hookspecs")
    assert "NeverRegistered" not in manager.registry.names("modules")
    not_a_list = manager.status("not_a_list")
    assert not_a_list.status == "failed"
    assert not_a_list.error.startswith("TypeError: hook lamina_register_metrics returned <function worst_error")
    assert not_a_list.error.endswith("; expected a list of components")

    # everything else still works
    assert manager.status("swish_a").status == "loaded"
    assert manager.status("swish_a").components == {"modules": ["Swish"]}
    assert lamina.nn.Swish()(lamina.tensor([[0.0, 1.0]])).tolist()[0][0] == 0.0
    assert "Linear" in manager.registry.names("modules")


def test_strict_mode_makes_a_broken_plugin_fatal(site, monkeypatch):
    site("lamina-fixture-broken")
    monkeypatch.setenv("LAMINA_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as error:
        lamina.registry()
    message = str(error.value)
    assert "lamina plugin 'broken_hook' from lamina-fixture-broken 0.0.1 failed to load" in message
    assert "ValueError: lamina_fixture_broken.bad_hook fails in its hook (on purpose)" in message
    assert "LAMINA_STRICT_PLUGINS is set" in message


def test_strict_mode_off_when_set_to_zero(site, monkeypatch):
    site("lamina-fixture-broken")
    monkeypatch.setenv("LAMINA_STRICT_PLUGINS", "0")
    manager, caught = load_quietly()
    assert len(caught) == 4 and manager.status("broken_hook").status == "failed"


# --- allow- and deny-lists --------------------------------------------------------------------


def test_allow_list_loads_only_the_named_third_party_plugins(site, monkeypatch):
    site("lamina-fixture-broken", "lamina-fixture-swish-a", "lamina-fixture-swish-b")
    monkeypatch.setenv("LAMINA_LOAD_PLUGINS", "swish_b")  # an entry-point name works too
    manager, caught = load_quietly()
    assert caught == []  # the broken plugins were never imported
    assert not {"lamina_fixture_broken", "lamina_fixture_swish_a"} & set(sys.modules)
    assert manager.status("swish_b").status == "loaded"
    for name in ("swish_a", "broken_on_import", "broken_hook", "misspelt_hook", "not_a_list"):
        assert (manager.status(name).status, manager.status(name).error) == ("blocked", "not in LAMINA_LOAD_PLUGINS")
    assert manager.status("lamina.layers").status == "loaded"  # built-ins always load


def test_an_empty_allow_list_loads_no_third_party_plugin(site, monkeypatch):
    site("lamina-fixture-swish-a")
    monkeypatch.setenv("LAMINA_LOAD_PLUGINS", "")
    with pytest.raises(UnknownComponentError, match="no module named 'Swish' is registered"):
        lamina.nn.Swish
    assert lamina.nn.Linear(2, 1).weight.shape == (1, 2)


def test_deny_list_can_block_a_builtin_plugin(site, monkeypatch):
    monkeypatch.setenv("LAMINA_BLOCK_PLUGINS", "lamina.activations, lamina-fixture-swish-a")
    site("lamina-fixture-swish-a")
    with pytest.raises(UnknownComponentError, match="no module named 'ReLU'"):
        lamina.nn.ReLU
    manager = plugin_manager()
    assert manager.status("lamina.activations").error == "blocked by LAMINA_BLOCK_PLUGINS"
    assert manager.status("swish_a").status == "blocked"
    assert "Linear" in manager.registry.names("modules")


def test_deny_list_wins_over_allow_list(site, monkeypatch):
    site("lamina-fixture-swish-a")
    monkeypatch.setenv("LAMINA_LOAD_PLUGINS", "lamina-fixture-swish-a")
    monkeypatch.setenv("LAMINA_BLOCK_PLUGINS", "lamina-fixture-swish-a")
    assert plugin_manager().status("swish_a").error == "blocked by LAMINA_BLOCK_PLUGINS"


# --- lazy loading -----------------------------------------------------------------------------

LIST_PLUGIN_MODULES = (
    "import sys; print(sorted(m for m in sys.modules if m.startswith('lamina.plugins') "
    "or m.startswith('lamina_')))"
)


def test_import_lamina_imports_no_plugin_module():
    code = f"import lamina; {LIST_PLUGIN_MODULES}; import lamina.nn, lamina.optim, lamina.callbacks; {LIST_PLUGIN_MODULES}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "[]"]


def test_the_registry_loads_plugins_on_first_use():
    code = f"import lamina; lamina.nn.Linear; {LIST_PLUGIN_MODULES}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'lamina.plugins.layers'" in out and "'lamina.plugins.optimizers'" in out


def test_a_description_is_the_docstrings_whole_first_paragraph():
    def wrapped():
        """A summary that wraps
        onto a second line.

        Details nobody lists."""

    from lamina.plugin_system.registry import as_record

    assert as_record(wrapped).description == "A summary that wraps onto a second line."
