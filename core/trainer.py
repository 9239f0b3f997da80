"""Trainer: the training loop, with callback hooks at each boundary (their order is in lamina.callbacks).

One optimizer step per mini-batch, with the gradient of the batch's mean loss; `grad_accumulation=k`
steps every k batches with the gradient of the mean loss over all the samples of those k batches.
After each epoch an epoch-interval scheduler steps, validation runs (given a loader), and `logs`
(loss, metrics, val_ values, lr) goes to the History and to every callback.

Progress is kept in plain attributes (epoch, batches_done, global_step, the generator's state when
the epoch began, the running totals), so that a checkpoint (lamina.saving.checkpoints) can continue
a run bit-identically, even mid-epoch. Ctrl-C ends `fit`: `on_exception` runs, `trainer.interrupted`
is set, and `fit` returns the History so far (a ModelCheckpoint first waits for the step to end).
"""

from __future__ import annotations

import math

from attrs.validators import optional

from .callbacks import Callback, implemented_hooks
from .component import at_least, component, field, greater_than, integer, number, one_of, registry, runtime_argument
from .epoch_logs import EpochTotals, resolve_metric
from .errors import NonFiniteLossError
from .gradient_descent import Optimizer
from .learning_rate import LRScheduler
from .module import Loss, Module
from .rng import get_rng_state, set_rng_state
from .tensors import Tensor


def batches_of(loader, role):
    """The loader's batches, each checked to be an (inputs, targets) pair."""
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"the {role} loader yielded {type(batch).__name__} {repr(batch)[:60]}; expected (inputs, "
                            "targets) pairs, as DataLoader(TensorDataset(x, y)) yields")
        yield batch


class _StopNow(Exception):
    """A callback set should_stop on a non-finite loss: end fit at once, without a step."""


def _a(kind):
    def check(trainer, attribute, value):
        if not isinstance(value, kind):
            raise TypeError(f"Trainer {attribute.name} must be a lamina {kind.__name__}, got {type(value).__name__}")
        if kind is Loss and value.reduction == "none":
            raise ValueError(f"Trainer needs a loss that reduces to one number; got {value!r}")

    return check


def _callbacks(trainer, attribute, callbacks):
    for index, callback in enumerate(callbacks):
        if isinstance(callback, type):
            raise TypeError(f"Trainer callback {index} is the class {callback.__name__}; pass an instance, "
                            f"{callback.__name__}(...)")
        if not isinstance(callback, Callback):
            raise TypeError(f"Trainer callback {index} is a {type(callback).__name__}; callbacks subclass lamina.Callback")


def _scheduler(trainer, attribute, scheduler):
    if scheduler is None:
        return
    if not isinstance(scheduler, LRScheduler):
        raise TypeError(f"Trainer scheduler must be an LRScheduler, got {type(scheduler).__name__}")
    if scheduler.optimizer is not trainer.optimizer:
        raise ValueError("Trainer scheduler was built on a different optimizer than the Trainer's")
    if scheduler.needs_metric and trainer.stepping_interval == "step":
        raise ValueError(f"Trainer: {type(scheduler).__name__} steps on a monitored value once per epoch; "
                         "use scheduler_interval='epoch'")


