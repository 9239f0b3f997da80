"""Trainer: the training loop, with callback hooks at each boundary (the order is in lamina.callback).

One optimizer step per mini-batch, with the gradient of the batch's mean loss; `grad_accumulation=k`
steps every k batches with the gradient of the mean loss over all the samples of those k batches.
After each epoch an epoch-interval scheduler steps, validation runs (given a loader), and `logs`
(loss, metrics, val_ values, lr) goes to the History and to every callback.

Training never loses work. `state_dict()` holds everything the rest of a run depends on (model,
optimizer, scheduler, callbacks, progress counters, the random generator); `save_checkpoint(path)`
writes it atomically, and `fit(..., resume_from=path)` continues bit-identically, from the end of an
epoch or from the middle of one. Ctrl-C during `fit` stops at the next optimizer step: `on_exception`
runs (ModelCheckpoint saves there), `trainer.interrupted` is set, and `fit` returns the History so far.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import signal
import threading

from .callbacks import Callback, History, implemented_hooks
from .errors import NonFiniteLossError
from .loss import Loss
from .module import Module
from .gradient_descent import Optimizer
from .catalogue import registry
from .rng import get_rng_state, set_rng_state
from .learning_rate import LRScheduler
from .tensors import Tensor, cat

__all__ = ["History", "Trainer"]

SCHEDULER_INTERVALS = ("epoch", "step")
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "callbacks", "trainer", "rng")


class _StopNow(Exception):
    """A callback set should_stop on a non-finite loss: end fit at once, without a step."""


class Trainer:
    def __init__(
        self,
        model,
        loss,
        optimizer,
        *,
        scheduler=None,
        scheduler_interval="epoch",
        callbacks=(),
        max_epochs=1,
        metrics=(),
        grad_accumulation=1,
        clip_grad_norm=None,
    ):
        _check_components(model, loss, optimizer)
        _check_scheduler(scheduler, scheduler_interval, optimizer)
        _check_positive_int("max_epochs", max_epochs)
        _check_positive_int("grad_accumulation", grad_accumulation)
        _check_clip_grad_norm(clip_grad_norm)
        callbacks = _check_callbacks(callbacks)
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self._scheduler_watches_a_metric = scheduler is not None and _step_takes_a_metric(scheduler)
        # The History records each epoch first, so it is part of any checkpoint written at that
        # epoch's end; a History passed in `callbacks` becomes the trainer's own.
        histories = [c for c in callbacks if type(c) is History]
        self.history = histories[0] if histories else History()
        self.callbacks = [c for c in callbacks if c is not self.history]
        self.max_epochs = max_epochs
        self.metrics = dict(_resolve_metric(m) for m in metrics)
        self.grad_accumulation = grad_accumulation
        self.clip_grad_norm = clip_grad_norm
        self._clip = _gradient_clipper() if clip_grad_norm is not None else None
        # progress: the epoch being trained, the batches of it done, the optimizer steps taken
        self.epoch = 0
        self.batches_done = 0
        self.global_step = 0
        self.should_stop = False
        self.resumed = False  # this fit continues from a checkpoint
        self.interrupted = False
        self.stop_reason = None
        self._epoch_finished = False
        self._epoch_rng = None
        self._totals = None
        self._resuming = False  # resuming mid-epoch: the next epoch replays its start
        self.num_batches = None  # batches per epoch, when the loader has a len()
        self._interrupt_requested = False
        self._last_lr = optimizer.param_groups[0]["lr"]
        self._window_size = 0  # samples in the current accumulation window

    # --- the loop -----------------------------------------------------------------------------
    def fit(self, train_loader, val_loader=None, resume_from=None) -> History:
        """Train for max_epochs (from a checkpoint's progress when resuming); returns the History."""
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        else:
            self._reset_progress()
        self.resumed = resume_from is not None
        self._hooks = implemented_hooks([self.history, *self.callbacks])
        self.num_batches = len(train_loader) if hasattr(train_loader, "__len__") else None
        self.should_stop = self.interrupted = self._interrupt_requested = False
        self.stop_reason = None
        with _stop_at_next_step_on_ctrl_c(self):
            try:
                self._call("on_fit_start")
                for epoch in range(self.epoch, self.max_epochs):
                    self._run_epoch(epoch, train_loader, val_loader)
                    if self.should_stop:
                        break
            except _StopNow:
                pass
            except KeyboardInterrupt as error:
                self.interrupted = True
                epoch, batches_done = self._resume_point()
                self.stop_reason = f"interrupted at epoch {epoch}, after {batches_done} batches"
                self._call("on_exception", error)
                return self.history
            except BaseException as error:
                self._call("on_exception", error)
                raise
        self._call("on_fit_end")
        return self.history

    def _call(self, hook, *args):
        for method in self._hooks[hook]:
            method(self, *args)

    def _run_epoch(self, epoch, train_loader, val_loader):
        self.epoch = epoch
        self._epoch_finished = False
        if not self._resuming:
            self.batches_done = 0
        self._call("on_epoch_start", epoch)
        logs = self._train_epoch(train_loader, epoch)
        if val_loader is not None:
            self._call("on_validation_start")
            validation = {f"val_{key}": value for key, value in self.evaluate(val_loader).items()}
            self._call("on_validation_end", validation)
            logs.update(validation)
        logs["lr"] = self._last_lr
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if self._scheduler_watches_a_metric:  # ReduceLROnPlateau: steps on the validation loss
                self.scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                self.scheduler.step()
        self._epoch_finished = True
        self._call("on_epoch_end", epoch, logs)
        if self._interrupt_requested:
            raise KeyboardInterrupt

    def _train_epoch(self, loader, epoch):
        self.model.train()
        batches = self._epoch_batches(loader)
        hooks = self._hooks
        batch_start, before_backward = hooks["on_train_batch_start"], hooks["on_before_backward"]
        after_backward, batch_end = hooks["on_after_backward"], hooks["on_train_batch_end"]
        accumulate = self.grad_accumulation > 1
        pending = 0  # batches whose gradients wait for the next step
        for batch_index, (x, y) in batches:
            for hook in batch_start:
                hook(self, batch_index)
            prediction = self.model(x)
            loss = self.loss(prediction, y)
            for hook in before_backward:
                hook(self, loss)
            if not math.isfinite(loss):
                self._non_finite_loss(loss, epoch, batch_index)
            if pending == 0:
                self.optimizer.zero_grad()
            if accumulate:
                pending = self._accumulate(prediction, pending)
            else:
                self.model.backward(self.loss.backward())
            for hook in after_backward:
                hook(self)
            last = batch_index + 1 == self.num_batches
            if not accumulate or pending == self.grad_accumulation or last:
                self._step(pending)
                pending = 0
            logs = self._totals.add(loss, prediction, y)
            for hook in batch_end:
                hook(self, batch_index, logs)
            self.batches_done = batch_index + 1
            if self._interrupt_requested and pending == 0:
                raise KeyboardInterrupt
        if pending:  # a loader without len(): the last, short window steps here
            self._step(pending)
        return self._totals.means()

    def _accumulate(self, prediction, pending):
        """Backward one batch of a window so that the window's gradient is that of its whole loss.

        A summed loss needs nothing: the batch sums add up to the window's sum. A mean loss's
        gradient is per batch and batches may differ in size, so each batch's gradient is weighted
        by its size here and the total divided by the window's size before the step.
        """
        gradient = self.loss.backward()
        if self.loss.reduction == "mean":
            size = len(prediction)
            gradient = gradient * size
            self._window_size = size + (self._window_size if pending else 0)
        self.model.backward(gradient)
        return pending + 1

    def _step(self, accumulated):
        if accumulated and self.loss.reduction == "mean":
            scale = 1.0 / self._window_size
            for param in self._parameters():
                if param.grad is not None:
                    param.grad = param.grad * scale
        for hook in self._hooks["on_before_optimizer_step"]:
            hook(self, self.optimizer)
        if self._clip is not None:
            self._clip(self._parameters(), self.clip_grad_norm)
        self._last_lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()

    def _parameters(self):
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _non_finite_loss(self, loss, epoch, batch_index):
        where = f"at epoch {epoch}, batch {batch_index}"
        if self.should_stop:  # a callback (TerminateOnNaN) chose to stop rather than fail
            self.stop_reason = f"the loss became {loss} {where}"
            raise _StopNow
        raise NonFiniteLossError(
            f"the loss became {loss} {where}; nothing was stepped on it. Lower the learning rate or "
            "check the data for NaN/inf, or add lamina.callbacks.TerminateOnNaN() to stop without an error"
        )

    def _epoch_batches(self, loader):
        """(batch_index, batch) pairs for this epoch; when resuming mid-epoch, the batches not done yet.

        Resuming replays the epoch's start: the generator is set back to its state when the epoch
        began, so the loader draws the same shuffle, the batches already done are skipped, and the
        generator then continues from where the checkpoint left it (Dropout masks included). This is
        exact for a loader that draws its randomness when iteration starts, as DataLoader does.
        """
        if self._resuming:
            self._resuming = False
            now = get_rng_state()
            set_rng_state(self._epoch_rng)
            iterator = iter(loader)
            for _ in range(self.batches_done):
                next(iterator)
            set_rng_state(now)
            return enumerate(_pairs(iterator, "training"), start=self.batches_done)
        self._totals = _Totals(self.metrics)
        self._epoch_rng = get_rng_state()
        return enumerate(_pairs(loader, "training"))

    # --- evaluation and prediction ------------------------------------------------------------
    def evaluate(self, loader) -> dict:
        """Loss and metrics over a loader, in eval mode, averaged per sample."""
        was_training = self.model.training
        self.model.eval()
        totals = _Totals(self.metrics)
        try:
            for x, y in _pairs(loader, "evaluation"):
                prediction = self.model(x)
                totals.add(self.loss(prediction, y), prediction, y)
        finally:
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

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything the rest of the run depends on, as plain data, Tensors and dicts of them.

        Taken at the end of an epoch (ModelCheckpoint) it resumes at the next epoch; taken after an
        optimizer step inside an epoch (Ctrl-C) it resumes at the next batch.
        """
        epoch, batches_done = self._resume_point()
        progress = {"epoch": epoch, "batches_done": batches_done, "global_step": self.global_step}
        if progress["batches_done"]:
            progress["epoch_rng"] = self._epoch_rng
            progress["totals"] = self._totals.state_dict()
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "callbacks": {key: c.state_dict() for key, c in self._keyed_callbacks().items()},
            "trainer": progress,
            "rng": get_rng_state(),
        }

    def _resume_point(self):
        """(epoch, batches of it done) where a run resumed from now would continue."""
        if self._epoch_finished:
            return self.epoch + 1, 0
        return self.epoch, self.batches_done

    def load_state_dict(self, state: dict) -> None:
        """Put the model, optimizer, scheduler, callbacks, progress and generator back as saved.

        A saved callback state with no matching callback here is ignored (a callback used only
        to stop the first run, say), as is a callback here with no saved state.
        """
        _check_checkpoint(state)
        if (state["scheduler"] is None) != (self.scheduler is None):
            has = "has no scheduler" if self.scheduler is None else "has a scheduler"
            saved = "none" if state["scheduler"] is None else "one"
            raise ValueError(f"cannot resume: this Trainer {has} but the checkpoint saved {saved}")
        model = state["model"]
        self.model.load_state_dict(model.state_dict() if isinstance(model, Module) else model)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        saved_callbacks = state["callbacks"]
        for key, callback in self._keyed_callbacks().items():
            if key in saved_callbacks:
                callback.load_state_dict(saved_callbacks[key])
        progress = state["trainer"]
        self.epoch = int(progress["epoch"])
        self.batches_done = int(progress["batches_done"])
        self.global_step = int(progress["global_step"])
        self._epoch_finished = False
        self._resuming = self.batches_done > 0
        if self._resuming:
            self._epoch_rng = progress["epoch_rng"]
            self._totals = _Totals.from_state(self.metrics, progress["totals"])
        set_rng_state(state["rng"])

    def save_checkpoint(self, path) -> None:
        """Write `state_dict()` to `path` atomically (lamina.save): a failed write leaves the old file.

        Where the model's architecture can be saved (every layer registered), the file holds the
        model itself rather than its state dict, so it is a model file too: `lamina.load(path)
        ["model"]`, `lamina predict` and `lamina evaluate` use it directly.
        """
        from .saving.model_files import architecture_of, save

        state = self.state_dict()
        try:
            architecture_of(self.model)
        except TypeError:  # a layer that is not registered: keep the weights, which resume needs
            pass
        else:
            state["model"] = self.model
        save(state, path)

    def load_checkpoint(self, path) -> None:
        from .saving.model_files import load

        state = load(path)
        if not isinstance(state, dict):
            raise ValueError(f"{path} holds a {type(state).__name__}, not a training checkpoint")
        try:
            self.load_state_dict(state)
        except (KeyError, ValueError, TypeError) as error:
            raise type(error)(f"cannot resume from {path}: {error}") from None

    def _keyed_callbacks(self) -> dict:
        """Callbacks by their state key; a second callback of the same class gets '#2', and so on."""
        keyed = {}
        for callback in [self.history, *self.callbacks]:
            key, count = callback.state_key, 1
            while key in keyed:
                count += 1
                key = f"{callback.state_key}#{count}"
            keyed[key] = callback
        return keyed

    def _reset_progress(self):
        self.epoch = self.batches_done = self.global_step = 0
        self._epoch_finished = self._resuming = False
        self.history.load_state_dict(History().state_dict())


def _pairs(loader, role):
    """The loader's batches, each checked to be an (inputs, targets) pair."""
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            shown = repr(batch)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise TypeError(
                f"the {role} loader yielded {type(batch).__name__} {shown}; expected (inputs, "
                "targets) pairs, as DataLoader(TensorDataset(x, y)) yields"
            )
        yield batch


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

    def state_dict(self):
        return {"sums": dict(self.sums), "count": self.count}

    @classmethod
    def from_state(cls, metrics, state):
        totals = cls(metrics)
        totals.sums.update(state["sums"])
        totals.count = state["count"]
        return totals


@contextlib.contextmanager
def _stop_at_next_step_on_ctrl_c(trainer):
    """During fit, Ctrl-C asks the loop to stop after the current optimizer step, so the state a
    checkpoint keeps is never half-updated; a second Ctrl-C interrupts at once, as usual.

    Only where Python's own handler is in place (the main thread, no handler of the program's own).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def request_stop(signum, frame):
        trainer._interrupt_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- argument checks ------------------------------------------------------------------------------


def _check_components(model, loss, optimizer):
    for value, kind, name in ((model, Module, "model"), (loss, Loss, "loss"), (optimizer, Optimizer, "optimizer")):
        if not isinstance(value, kind):
            raise TypeError(f"Trainer {name} must be a lamina {kind.__name__}, got {type(value).__name__}")
    if loss.reduction == "none":
        raise ValueError(f"Trainer needs a loss that reduces to one number; got {loss!r}")


def _check_scheduler(scheduler, interval, optimizer):
    if interval not in SCHEDULER_INTERVALS:
        raise ValueError(f"Trainer(scheduler_interval={interval!r}): expected 'epoch' or 'step'")
    if scheduler is None:
        return
    if not isinstance(scheduler, LRScheduler):
        raise TypeError(f"Trainer scheduler must be an LRScheduler, got {type(scheduler).__name__}")
    if scheduler.optimizer is not optimizer:
        raise ValueError("Trainer scheduler was built on a different optimizer than the Trainer's")
    if interval == "step" and _step_takes_a_metric(scheduler):
        raise ValueError(
            f"Trainer: {type(scheduler).__name__} steps on a monitored value once per epoch; "
            "use scheduler_interval='epoch'"
        )


def _check_clip_grad_norm(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        raise ValueError(f"Trainer(clip_grad_norm={value!r}): clip_grad_norm must be None or a number > 0")


def _step_takes_a_metric(scheduler):
    """A schedule whose step() needs a value to watch (ReduceLROnPlateau's `metrics`)."""
    parameters = inspect.signature(scheduler.step).parameters.values()
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Trainer({name}={value!r}): {name} must be an integer >= 1")


def _check_callbacks(callbacks):
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        if isinstance(callback, type):
            raise TypeError(
                f"Trainer callback {index} is the class {callback.__name__}; pass an instance, "
                f"{callback.__name__}(...)"
            )
        if not isinstance(callback, Callback):
            raise TypeError(
                f"Trainer callback {index} is a {type(callback).__name__}; callbacks subclass lamina.Callback"
            )
    return callbacks


def _check_checkpoint(state):
    if not isinstance(state, dict):
        raise TypeError(f"a training checkpoint is a dict, got {type(state).__name__}")
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise ValueError(f"not a training checkpoint: it has no {', '.join(map(repr, missing))}")


def _resolve_metric(metric):
    if isinstance(metric, str):
        return metric, registry().get("metrics", metric)
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(f"a metric must be a registered name or a function, got {metric!r}")


def _gradient_clipper():
    """lamina.nn.utils.clip_grad_norm_, found when a Trainer is asked to clip."""
    from .nn import utils

    return utils.clip_grad_norm_
