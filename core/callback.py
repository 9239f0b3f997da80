"""Callback: code that runs at the Trainer's boundaries. Override only the hooks you need."""

from __future__ import annotations


class Callback:
    """Every hook is optional and receives the trainer first.

    Order within one fit: on_fit_start; per epoch: on_epoch_start, then per batch
    on_train_batch_start, on_before_backward, on_after_backward, on_before_optimizer_step,
    on_train_batch_end; then on_validation_start, on_validation_end (with a validation loader);
    on_epoch_end; finally on_fit_end. on_exception runs if fit is interrupted by an error.
    Set `trainer.should_stop = True` to end training after the current epoch.
    """

    def on_fit_start(self, trainer):
        pass

    def on_fit_end(self, trainer):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_batch_start(self, trainer, batch_index):
        pass

    def on_train_batch_end(self, trainer, batch_index, logs):
        pass

    def on_before_backward(self, trainer, loss):
        pass

    def on_after_backward(self, trainer):
        pass

    def on_before_optimizer_step(self, trainer, optimizer):
        pass

    def on_validation_start(self, trainer):
        pass

    def on_validation_end(self, trainer, logs):
        pass

    def on_exception(self, trainer, error):
        pass

    def state_dict(self) -> dict:
        """State a checkpoint keeps (a best score, a wait counter)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