@component
class Trainer:
    model: Module = runtime_argument(validator=_a(Module))
    loss: Loss = runtime_argument(validator=_a(Loss))
    optimizer: Optimizer = runtime_argument(validator=_a(Optimizer))
    scheduler: LRScheduler = runtime_argument(default=None, kw_only=True, validator=_scheduler)
    # None: step the scheduler at the interval it declares (LRScheduler.interval).
    scheduler_interval: str = field(default=None, kw_only=True, validator=one_of(None, "epoch", "step"))
    callbacks: list = runtime_argument(default=(), kw_only=True, converter=list, validator=_callbacks)
    max_epochs: int = field(default=1, kw_only=True, validator=[integer, at_least(1)])
    metrics: list = field(default=(), kw_only=True, converter=list)
    grad_accumulation: int = field(default=1, kw_only=True, validator=[integer, at_least(1)])
    clip_grad_norm: float = field(default=None, kw_only=True, validator=optional([number, greater_than(0)]))

    def __attrs_post_init__(self):
        # The History (a registered callback) records each epoch first, so it is part of any checkpoint
        # written at that epoch's end; a History passed in `callbacks` becomes the trainer's own.
        History = registry().get("callbacks", "History")
        self.history = next((c for c in self.callbacks if type(c) is History), None)
        self.history = History() if self.history is None else self.history
        self.callbacks = [c for c in self.callbacks if c is not self.history]
        if self.clip_grad_norm is not None:  # the last to see the gradients before the step
            self.callbacks.append(registry().create("callbacks", "GradientClipping", self.clip_grad_norm))
        self.metric_functions = dict(resolve_metric(m) for m in self.metrics)
        self.epoch = self.batches_done = self.global_step = 0
        self.epoch_finished = False  # the current epoch's end has run (a checkpoint resumes after it)
        self.epoch_rng_state = None  # the generator when this epoch began: a mid-epoch resume replays it
        self.totals = None  # this epoch's running loss and metric sums
        self.resumed = self.resuming_mid_epoch = self.should_stop = self.interrupted = False
        self.stop_reason = None
        self.num_batches = None  # batches per epoch, when the loader has a len()
        self._last_lr = self.optimizer.param_groups[0]["lr"]
        self._window_size = 0  # samples in the current accumulation window

    @property
    def stepping_interval(self) -> str:
        return self.scheduler_interval or self.scheduler.interval

    # --- the loop -----------------------------------------------------------------------------
    def fit(self, train_loader, val_loader=None, resume_from=None):
        """Train for max_epochs and return the History. `resume_from` (a checkpoint's path) continues
        a run: the registered ResumeFromCheckpoint callback restores it before any other hook runs."""
        self.epoch = self.batches_done = self.global_step = 0
        self.epoch_finished = self.resumed = self.resuming_mid_epoch = False
        self.history.load_state_dict(type(self.history)().state_dict())
        callbacks = [self.history, *self.callbacks]
        if resume_from is not None:
            callbacks.insert(0, registry().create("callbacks", "ResumeFromCheckpoint", resume_from))
        self._hooks = implemented_hooks(callbacks)
        self.num_batches = len(train_loader) if hasattr(train_loader, "__len__") else None
        self.should_stop, self.interrupted, self.stop_reason = False, False, None
        if self.scheduler is not None:
            self.scheduler.check_run(self)
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
            epoch, batches_done = self.resume_point()
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
        self.epoch_finished = False
        if not self.resuming_mid_epoch:
            self.batches_done = 0
        self._call("on_epoch_start", epoch)
        logs = self._train_epoch(train_loader, epoch)
        if val_loader is not None:
            self._call("on_validation_start")
            validation = {f"val_{key}": value for key, value in self.evaluate(val_loader).items()}
            self._call("on_validation_end", validation)
            logs.update(validation)
        logs["lr"] = self._last_lr
        if self.scheduler is not None and self.stepping_interval == "epoch":
            if self.scheduler.needs_metric:
                self.scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                self.scheduler.step()
        self.epoch_finished = True
        self._call("on_epoch_end", epoch, logs)

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
                hook(self, (x, y), batch_index)
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
                hook(self, (x, y), {"loss": loss})
            if not accumulate or pending == self.grad_accumulation or batch_index + 1 == self.num_batches:
                self._step(pending)
                pending = 0
            logs = self.totals.add(loss, prediction, y)
            self.batches_done = batch_index + 1
            for hook in batch_end:
                hook(self, prediction, (x, y), batch_index, logs)
        if pending:  # a loader without len(): the last, short window steps here
            self._step(pending)
        return self.totals.means()

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
            for param in [p for group in self.optimizer.param_groups for p in group["params"]]:
                if param.grad is not None:
                    param.grad = param.grad * (1.0 / self._window_size)
        for hook in self._hooks["on_before_optimizer_step"]:
            hook(self, self.optimizer)
        self._last_lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.global_step += 1
        if self.scheduler is not None and self.stepping_interval == "step":
            self.scheduler.step()

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
        if self.resuming_mid_epoch:
            self.resuming_mid_epoch = False
            now = get_rng_state()
            set_rng_state(self.epoch_rng_state)
            iterator = iter(loader)
            for _ in range(self.batches_done):
                next(iterator)
            set_rng_state(now)
            return enumerate(batches_of(iterator, "training"), start=self.batches_done)
        self.totals = EpochTotals(self.metric_functions)
        self.epoch_rng_state = get_rng_state()
        return enumerate(batches_of(loader, "training"))

    def resume_point(self):
        """(epoch, batches of it done) where a run resumed from now would continue."""
        return (self.epoch + 1, 0) if self.epoch_finished else (self.epoch, self.batches_done)

    # --- evaluation and prediction ------------------------------------------------------------
    def evaluate(self, loader) -> dict:
        """Loss and metrics over a loader, in eval mode, averaged per sample."""
        was_training = self.model.training
        self.model.eval()
        totals = EpochTotals(self.metric_functions)
        try:
            for x, y in batches_of(loader, "evaluation"):
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
            outputs = [self.model(batch[0] if isinstance(batch, tuple) else batch) for batch in data]
            return Tensor(outputs[0].backend.concat_rows([o.data for o in outputs]), outputs[0].backend,
                          (sum(len(o) for o in outputs),) + outputs[0].shape[1:])
        finally:
            self.model.train(was_training)
