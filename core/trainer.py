"""Trainer: the training loop, with callback hooks at each boundary.

One step is one mini-batch: forward, loss, zero_grad, backward, optimizer step. After each epoch
the scheduler steps, validation runs (if given a loader), and `logs` (loss, metrics, val_ values,
lr) goes to every callback and into the returned History.
"""

from __future__ import annotations

import math

from .callback import Callback
from .errors import NonFiniteLossError
from .loss import Loss
from .module import Module
from .optimizer import Optimizer
from .registry import registry
from .scheduler import LRScheduler
from .tensor import Tensor, cat


class History(Callback):
    """What happened, epoch by epoch: `history["loss"]` is the list of epoch losses."""

    def __init__(self):
        self.epochs = []
        self.history = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def state_dict(self):
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state):
        self.epochs = list(state["epochs"])
        self.history = {k: list(v) for k, v in state["history"].items()}


def _resolve_metric(metric):
    if isinstance(metric, str):
        return metric, registry().get("metrics", metric)
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(f"a metric must be a registered name or a function, got {metric!r}")


class Trainer:
    def __init__(self, model, loss, optimizer, *, scheduler=None, callbacks=(), max_epochs=1, metrics=()):
        for value, kind, name in ((model, Module, "model"), (loss, Loss, "loss"), (optimizer, Optimizer, "optimizer")):
            if not isinstance(value, kind):
                raise TypeError(f"Trainer {name} must be a lamina {kind.__name__}, got {type(value).__name__}")
        if scheduler is not None and not isinstance(scheduler, LRScheduler):
            raise TypeError(f"Trainer scheduler must be an LRScheduler, got {type(scheduler).__name__}")
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"Trainer(max_epochs={max_epochs!r}): max_epochs must be an integer >= 1")
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        self.max_epochs = max_epochs
        self.metrics = dict(_resolve_metric(m) for m in metrics)
        self.should_stop = False
        self.epoch = 0
        self.history = History()

    def _call(self, hook, *args):
        for callback in [*self.callbacks, self.history]:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)

    def fit(self, train_loader, val_loader=None) -> History:
        self.should_stop = False
        self._call("on_fit_start")
        try:
            for epoch in range(self.max_epochs):
                self.epoch = epoch
                self._call("on_epoch_start", epoch)
                logs = self._train_epoch(train_loader, epoch)
                if val_loader is not None:
                    self._call("on_validation_start")
                    validation = {f"val_{k}": v for k, v in self.evaluate(val_loader).items()}
                    self._call("on_validation_end", validation)
                    logs.update(validation)
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                if self.scheduler is not None:
                    self.scheduler.step()
                self._call("on_epoch_end", epoch, logs)
                if self.should_stop:
                    break
        except BaseException as error:
            self._call("on_exception", error)
            raise
        self._call("on_fit_end")
        return self.history

    def _train_epoch(self, loader, epoch):
        self.model.train()
        totals = _Totals(self.metrics)
        for batch_index, (x, y) in enumerate(loader):
            self._call("on_train_batch_start", batch_index)
            prediction = self.model(x)
            loss = self.loss(prediction, y)
            if not math.isfinite(loss):
                raise NonFiniteLossError(f"the loss became {loss} at epoch {epoch}, batch {batch_index}")
            self._call("on_before_backward", loss)
            self.optimizer.zero_grad()
            self.model.backward(self.loss.backward())
            self._call("on_after_backward")
            self._call("on_before_optimizer_step", self.optimizer)
            self.optimizer.step()
            self._call("on_train_batch_end", batch_index, totals.add(loss, prediction, y))
        return totals.means()

    def evaluate(self, loader) -> dict:
        """Loss and metrics over a loader, in eval mode, averaged per sample."""
        was_training = self.model.training
        self.model.eval()
        totals = _Totals(self.metrics)
        for x, y in loader:
            prediction = self.model(x)
            totals.add(self.loss(prediction, y), prediction, y)
        self.model.train(was_training)
        return totals.means()

    def predict(self, data) -> Tensor:
        """The model's output in eval mode for a tensor, or for every batch of a loader."""
        was_training = self.model.training
        self.model.eval()
        try:
            if isinstance(data, Tensor):
                return self.model(data)
            return cat([self.model(batch[0] if isinstance(batch, tuple) else batch) for batch in data])
        finally:
            self.model.train(was_training)


class _Totals:
    """Sample-weighted running means of the loss and each metric over an epoch."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.sums = {"loss": 0.0, **{name: 0.0 for name in metrics}}
        self.count = 0

    def add(self, loss, prediction, target):
        size = len(prediction)
        logs = {"loss": loss}
        for name, metric in self.metrics.items():
            logs[name] = metric(prediction, target)
        for key, value in logs.items():
            self.sums[key] += value * size
        self.count += size
        return logs

    def means(self):
        return {key: total / self.count for key, total in self.sums.items()}
