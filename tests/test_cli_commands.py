"""Commands that plugins add to `lamina`: listed by --help, run with their own arguments, errors in
one line; one named like a built-in is skipped with a warning, and one whose configure fails, or
plugins that cannot load at all, leave every other command working."""

import pathlib
import warnings

import pytest
from fixtures.distributions import site  # noqa: F401  (a fixture)

import lamina
from lamina.cli.app import main
from lamina.errors import ConfigError
from lamina.plugin_system.manager import PluginWarning, plugin_manager, reset_plugins

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    """The commands a test registers in-process are forgotten after it."""
    for variable in ("LAMINA_LOAD_PLUGINS", "LAMINA_BLOCK_PLUGINS", "LAMINA_STRICT_PLUGINS"):
        monkeypatch.delenv(variable, raising=False)
    before = plugin_manager()  # with what other test modules registered in-process when imported
    reset_plugins()
    yield
    reset_plugins(before)


def configure_greet(parser):
    parser.add_argument("name")
    parser.add_argument("--times", type=int, default=1)

    def greet(args):
        for _ in range(args.times):
            print(f"hello, {args.name}")
        return 3 if args.name == "nobody" else None

    return greet


def lamina_command(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def help_text(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_a_registered_command_is_listed_and_runs_with_its_arguments(capsys):
    lamina.register("commands", name="greet", description="say hello")(configure_greet)
    listed = help_text(capsys)  # after the built-ins, among the other plugin commands (data, plot, ...)
    assert listed.index("plugins list installed plugins and what they provide") < listed.index("greet say hello")
    assert lamina_command(capsys, "greet", "you", "--times", "2") == (0, "hello, you\nhello, you\n", "")
    assert lamina_command(capsys, "greet", "nobody")[0] == 3  # run's return value is the exit status
    with pytest.raises(SystemExit) as exited:
        main(["greet"])
    assert exited.value.code == 2
    assert "lamina greet: error: the following arguments are required: name" in capsys.readouterr().err


def test_a_lamina_error_from_a_command_is_one_line_as_for_a_built_in(capsys):
    def configure(parser):
        def run(args):
            raise ConfigError("settings.toml: the [model] section is missing")
        return run

    lamina.register("commands", name="check")(configure)
    assert lamina_command(capsys, "check") == (
        1, "", "lamina check: error: settings.toml: the [model] section is missing\n")


def test_a_command_named_like_a_built_in_is_skipped_with_one_warning(capsys):
    lamina.register("commands", name="summary", description="not the real summary")(configure_greet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, _ = lamina_command(capsys, "summary", str(EXAMPLES / "circle.toml"))
    assert code == 0 and "Total parameters:" in out  # the built-in kept its name
    skipped = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert skipped == [
        "the command 'summary' from registered in-process is skipped: `lamina summary` is a built-in command"
    ]


def test_a_command_whose_configure_fails_says_why_when_invoked_and_breaks_nothing_else(capsys):
    def configure_broken(parser):
        parser.add_argument("config")
        raise RuntimeError("no settings found")

    lamina.register("commands", name="broken", description="fails to set up")(configure_broken)
    lamina.register("commands", name="hollow")(lambda parser: None)
    lamina.register("commands", name="greet")(configure_greet)
    assert "broken fails to set up" in help_text(capsys)
    assert lamina_command(capsys, "broken", "--anything") == (1, "", (
        "lamina broken: error: the command from registered in-process could not be set up: "
        "RuntimeError: no settings found\n"))
    code, _, err = lamina_command(capsys, "hollow")
    assert code == 1 and err.endswith("TypeError: configure(parser) returned None, not the function to run\n")
    assert lamina_command(capsys, "greet", "you") == (0, "hello, you\n", "")


def test_plugins_that_cannot_load_leave_help_and_the_built_ins_working(site, capsys, monkeypatch):  # noqa: F811
    site("lamina-fixture-broken")
    monkeypatch.setenv("LAMINA_STRICT_PLUGINS", "1")
    assert "Plugin commands are unavailable: lamina plugin 'broken_" in help_text(capsys)
    code, out, err = lamina_command(capsys, "greet", "you")
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("lamina greet: error: 'greet' is no built-in command, and plugin commands are "
                          "unavailable: lamina plugin 'broken_")
    code, out, err = lamina_command(capsys, "summary", str(EXAMPLES / "circle.toml"))
    assert code == 1 and out == ""  # summary needs the registry, and says itself why it cannot have it
    assert err.startswith("lamina summary: error: lamina plugin 'broken_") and len(err.splitlines()) == 1
