"""The plugin manager: finds entry points in group `lamina`, loads each as a pluggy plugin, and
fills the registry from its hooks, remembering which distribution provided what.

Environment control, applied to metadata before any plugin module is imported:
  LAMINA_LOAD_PLUGINS=a,b    load only these third-party plugins (distribution or entry-point
                             names); set but empty, load none. lamina's built-ins always load.
  LAMINA_BLOCK_PLUGINS=a,b   never load these (may name a built-in, e.g. lamina.layers).
  LAMINA_STRICT_PLUGINS=1    a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import os
import re
import warnings

import attrs
import importlib_metadata
import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import KINDS, Provider, Registry, as_record, registry

ENTRY_POINT_GROUP = "lamina"
BUILTIN_DISTRIBUTION = "lamina"
ALLOW_ENV = "LAMINA_LOAD_PLUGINS"
BLOCK_ENV = "LAMINA_BLOCK_PLUGINS"
STRICT_ENV = "LAMINA_STRICT_PLUGINS"
IN_PROCESS = Provider(plugin="in-process", distribution="(registered in-process)", version="")


class PluginWarning(UserWarning):
    """A plugin was skipped because it failed to load."""


@attrs.define
class PluginStatus:
    name: str
    distribution: str
    version: str
    status: str  # loaded | blocked | failed
    error: str = ""
    components: dict = attrs.field(factory=dict)  # kind -> [names]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names_from_env(variable):
    value = os.environ.get(variable)
    if value is None:
        return None
    return {normalize(n) for n in value.split(",") if n.strip()}


class PluginManager:
    def __init__(self, allow=None, block=(), strict=False):
        self.allow = None if allow is None else {normalize(n) for n in allow}
        self.block = {normalize(n) for n in block}
        self.strict = strict
        self.plugins: list[PluginStatus] = []
        self.registry = Registry()
        self._pluggy = pluggy.PluginManager("lamina")
        self._pluggy.add_hookspecs(hookspecs)

    @classmethod
    def from_environment(cls):
        return cls(
            allow=_names_from_env(ALLOW_ENV),
            block=_names_from_env(BLOCK_ENV) or (),
            strict=os.environ.get(STRICT_ENV, "") not in ("", "0"),
        )

    def _wanted(self, plugin, distribution):
        names = {normalize(plugin), normalize(distribution)}
        if names & self.block:
            return False
        builtin = normalize(distribution) == BUILTIN_DISTRIBUTION
        return builtin or self.allow is None or bool(names & self.allow)

    def discover(self):
        """(entry point, distribution name, version) for every plugin, each once."""
        seen = set()
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            name = dist.metadata["Name"] if dist is not None else "(unknown)"
            version = dist.version if dist is not None else ""
            if (normalize(name), ep.name) in seen:
                continue
            seen.add((normalize(name), ep.name))
            yield ep, name, version

    def load(self):
        for ep, distribution, version in sorted(self.discover(), key=lambda d: (d[1] != "lamina", d[0].name)):
            status = PluginStatus(ep.name, distribution, version, "blocked")
            self.plugins.append(status)
            if self._wanted(ep.name, distribution):
                self._load_one(ep, status)
        return self.registry

    def _load_one(self, ep, status):
        provider = Provider(ep.name, status.distribution, status.version)
        try:
            module = ep.load()
            self._pluggy.register(module, name=f"{status.distribution}:{ep.name}")
            records = self._collect(f"{status.distribution}:{ep.name}")
        except Exception as error:  # a broken plugin must not take the host down
            status.status, status.error = "failed", f"{type(error).__name__}: {error}"
            if self.strict:
                raise PluginError(
                    f"plugin {ep.name!r} from {status.distribution} {status.version} failed to "
                    f"load: {status.error}"
                ) from error
            warnings.warn(
                f"lamina plugin {ep.name!r} from {status.distribution} {status.version} failed "
                f"to load and was skipped ({status.error}); set {STRICT_ENV}=1 to make this fatal",
                PluginWarning,
                stacklevel=2,
            )
            return
        for kind, record in records:
            self.registry.add(kind, record, provider)
            status.components.setdefault(kind, []).append(record.name)
        status.status = "loaded"

    def _collect(self, plugin_name):
        """Every (kind, record) one plugin's hooks return, gathered before any is registered."""
        records = []
        for kind in KINDS:
            caller = getattr(self._pluggy.hook, f"lamina_register_{kind}")
            for impl in caller.get_hookimpls():
                if impl.plugin_name == plugin_name:
                    records.extend((kind, as_record(item)) for item in impl.function() or ())
        return records


_manager = None


def plugin_manager() -> PluginManager:
    """The process's plugin manager, loaded on first use (never on `import lamina`)."""
    global _manager
    if _manager is None:
        manager = PluginManager.from_environment()
        manager.load()
        _manager = manager
    return _manager


def reset_plugins(manager: PluginManager | None = None):
    """Forget the loaded plugins (tests, or after changing the environment); optionally install
    an already-loaded manager in their place."""
    global _manager
    _manager = manager


def register(kind, name=None, *, override=False, description=""):
    """Decorator: add a component from a notebook or a test, without packaging.

        @lamina.register("modules")
        class Swish(lamina.nn.Module): ...
    """

    def add(factory):
        record = as_record(factory)
        record = attrs.evolve(record, name=name or record.name, description=description or record.description)
        registry().add(kind, record, IN_PROCESS, override=override)
        return factory

    return add
