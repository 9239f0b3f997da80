"""The plugin manager: finds entry points in group `lamina`, loads each as a pluggy plugin, and
fills the registry from its hooks, remembering which distribution provided what.

Environment control, applied to metadata before any plugin module is imported:
  LAMINA_LOAD_PLUGINS=a,b    load only these third-party plugins (distribution or entry-point
                             names); set but empty, load none. lamina's built-ins always load.
  LAMINA_BLOCK_PLUGINS=a,b   never load these (may name a built-in, e.g. lamina.layers).
  LAMINA_STRICT_PLUGINS=1    a plugin that fails to load is an error, not a warning.

A plugin that fails (its module raises on import, a hook raises or returns something that is not
a component, a hook name is misspelt) is skipped with one warning and listed as failed; the others
load as usual. Two plugins registering one name is always an error, naming both.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
import re
import sys
import warnings

import attrs
import importlib_metadata
import pluggy

from lamina import component
from lamina.callbacks import Callback
from lamina.cli.messages import one_line
from lamina.gradient_descent import Optimizer
from lamina.learning_rate import LRScheduler
from lamina.module import Loss, Module
from lamina.component import registry
from lamina.errors import PluginError
from lamina.plugin_system import hookspecs
from lamina.plugin_system.hookspecs import hook_name
from lamina.plugin_system.kinds import KINDS
from lamina.plugin_system.registry import Provider, Registry, as_record

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
    """One plugin (one entry point) as `lamina plugins` shows it."""

    name: str
    distribution: str
    version: str
    status: str  # loaded | blocked | failed
    error: str = ""  # why it failed, or why it was blocked
    components: dict = attrs.field(factory=dict)  # kind -> [names]

    def as_dict(self) -> dict:
        return attrs.asdict(self)


def normalize(name: str) -> str:
    """Distribution names compare as pip compares them: case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names_from_env(variable):
    value = os.environ.get(variable)
    if value is None:
        return None
    return {normalize(n.strip()) for n in value.split(",") if n.strip()}


class PluginManager:
    def __init__(self, allow=None, block=(), strict=False):
        self.allow = None if allow is None else {normalize(n) for n in allow}
        self.block = {normalize(n) for n in block}
        self.strict = strict
        self.plugins: list[PluginStatus] = []
        self.registry = Registry()
        self._pluggy = pluggy.PluginManager("lamina")
        self._pluggy.add_hookspecs(hookspecs.Hooks)

    @classmethod
    def from_environment(cls):
        return cls(
            allow=_names_from_env(ALLOW_ENV),
            block=_names_from_env(BLOCK_ENV) or (),
            strict=os.environ.get(STRICT_ENV, "").strip() not in ("", "0"),
        )

    def blocked_because(self, plugin: str, distribution: str) -> str:
        """Why this plugin is not to be loaded ('' if it is), read from its names alone."""
        names = {normalize(plugin), normalize(distribution)}
        if names & self.block:
            return f"blocked by {BLOCK_ENV}"
        if is_builtin(plugin, distribution) or self.allow is None:
            return ""
        if names & self.allow:
            return ""
        return f"not in {ALLOW_ENV}"

    def discover(self):
        """(entry point, distribution name, version) for every plugin, each once, built-ins
        first. Only metadata is read here; no plugin module is imported."""
        found = {}
        # Every distribution, not entry_points(): that keeps one distribution per normalised
        # name, so a "Lamina" earlier on sys.path would hide lamina's own plugins.
        for dist in importlib_metadata.distributions():
            for ep in dist.entry_points.select(group=ENTRY_POINT_GROUP):
                name = dist.metadata["Name"] or "(unknown)"
                # The same distribution can be on sys.path twice (an editable install and a copy).
                found.setdefault((name, ep.name, ep.value), (ep, name, dist.version or ""))
        return sorted(found.values(), key=lambda d: (not is_builtin(d[0].name, d[1]), d[1], d[0].name))

    def load(self):
        for ep, distribution, version in self.discover():
            status = PluginStatus(ep.name, distribution, version, "blocked")
            self.plugins.append(status)
            status.error = self.blocked_because(ep.name, distribution)
            if not status.error:
                self._load_one(ep, status)
        return self.registry

    def _load_one(self, ep, status):
        provider = Provider(ep.name, status.distribution, status.version)
        try:
            # A plugin's prints go to stderr: stdout is the command's (`lamina plugins --json`).
            with contextlib.redirect_stdout(sys.stderr):
                module = ep.load()
                records = self._records_of(module, f"{status.distribution}:{ep.name}")
        # A broken plugin must not take the host down, not even by sys.exit() or a
        # KeyboardInterrupt raised from its import.
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            self._failed(status, error, ep.value)
            return
        clashes = []
        for kind, record in records:
            try:
                self.registry.add(kind, record, provider)
            except PluginError as clash:  # only that name becomes unusable, each use naming both
                if self.strict:
                    raise
                self.registry.add_conflict(kind, record.name, str(clash))
                clashes.append(str(clash))
            status.components.setdefault(kind, []).append(record.name)
        status.status = "loaded"
        status.error = "; ".join(clashes)

    def _records_of(self, module, plugin_name):
        """Every (kind, record) one plugin's hooks return, gathered before any is registered,
        so that a plugin whose third hook fails adds nothing at all.

        pluggy validates the plugin as it is registered; each hook is then called through pluggy
        on this plugin alone (a subset caller), which is what lets one broken plugin be skipped
        without losing the others and tells which plugin provided which component."""
        self._pluggy.register(module, name=plugin_name)
        try:
            self._check_hook_names(module)
            others = [plugin for plugin in self._pluggy.get_plugins() if plugin is not module]
            records = []
            for kind in KINDS:
                name = hook_name(kind)
                call_this_plugin = self._pluggy.subset_hook_caller(name, remove_plugins=others)
                for returned in call_this_plugin():
                    records.extend((kind, _checked(kind, as_record(item))) for item in _iterable(returned, name))
            return records
        except Exception:
            self._pluggy.unregister(module)
            raise

    def _check_hook_names(self, module):
        """pluggy's own check for hooks nobody declared, with the name that was probably meant."""
        try:
            self._pluggy.check_pending()
        except pluggy.PluginValidationError:
            known = [hook_name(kind) for kind in KINDS]
            misspelt = sorted(
                name for name in dir(module)
                if name not in known and hasattr(getattr(module, name), "lamina_impl")
            )
            guesses = [difflib.get_close_matches(name, known, n=1) for name in misspelt]
            raise PluginError("unknown hook " + ", ".join(
                f"{name} (did you mean {guess[0]}?)" if guess else name for name, guess in zip(misspelt, guesses)
            ) + "; the hooks are listed in lamina.plugin_system.hookspecs") from None

    def _failed(self, status, error, where_from):
        status.status = "failed"
        status.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        where = f"lamina plugin {status.name!r} from {status.distribution} {status.version}".rstrip()
        if self.strict:
            raise PluginError(f"{where} failed to load: {status.error} ({STRICT_ENV} is set)") from error
        # Attributed to the plugin's module rather than to a line of lamina: one line, no source.
        # Names and messages come from the plugin and its metadata: escaped, on one line.
        warnings.warn_explicit(
            one_line(f"{where} failed to load and was skipped: {status.error} "
                     f"(set {STRICT_ENV}=1 to make this an error)"),
            PluginWarning,
            filename=one_line(where_from),
            lineno=0,
        )

    def status(self, name: str) -> PluginStatus:
        """The status of one plugin, by entry-point or distribution name."""
        for plugin in self.plugins:
            if normalize(name) in (normalize(plugin.name), normalize(plugin.distribution)):
                return plugin
        raise KeyError(f"no plugin named {name!r}; plugins: {', '.join(p.name for p in self.plugins)}")


