"""The subcommands that plugins add to `lamina` (components of the kind "commands").

A command is a function `configure(parser)`: it declares the command's arguments on its own
argparse parser and returns the function that runs it, `run(args)`, which gets the parsed
`argparse.Namespace` and returns the exit status (None for 0).

A plugin's command must never break `lamina --help` or another command, so each way one can go
wrong stays with that command: one named like a built-in is skipped with a warning and the
built-in keeps the name; one whose configure fails is still listed, and says why it cannot run
when it is invoked; plugins that cannot be loaded at all leave the built-ins working, and those
that need the plugins report the failure themselves.
"""

from __future__ import annotations

import warnings

import lamina
from lamina.plugin_system.manager import PluginWarning


class PluginCommands:
    """The registered commands, added to `lamina`'s subcommands after the built-in ones."""

    def __init__(self):
        self.names = set()  # every command on the parser, built-in or not
        self.load_error = ""  # why the plugins, and so their commands, could not be loaded
        self.not_set_up = {}  # command name -> why its configure failed

    def add_to(self, commands):
        """Add a subparser to `commands` (argparse's subparsers) for each registered command."""
        builtin = set(commands.choices)
        self.names = set(builtin)
        try:
            entries = lamina.registry().entries("commands")
        except Exception as error:  # strict mode, or two plugins claiming one name
            self.load_error = str(error)
            return
        for entry in sorted(entries, key=lambda entry: entry.name):
            if entry.name in builtin:
                self._warn_shadowed(entry)
                continue
            parser = commands.add_parser(entry.name, help=entry.description, description=entry.description)
            self.names.add(entry.name)
            try:
                run = entry.factory(parser)
                if not callable(run):
                    raise TypeError(f"configure(parser) returned {run!r}, not the function to run")
            except Exception as error:  # told only to whoever invokes this command
                self.not_set_up[entry.name] = (
                    f"the command from {entry.provider} could not be set up: {type(error).__name__}: {error}"
                )
            else:
                parser.set_defaults(run=run)

    def why_it_cannot_run(self, command: str) -> str:
        """Why `command` cannot run ('' if nothing known stands in its way)."""
        if command in self.not_set_up:
            return self.not_set_up[command]
        if self.load_error and command not in self.names:
            return f"{command!r} is no built-in command, and plugin commands are unavailable: {self.load_error}"
        return ""

    @staticmethod
    def _warn_shadowed(entry):
        # Attributed to the plugin's module, as the plugin machinery's own warnings are: one line.
        warnings.warn_explicit(
            f"the command {entry.name!r} from {entry.provider} is skipped: "
            f"`lamina {entry.name}` is a built-in command",
            PluginWarning,
            filename=getattr(entry.factory, "__module__", None) or "lamina",
            lineno=0,
        )
