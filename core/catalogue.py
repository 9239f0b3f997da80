"""The catalogue of components: the registry maps (kind, name) to a component, with the provenance
of each entry (which distribution and version provided it).

The kinds are declared here, once: the plugin hooks (`lamina_register_<kind>`) are made from them.
The registry itself (lamina.plugin_system.registry) is filled lazily, by the plugin machinery, the
first time anything asks for a component; the core only ever asks `registry()`.
"""

from __future__ import annotations

from typing import Callable

import attrs


@attrs.frozen
class Kind:
    """One kind of component: its name in messages, and what its plugin hook registers."""

    singular: str
    hook_doc: str


# Every kind of component, declared once. A plugin registers components of a kind from its hook
# `lamina_register_<kind>` (lamina.plugin_system.hookspecs makes one hook per entry).
KINDS = {
    "modules": Kind("module", "Layers and activations, reachable as lamina.nn.<Name>."),
    "losses": Kind("loss", "Losses, reachable as lamina.nn.<Name>."),
    "optimizers": Kind("optimizer", "Optimizers, reachable as lamina.optim.<Name>."),
    "schedulers": Kind("LR scheduler", "LR schedules, reachable as lamina.optim.lr_scheduler.<Name>."),
    "weight_decay": Kind("weight-decay rule", "Weight-decay rules ('l2', 'decoupled'), applied by name."),
    "callbacks": Kind("callback", "Trainer callbacks, reachable as lamina.callbacks.<Name>."),
    "metrics": Kind("metric", "Metrics: functions (prediction, target) -> float, named in Trainer(metrics=...)."),
    "initializers": Kind("initializer", "Weight initialisers, reachable as lamina.nn.init.<name>_."),
    "formats": Kind("save format", "Save formats (lamina.saving.formats.Format subclasses), by extension or name."),
    "backends": Kind("backend", "Tensor backends, chosen with lamina.set_backend(name)."),
    "datasets": Kind("dataset", "Datasets: functions returning (inputs, targets) tensors."),
    "commands": Kind("command", "Subcommands of `lamina`: configure(parser) adds arguments, returns run(args) -> exit code|None."),
}


@attrs.frozen
class Record:
    """What a plugin's hook returns for one component."""

    name: str
    factory: Callable
    description: str = ""


_source = None


def registry():
    """The process's registry, filled from the installed plugins on first use.

    The plugin machinery (lamina.plugin_system) fills it: it hands this module its source when
    it is imported, so that the core never imports the machinery that finds plugins."""
    if _source is None:
        raise RuntimeError("lamina's plugin machinery is not loaded: import lamina first")
    return _source()


def fill_from(source) -> None:
    """Make `source()` the registry that `registry()` returns (lamina.plugin_system calls this)."""
    global _source
    _source = source
