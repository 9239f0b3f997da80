"""The registry: (kind, name) -> component, with the provenance of each entry.

Collisions fail loudly, naming both providers; a lookup of an unknown name says what is
available and the closest names.
"""

from __future__ import annotations

import difflib
from typing import Callable

import attrs

from lamina.errors import PluginError, UnknownComponentError
from lamina.plugin_system.kinds import KINDS, Record


@attrs.frozen
class Provider:
    """Who provided a component: the plugin (entry point) and its distribution."""

    plugin: str
    distribution: str
    version: str

    def __str__(self):
        if not self.version and self.distribution.startswith("("):  # lamina.register(...)
            return self.distribution.strip("()")
        version = f" {self.version}" if self.version else ""
        return f"{self.distribution}{version} (plugin {self.plugin!r})"


@attrs.frozen
class Entry:
    kind: str
    name: str
    factory: Callable
    description: str
    provider: Provider


def as_record(item) -> Record:
    if isinstance(item, Record):
        return item
    if isinstance(item, tuple) and 2 <= len(item) <= 3:
        return Record(*item)
    if callable(item) and hasattr(item, "__name__"):
        # The docstring's first paragraph, not its first line: a summary may wrap.
        summary = (item.__doc__ or "").strip().split("\n\n")[0]
        return Record(item.__name__, item, " ".join(summary.split()))
    raise TypeError(f"a plugin hook returned {item!r}; expected a Record, a (name, factory) pair or a class")


class Registry:
    def __init__(self):
        self._entries = {kind: {} for kind in KINDS}
        self._conflicts = {}  # (kind, name) -> why two plugins' entries for it are both refused

    def _kind(self, kind):
        if kind not in self._entries:
            raise UnknownComponentError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        return self._entries[kind]

    def add(self, kind, record, provider: Provider, override: bool = False) -> Entry:
        record = as_record(record)
        entries = self._kind(kind)
        if (kind, record.name) in self._conflicts:  # a third registration does not settle it
            if not override:
                raise PluginError(self._conflicts[(kind, record.name)])
            del self._conflicts[(kind, record.name)]
        existing = entries.get(record.name)
        if existing is not None and not override:
            remedy = (
                "pass override=True to replace it" if provider.plugin == "in-process"
                else "uninstall or block one of them (LAMINA_BLOCK_PLUGINS)"
            )
            raise PluginError(
                f"two plugins register the {KINDS[kind].singular} {record.name!r}: {existing.provider} and "
                f"{provider}; {remedy}"
            )
        entry = Entry(kind, record.name, record.factory, record.description, provider)
        entries[record.name] = entry
        return entry

    def add_conflict(self, kind, name, reason) -> None:
        """Two plugins register `name`: neither is used, and each lookup of it says why; every
        other name, and `lamina plugins`, keep working."""
        self._kind(kind).pop(name, None)
        self._conflicts[(kind, name)] = reason

    def entry(self, kind, name, saved_provider=None) -> Entry:
        entries = self._kind(kind)
        if (kind, name) in self._conflicts:
            raise PluginError(self._conflicts[(kind, name)])
        if name in entries:
            return entries[name]
        what = KINDS[kind].singular
        message = f"no {what} named {name!r} is registered"
        if saved_provider:
            message += (
                f"; the file says it came from {saved_provider}, which is not installed or is "
                "blocked (pip install it, or check LAMINA_LOAD_PLUGINS / LAMINA_BLOCK_PLUGINS)"
            )
        close = difflib.get_close_matches(name, entries, n=3, cutoff=0.5)
        if close:
            message += f". Did you mean {', '.join(close)}?"
        if not message.endswith("?"):
            message += "."
        message += f" Registered {kind}: {', '.join(sorted(entries)) or '(none)'}"
        raise UnknownComponentError(message)

    def get(self, kind, name, saved_provider=None):
        return self.entry(kind, name, saved_provider).factory

    def create(self, kind, name, *args, **kwargs):
        return self.get(kind, name)(*args, **kwargs)

    def entry_for(self, kind, factory) -> Entry | None:
        """The entry registered for `factory` (a class or function), or None: how a saved model
        finds the name under which each of its components can be found again."""
        for entry in self._kind(kind).values():
            if entry.factory is factory:
                return entry
        return None

    def names(self, kind) -> list:
        return sorted(self._kind(kind))

    def entries(self, kind=None) -> list:
        kinds = [kind] if kind else list(KINDS)
        return [entry for k in kinds for entry in self._kind(k).values()]

    def __contains__(self, kind_and_name):
        kind, name = kind_and_name
        return name in self._kind(kind)
