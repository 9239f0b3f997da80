"""The kinds of component, declared once; the Record a plugin's hook returns for each component; and
the Examples a component declares for the conformance kit.

The plugin hooks (`lamina_register_<kind>`, lamina.plugin_system.hookspecs) are made from KINDS.
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


@attrs.frozen
class Example:
    """One way to build and feed a component, declared beside it as `conformance_examples = [...]`:
    the arguments to build it with (a dict, or a function of its runtime arguments), the inputs to
    feed it (a function returning them) and the checks that do not apply (name -> why). Plain data:
    the conformance kit (lamina.testing) reads it; declaring it imports nothing from the kit."""

    kwargs: dict | Callable = attrs.field(factory=dict)
    inputs: Callable | None = None
    skip: dict = attrs.field(factory=dict)