def is_builtin(plugin: str, distribution: str) -> bool:
    """lamina's own plugins: the distribution named exactly "lamina" (not a look-alike such as
    "Lamina", which pip would treat as the same name) with its modules in lamina.plugins."""
    return distribution == BUILTIN_DISTRIBUTION and plugin.startswith("lamina.")


def _checked(kind, record):
    """A record whose factory could be the kind of component its hook registers."""
    factory = record.factory
    if not isinstance(record.name, str) or not record.name.isidentifier():
        raise TypeError(f"a {KINDS[kind].singular} is registered under the name {record.name!r}, not an identifier")
    base = _BASES.get(kind)
    if base is not None:
        if not (inspect.isclass(factory) and issubclass(factory, base)):
            raise TypeError(f"{record.name!r} is registered as a {KINDS[kind].singular} but is {factory!r}, "
                            f"not a subclass of lamina's {base.__name__}")
    elif not callable(factory):
        raise TypeError(f"{record.name!r} is registered as a {KINDS[kind].singular} but is not callable")
    return record


# What a component of each kind subclasses, where the kind has one base class; the other kinds
# register functions or factories.
_BASES = {"modules": Module, "losses": Loss, "optimizers": Optimizer, "schedulers": LRScheduler,
          "callbacks": Callback}


def _iterable(returned, hook):
    if isinstance(returned, (str, bytes)) or not hasattr(returned, "__iter__"):
        raise TypeError(f"hook {hook} returned {returned!r}; expected a list of components")
    return returned


_manager = None
_loading = False


def plugin_manager() -> PluginManager:
    """The process's plugin manager, loaded on first use (never on `import lamina`)."""
    global _manager, _loading
    if _manager is None:
        if _loading:  # a plugin's import or hook asked for components: it would load them again, forever
            raise PluginError(
                "a plugin asked for lamina's registry while the plugins were loading; look components "
                "up when they are used, not when the plugin is imported or its hook runs"
            )
        _loading = True
        try:
            manager = PluginManager.from_environment()
            manager.load()
            _manager = manager
        finally:
            _loading = False
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

    The name defaults to the class's (or function's) own; registering a name that is already
    taken is an error naming its provider, unless `override=True`, which replaces it.
    """
    if kind not in KINDS:
        raise ValueError(f"lamina.register: unknown kind {kind!r}; kinds are {', '.join(KINDS)}")

    def add(factory):
        record = as_record(factory)
        record = attrs.evolve(record, name=name or record.name, description=description or record.description)
        registry().add(kind, record, IN_PROCESS, override=override)
        return factory

    return add


# The core's registry() asks this module for the process's registry: the core never imports
# the machinery that finds plugins, the machinery plugs itself in.
component.fill_from(lambda: plugin_manager().registry)
