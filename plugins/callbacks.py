"""The built-in callbacks: progress bar, early stopping, checkpoints, CSV log, NaN guard, LR record.

Each is reachable as `lamina.callbacks.<Name>`; `History`, which every Trainer keeps, is in history.py.
Epochs are numbered from 0, as the hooks receive them (the progress bar shows "Epoch 1/8").
"""

from __future__ import annotations

import csv
import math
import os
import sys

import lamina
from lamina.callbacks import Callback
from lamina.component import at_least, boolean, component, field, greater_than, integer, number, one_of
from lamina.plugin_system.kinds import Example

MODES = ("auto", "min", "max")


# What a callback's saved state may hold, key by key: (accepts, what is expected).
def _is_number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float))


OPTIONAL_NUMBER = (lambda v: v is None or _is_number(v), "a number or None")
COUNT = (lambda v: type(v) is int and v >= 0, "a non-negative integer")
OPTIONAL_COUNT = (lambda v: v is None or COUNT[0](v), "a non-negative integer or None")
OPTIONAL_TEXT = (lambda v: v is None or isinstance(v, str), "a string or None")
OPTIONAL_STATE_DICT = (lambda v: v is None or isinstance(v, dict) and all(isinstance(k, str) for k in v),
                       "a state dict or None")

LOGGED_RATES = (lambda v: isinstance(v, dict) and all(
    isinstance(k, str) and isinstance(rates, list) and all(map(_is_number, rates)) for k, rates in v.items()),
    "a table of lists of rates")


def restored(callback, state, **expected) -> dict:
    """The saved values of exactly the keys a callback declares, each checked; a checkpoint may
    set nothing else (a saved "path" is never read: a run writes where its own command says)."""
    name = type(callback).__name__
    if not isinstance(state, dict):
        raise ValueError(f"{name}'s saved state should be a table, found {type(state).__name__}")
    values = {}
    for key, (accepts, what) in expected.items():
        if key not in state or not accepts(state[key]):
            found = repr(state[key])[:60] if key in state else "nothing"
            raise ValueError(f"{name}'s saved state {key!r}: expected {what}, found {found}")
        values[key] = state[key]
    return values


class Monitor:
    """A logged value to watch, and which direction is better ('auto': 'max' for accuracies)."""

    def __init__(self, owner, monitor, mode, min_delta=0.0):
        self.owner = owner
        self.name = monitor
        if mode == "auto":
            mode = "max" if "acc" in monitor or "auc" in monitor else "min"
        self.mode = mode
        self.min_delta = min_delta

    def improved(self, current, best):
        """`best` is None until there is one (None, unlike inf, is plain data in a checkpoint)."""
        if best is None:
            return math.isfinite(current)
        if self.mode == "min":
            return current + self.min_delta < best
        return current - self.min_delta > best

    def read(self, logs):
        if self.name not in logs:
            hint = ("; give fit a val_loader, or, with `lamina train`, set [data] validation_size in the run config"
                    ) if self.name.startswith("val_") else ""
            raise ValueError(
                f"{type(self.owner).__name__}(monitor={self.name!r}): the epoch logs have no "
                f"{self.name!r}, only {', '.join(sorted(logs))}{hint}"
            )
        return logs[self.name]


class ClosedWhenFitEnds(Callback):
    """A callback that holds something open during fit (a bar, a file) closes it however fit ends."""

    def close(self):
        raise NotImplementedError

    def on_fit_end(self, trainer):
        self.close()

    def on_exception(self, trainer, error):
        self.close()


