"""`lamina plugins [--json]`: every plugin found, its distribution and version, whether it loaded
(or was blocked, or failed, and why), and the components it provides by kind, each with its
description (the first line of its docstring, or the one its Record gives)."""

from __future__ import annotations

import json

from lamina.cli.messages import one_line, printable
from lamina.component import registry
from lamina.errors import LaminaError
from lamina.plugin_system.manager import plugin_manager


def add_parser(commands):
    parser = commands.add_parser("plugins", help="list installed plugins and what they provide")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(run=run)
    return parser


def run(args):
    plugins = [plugin.as_dict() for plugin in plugin_manager().plugins]
    for plugin in plugins:
        plugin["descriptions"] = {kind: {name: description(kind, name) for name in names}
                                  for kind, names in plugin["components"].items()}
    if args.json:
        print(json.dumps(plugins, indent=2))
    else:
        print(table(plugins))


def description(kind, name) -> str:
    try:
        return registry().entry(kind, name).description or ""
    except (LaminaError, LookupError):  # a name two plugins claim: the row's error says why
        return ""


def table(plugins: list[dict]) -> str:
    """One row per plugin; why a plugin failed or was blocked goes on an indented line below it,
    then one indented line per component with its description."""
    header = ("PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDES")
    rows = [header]
    for plugin in plugins:
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in plugin["components"].items())
        cells = (plugin["name"], plugin["distribution"], plugin["version"], plugin["status"], provides or "-")
        rows.append(tuple(printable(cell) for cell in cells))  # names and versions come from metadata
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
        reason = plugins[index - 1]["error"] if index else ""
        if reason:
            lines.append(f"    {one_line(reason)}")
        for kind, described in (plugins[index - 1].get("descriptions", {}) if index else {}).items():
            for name, text in described.items():  # names and descriptions come from plugins: one line each
                lines.append(f"    {printable(kind)}.{printable(name)}" + (f": {one_line(text)}" if text else ""))
    return "\n".join(lines)
