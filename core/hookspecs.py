"""The hooks a lamina plugin may implement: one per kind of component.

Each returns an iterable of components: a `lamina.Record(name, factory, description)`, or simply
the class or function itself (named by its `__name__`, described by its docstring's first line).
Hooks take no arguments today; arguments added later are ones old plugins may ignore.
"""

import pluggy

hookspec = pluggy.HookspecMarker("lamina")
hookimpl = pluggy.HookimplMarker("lamina")


@hookspec
def lamina_register_modules():
    """Layers and activations, reachable as lamina.nn.<Name>."""


@hookspec
def lamina_register_losses():
    """Losses, reachable as lamina.nn.<Name>."""


@hookspec
def lamina_register_optimizers():
    """Optimizers, reachable as lamina.optim.<Name>."""


@hookspec
def lamina_register_schedulers():
    """LR schedules, reachable as lamina.optim.lr_scheduler.<Name>."""


@hookspec
def lamina_register_weight_decay():
    """Weight-decay rules ('l2', 'decoupled'), which every optimizer applies by name."""


@hookspec
def lamina_register_callbacks():
    """Trainer callbacks, reachable as lamina.callbacks.<Name>."""


@hookspec
def lamina_register_metrics():
    """Metrics: functions (prediction, target) -> float, named in Trainer(metrics=...)."""


@hookspec
def lamina_register_initializers():
    """Weight initialisers, chosen by name (Linear(init=...))."""


@hookspec
def lamina_register_formats():
    """Save/load formats (lamina.format.Format subclasses: `extensions`, `encode`, `decode`),
    chosen by file extension or by name."""


@hookspec
def lamina_register_backends():
    """Tensor backends, chosen with lamina.set_backend(name)."""


@hookspec
def lamina_register_datasets():
    """Datasets: functions returning (inputs, targets) tensors."""


@hookspec
def lamina_register_commands():
    """Subcommands of the `lamina` command line."""