@component
class ProgressBar(ClosedWhenFitEnds):
    """A tqdm bar per epoch: batches done, loss and metrics, rate and time left.

    It draws only when its stream is a terminal, so logs and pipes stay clean.
    """

    stream: object = field(default=None)
    leave: bool = field(default=True, validator=boolean)

    def __attrs_post_init__(self):
        self.bar = None
        self.enabled = False

    def _stream(self):
        return self.stream if self.stream is not None else sys.stderr

    def on_fit_start(self, trainer):
        stream = self._stream()
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        try:
            self.width = os.get_terminal_size(stream.fileno()).columns if self.enabled else 0
        except (AttributeError, OSError, ValueError):
            self.width = 0

    def on_epoch_start(self, trainer, epoch):
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=trainer.num_batches,
            initial=trainer.batches_done,
            desc=f"Epoch {epoch + 1}/{trainer.max_epochs}",
            unit="batch",
            file=self._stream(),
            leave=self.leave,
            # A terminal that reports no size (0x0: a bare pseudo-terminal) gets a fixed one; tqdm
            # would otherwise fit the bar into zero columns and rows, and draw nothing.
            dynamic_ncols=self.width > 0,
            ncols=None if self.width > 0 else 100,
            nrows=None if self.width > 0 else 20,
        )

    def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
        if self.bar is not None:
            self.bar.set_postfix(_short(logs), refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.bar is not None:
            self.bar.set_postfix(_short(logs))
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _short(logs):
    return {key: f"{value:.4g}" for key, value in logs.items()}


@component
class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With restore_best_weights, the model ends training with the weights of its best epoch.
    """

    monitor: str = field(default="val_loss")
    min_delta: float = field(default=0.0, validator=[number, at_least(0.0)])
    patience: int = field(default=0, validator=[integer, at_least(0)])
    mode: str = field(default="auto", validator=one_of(*MODES))
    restore_best_weights: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        self._monitor = Monitor(self, self.monitor, self.mode, self.min_delta)
        self._reset()

    def _reset(self):
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None

    def on_fit_start(self, trainer):
        if not trainer.resumed:
            self._reset()

    def on_epoch_end(self, trainer, epoch, logs):
        current = self._monitor.read(logs)
        if self._monitor.improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.should_stop = True
            trainer.stop_reason = (f"EarlyStopping stopped it after epoch {epoch}: {self.monitor} had not "
                                   f"improved for {self.wait} epoch{'s' * (self.wait != 1)}")

    def on_fit_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state):
        saved = restored(self, state, best=OPTIONAL_NUMBER, best_epoch=OPTIONAL_COUNT, wait=COUNT,
                         stopped_epoch=OPTIONAL_COUNT, best_weights=OPTIONAL_STATE_DICT)
        self.best, self.best_epoch, self.wait = saved["best"], saved["best_epoch"], saved["wait"]
        self.stopped_epoch, self.best_weights = saved["stopped_epoch"], saved["best_weights"]


@component
class CSVLogger(ClosedWhenFitEnds):
    """One CSV row per epoch: the epoch and its logs, flushed as written.

    A resumed run keeps the rows of the epochs before the checkpoint and continues after them.
    """

    conformance_examples = [Example(kwargs={"filename": "log.csv"})]

    filename: str = field(converter=os.fspath)
    separator: str = field(default=",")
    append: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        self.file = None
        self.writer = None
        self.keys = None

    def on_fit_start(self, trainer):
        kept = self._rows_before(trainer.epoch) if (trainer.resumed or self.append) else []
        self.file = open(self.filename, "w", newline="")
        self.writer = csv.writer(self.file, delimiter=self.separator)
        self.keys = kept[0][1:] if kept else None
        self.writer.writerows(kept)
        self.file.flush()

    def _rows_before(self, epoch):
        """The existing file's header and its rows for epochs before `epoch` (all rows if appending)."""
        if not os.path.exists(self.filename):
            return []
        with open(self.filename, newline="") as existing:
            rows = list(csv.reader(existing, delimiter=self.separator))
        if not rows:
            return []
        header, body = rows[0], rows[1:]
        if not self.append:
            body = [row for row in body if row and int(row[0]) < epoch]
        return [header, *body]

    def on_epoch_end(self, trainer, epoch, logs):
        if self.keys is None:
            self.keys = list(logs)
            self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(logs.get(key, "") for key in self.keys)])
        self.file.flush()

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = self.writer = None


@component
class TerminateOnNaN(Callback):
    """On a NaN or infinite loss, stop training at once (no step is taken on it) instead of
    failing with an error; the message names the epoch and batch."""

    stream: object = field(default=None)

    def on_before_backward(self, trainer, loss):
        if not math.isfinite(loss):
            trainer.should_stop = True
            print(
                f"TerminateOnNaN: the loss became {loss} at epoch {trainer.epoch}, batch "
                f"{trainer.batches_done}; training stopped",
                file=self.stream if self.stream is not None else sys.stderr,
            )


@component
class LearningRateMonitor(Callback):
    """Record every param group's learning rate, per epoch or per optimizer step.

    `lrs["lr-Adam"]` is the first group's list; further groups are "lr-Adam/pg1", "lr-Adam/pg2", ...
    """

    logging_interval: str = field(default="epoch", validator=one_of("epoch", "step"))

    def __attrs_post_init__(self):
        self.lrs = {}

    def on_fit_start(self, trainer):
        if not trainer.resumed:
            self.lrs = {}

    def on_epoch_start(self, trainer, epoch):
        if self.logging_interval == "epoch" and trainer.batches_done == 0:  # not a resumed epoch
            self._record(trainer.optimizer)

    def on_before_optimizer_step(self, trainer, optimizer):
        if self.logging_interval == "step":
            self._record(optimizer)

    def _record(self, optimizer):
        name = f"lr-{type(optimizer).__name__}"
        for index, group in enumerate(optimizer.param_groups):
            key = name if index == 0 else f"{name}/pg{index}"
            self.lrs.setdefault(key, []).append(group["lr"])

    def state_dict(self):
        return {"lrs": {key: list(values) for key, values in self.lrs.items()}}

    def load_state_dict(self, state):
        saved = restored(self, state, lrs=LOGGED_RATES)
        self.lrs = {key: list(values) for key, values in saved["lrs"].items()}


@component
class GradientClipping(Callback):
    """Scale all gradients together so their joint norm is at most max_norm before each step
    (lamina.nn.utils.clip_grad_norm_); what `Trainer(clip_grad_norm=...)` adds."""

    conformance_examples = [Example(kwargs={"max_norm": 0.5})]

    max_norm: float = field(validator=[number, greater_than(0)])
    norm_type: float = field(default=2.0, validator=number)

    def on_before_optimizer_step(self, trainer, optimizer):
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        lamina.nn.utils.clip_grad_norm_(parameters, self.max_norm, self.norm_type)


@lamina.hookimpl
def lamina_register_callbacks():
    return [ProgressBar, EarlyStopping, CSVLogger, TerminateOnNaN, LearningRateMonitor, GradientClipping]
