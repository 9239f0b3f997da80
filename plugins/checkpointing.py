"""Checkpoint callbacks: ModelCheckpoint writes a run's state as it trains; ResumeFromCheckpoint
continues a run from one (what `Trainer.fit(..., resume_from=path)` adds).

What a checkpoint holds, and how a run is put back, is in lamina.saving.checkpoints.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import lamina
from lamina.callbacks import Callback
from lamina.component import at_least, boolean, component, field, integer, one_of
from lamina.plugin_system.kinds import Example
from lamina.plugins.callbacks import MODES, OPTIONAL_COUNT, OPTIONAL_NUMBER, OPTIONAL_TEXT, Monitor, restored
from lamina.saving.checkpoints import load_checkpoint, save_checkpoint


class CtrlCAtTheNextStep:
    """While installed, Ctrl-C asks for a stop instead of interrupting at once; a second Ctrl-C
    interrupts at once, as usual. Only where Python's own handler is in place (the main thread,
    no handler of the program's own)."""

    def __init__(self):
        self.requested = self.installed = False

    def install(self):
        self.requested = False
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            signal.signal(signal.SIGINT, self._request)
            self.installed = True

    def _request(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def remove(self):
        if self.installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.installed = False


@component
class ModelCheckpoint(Callback):
    """Write a training checkpoint (lamina.save, atomic) at the end of every `every_n_epochs` epochs.

    `path` may name log values, e.g. "ckpt-{epoch}-{val_loss:.4f}.json". With save_best_only, only
    an epoch whose `monitor` improved is written. Ctrl-C stops the run at the next optimizer step
    (never in the middle of one) and the state there is written too: to `path` when it is a plain
    "latest" checkpoint, else to "interrupted<ext>" beside it.
    `last_path` is the file most recently written, `best_path` the best one.
    """

    conformance_examples = [Example(kwargs={"path": "best.json"})]

    path: str = field(converter=os.fspath)
    monitor: str = field(default=None)
    mode: str = field(default="auto", validator=one_of(*MODES))
    save_best_only: bool = field(default=False, validator=boolean)
    every_n_epochs: int = field(default=1, validator=[integer, at_least(1)])

    def __attrs_post_init__(self):
        if self.save_best_only and self.monitor is None:
            raise ValueError("ModelCheckpoint(save_best_only=True) needs a monitor, e.g. monitor='val_loss'")
        self._monitor = None if self.monitor is None else Monitor(self, self.monitor, self.mode)
        self.best = None
        self.best_epoch = None
        self.best_path = None
        self.last_path = None
        self._ctrl_c = CtrlCAtTheNextStep()
        self._steps_before_batch = 0
        self._written = None  # (epoch, stopped) of this fit's last write

    def on_fit_start(self, trainer):
        self._written = None
        self._ctrl_c.install()

    def on_epoch_start(self, trainer, epoch):
        if self._ctrl_c.requested:  # asked for during the last epoch's end: stop before this one
            raise KeyboardInterrupt

    def on_train_batch_start(self, trainer, batch, batch_index):
        self._steps_before_batch = trainer.global_step

    def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
        # Stop only once this batch has stepped (a batch of an accumulation window may not).
        if self._ctrl_c.requested and trainer.global_step > self._steps_before_batch:
            raise KeyboardInterrupt

    def on_fit_end(self, trainer):
        self._ctrl_c.remove()
        # A callback after this one (EarlyStopping) may have ended the run in the epoch just written:
        # write it again, so the file says the run is over and resuming it does not train on.
        if trainer.should_stop and self._written == (trainer.epoch, False):
            save_checkpoint(trainer, self.last_path)
            self._written = (trainer.epoch, True)

    def on_epoch_end(self, trainer, epoch, logs):
        if (epoch + 1) % self.every_n_epochs:
            return
        if self._monitor is not None:
            current = self._monitor.read(logs)
            improved = self._monitor.improved(current, self.best)
            if self.save_best_only and not improved:
                return
            if improved:
                self.best, self.best_epoch = current, epoch
        path = self._format(epoch, logs)
        save_checkpoint(trainer, path)
        self.last_path = path
        self._written = (epoch, trainer.should_stop)
        if self.best_epoch == epoch:
            self.best_path = path

    def on_exception(self, trainer, error):
        self._ctrl_c.remove()
        if isinstance(error, KeyboardInterrupt):
            self.last_path = self.interrupt_path()
            save_checkpoint(trainer, self.last_path)

    def interrupt_path(self):
        if "{" not in self.path and not self.save_best_only:
            return self.path
        extension = os.path.splitext(self.path)[1] or ".json"
        return os.path.join(os.path.dirname(self.path), "interrupted" + extension)

    def _format(self, epoch, logs):
        try:
            return self.path.format(epoch=epoch, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"ModelCheckpoint(path={self.path!r}): cannot fill it in from epoch and "
                f"{', '.join(sorted(logs))} ({error})"
            ) from None

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "best_path": self.best_path}

    def load_state_dict(self, state):
        saved = restored(self, state, best=OPTIONAL_NUMBER, best_epoch=OPTIONAL_COUNT, best_path=OPTIONAL_TEXT)
        self.best, self.best_epoch, self.best_path = saved["best"], saved["best_epoch"], saved["best_path"]


@component
class ResumeFromCheckpoint(Callback):
    """Continue the run saved in `path` (a ModelCheckpoint file): before any other hook, the model,
    optimizer, scheduler, callbacks, progress and random generator are put back as saved, so the
    run goes on bit-identically, from the end of an epoch or from the middle of one. A run that a
    callback ended (EarlyStopping) is finished: resuming it says so in one line and trains nothing."""

    # Each fit check would need a checkpoint written by an earlier run: tests/test_trainer_resume.py
    # resumes real runs, killed at every point, and compares them with uninterrupted ones.
    conformance_examples = [Example(kwargs={"path": "run.json"}, skip={
        check: "it continues a run from a checkpoint file" for check in ("fit", "state_dict", "determinism")
    })]

    path: str = field(converter=os.fspath)

    def on_fit_start(self, trainer):
        load_checkpoint(trainer, self.path)
        stopped = getattr(trainer, "resumed_stopped_run", None)
        if stopped is not None:
            # The saved run is finished; an empty epoch range ends this fit with on_fit_end, as the run did.
            trainer.epoch = trainer.max_epochs
            trainer.should_stop, trainer.stop_reason = True, stopped
            print(f"{self.path}: the run it holds is finished ({stopped}); nothing to resume, no training done",
                  file=sys.stderr)


@lamina.hookimpl
def lamina_register_callbacks():
    return [ModelCheckpoint, ResumeFromCheckpoint]
