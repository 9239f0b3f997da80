"""lamina.callbacks: the Callback interface (code that runs at the Trainer's boundaries: override
only the hooks you need), and every registered callback by name (`lamina.callbacks.EarlyStopping`,
or the History every Trainer keeps, is looked up in the registry).

The hooks of one `fit`, in the order the Trainer calls them:

    on_fit_start(trainer)
    for each epoch:
        on_epoch_start(trainer, epoch)
        for each training batch:
            on_train_batch_start(trainer, batch, batch_index)  # batch: (inputs, targets)
            on_before_backward(trainer, loss)              # the batch's loss, a float
            on_after_backward(trainer, batch, logs)        # gradients in param.grad; logs: the loss
            on_before_optimizer_step(trainer, optimizer)   # only on batches that step
            on_train_batch_end(trainer, outputs, batch, batch_index, logs)  # outputs: model(inputs)
        on_validation_start(trainer)                       # only with a validation loader
        on_validation_end(trainer, logs)                   # logs: val_loss, val_<metric>
        on_epoch_end(trainer, epoch, logs)                 # logs: loss, metrics, val_ values, lr
    on_fit_end(trainer)

If fit is interrupted by an error or Ctrl-C, `on_exception(trainer, error)` runs instead of the
hooks that did not happen (and instead of on_fit_end). Every hook receives the trainer first;
setting `trainer.should_stop = True` ends training after the current epoch. Setting it in
on_before_backward when the loss is NaN or infinite (TerminateOnNaN) ends training at once, with
no step on that loss: on_fit_end follows directly. `trainer.resumed` tells a fit that continues
from a checkpoint (whose callback state is already loaded by on_fit_start) from a fresh one.

A callback that carries state across epochs (a best score, a wait counter) returns it from
`state_dict()` and takes it back in `load_state_dict()`; checkpoints keep it, under the callback's
`state_key` (its class name).
"""

from __future__ import annotations

from .component import describe, registry


class Callback:
    """Every hook is optional (the defaults do nothing) and receives the trainer first."""

    def __repr__(self):
        return describe(self)

    # The hooks, as the module docstring orders them: each does nothing until a subclass overrides it.
    def on_fit_start(self, trainer): pass
    def on_fit_end(self, trainer): pass
    def on_epoch_start(self, trainer, epoch): pass
    def on_epoch_end(self, trainer, epoch, logs): pass
    def on_train_batch_start(self, trainer, batch, batch_index): pass
    def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs): pass
    def on_before_backward(self, trainer, loss): pass
    def on_after_backward(self, trainer, batch, logs): pass
    def on_before_optimizer_step(self, trainer, optimizer): pass
    def on_validation_start(self, trainer): pass
    def on_validation_end(self, trainer, logs): pass
    def on_exception(self, trainer, error): pass

    @property
    def state_key(self) -> str:
        """The name a checkpoint keeps this callback's state under."""
        return type(self).__qualname__

    def state_dict(self) -> dict:
        """State a checkpoint keeps (a best score, a wait counter)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


def implemented_hooks(callbacks) -> dict:
    """hook name -> the bound methods of the callbacks that override it, in callback order.

    The Trainer calls only these, so a hook nobody implements costs nothing per batch.
    """
    return {
        hook: [getattr(c, hook) for c in callbacks if getattr(type(c), hook) is not getattr(Callback, hook)]
        for hook in HOOKS
    }


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return registry().get("callbacks", name)
