"""Checkpoints: a Trainer's whole run as data, written atomically, and read back to continue it.

A checkpoint holds everything the rest of a run depends on: the model, the optimizer, the scheduler,
each callback's state, the Trainer's progress and the random generator. Taken at the end of an epoch
(ModelCheckpoint) it resumes at the next epoch; taken after an optimizer step inside an epoch
(Ctrl-C) it resumes at the next batch, and the Trainer replays the epoch's start so the run
continues bit-identically. A checkpoint of a run a callback ended for good (EarlyStopping sets `stop_reason`) records why, in
`trainer.stopped`; resuming it trains nothing (ResumeFromCheckpoint says so in one line).
"""

from __future__ import annotations

from lamina.epoch_logs import EpochTotals
from lamina.module import Module
from lamina.rng import get_rng_state, set_rng_state
from lamina.saving.checkpoint_checks import check_checkpoint
from lamina.saving.model_files import architecture_of, load, save

CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "callbacks", "trainer", "rng")


def trainer_state(trainer) -> dict:
    """The run as plain data, Tensors and dicts of them (what `lamina.save` writes)."""
    epoch, batches_done = trainer.resume_point()
    progress = {"epoch": epoch, "batches_done": batches_done, "global_step": trainer.global_step}
    if trainer.should_stop and trainer.stop_reason and not trainer.interrupted:
        # A callback that gave a reason (EarlyStopping) ended the run for good: resuming must not train on.
        progress["stopped"] = trainer.stop_reason
    if batches_done:
        progress["epoch_rng"] = trainer.epoch_rng_state
        progress["totals"] = {"sums": dict(trainer.totals.sums), "count": trainer.totals.count}
        progress["last_lr"] = trainer._last_lr  # the rate of the epoch's last step, which its logs report
    return {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "callbacks": {key: c.state_dict() for key, c in keyed_callbacks(trainer).items()},
        "trainer": progress,
        "rng": get_rng_state(),
    }


def restore_trainer(trainer, state: dict) -> None:
    """Put the model, optimizer, scheduler, callbacks, progress and generator back as saved.

    A saved callback state with no matching callback here is ignored (a callback used only
    to stop the first run, say), as is a callback here with no saved state.
    """
    _check_checkpoint(state)
    if (state["scheduler"] is None) != (trainer.scheduler is None):
        has = "has no scheduler" if trainer.scheduler is None else "has a scheduler"
        saved = "none" if state["scheduler"] is None else "one"
        raise ValueError(f"cannot resume: this Trainer {has} but the checkpoint saved {saved}")
    check_checkpoint(trainer, state)  # every value against what it replaces, before any is applied
    saved_callbacks = state["callbacks"]
    for key, callback in keyed_callbacks(trainer).items():
        if key in saved_callbacks:  # each checks its own state as it loads it
            callback.load_state_dict(saved_callbacks[key])
    model = state["model"]
    trainer.model.load_state_dict(model.state_dict() if isinstance(model, Module) else model)
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    progress = state["trainer"]
    trainer.epoch = int(progress["epoch"])
    trainer.batches_done = int(progress["batches_done"])
    trainer.global_step = int(progress["global_step"])
    trainer.epoch_finished = False
    trainer.resuming_mid_epoch = trainer.batches_done > 0
    if trainer.resuming_mid_epoch:
        trainer.epoch_rng_state = progress["epoch_rng"]
        trainer.totals = EpochTotals(trainer.metric_functions)
        trainer.totals.sums.update(progress["totals"]["sums"])
        trainer.totals.count = progress["totals"]["count"]
        trainer._last_lr = progress.get("last_lr", trainer._last_lr)  # (checkpoints before it: as built)
    set_rng_state(state["rng"])
    trainer.resumed = True
    stopped = progress.get("stopped")
    if stopped is not None and not isinstance(stopped, str):
        raise ValueError(f"trainer.stopped: expected text saying why the run stopped, found {type(stopped).__name__}")
    trainer.resumed_stopped_run = stopped


def save_checkpoint(trainer, path) -> None:
    """Write the run to `path` atomically (lamina.save): a failed write leaves the old file.

    Where the model's architecture can be saved (every layer registered), the file holds the
    model itself rather than its state dict, so it is a model file too: `lamina.load(path)
    ["model"]`, `lamina predict` and `lamina evaluate` use it directly.
    """
    state = trainer_state(trainer)
    try:
        architecture_of(trainer.model)
    except TypeError:  # a layer that is not registered: keep the weights, which resume needs
        pass
    else:
        state["model"] = trainer.model
    save(state, path)


def load_checkpoint(trainer, path) -> None:
    """Continue the run saved in `path`: `restore_trainer` with a message naming the file."""
    state = load(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a training checkpoint")
    try:
        restore_trainer(trainer, state)
    except (LookupError, ValueError, TypeError) as error:
        raise type(error)(f"cannot resume from {path}: {error}") from None


def keyed_callbacks(trainer) -> dict:
    """Callbacks by their state key; a second callback of the same class gets '#2', and so on."""
    keyed = {}
    for callback in [trainer.history, *trainer.callbacks]:
        key, count = callback.state_key, 1
        while key in keyed:
            count += 1
            key = f"{callback.state_key}#{count}"
        keyed[key] = callback
    return keyed


def _check_checkpoint(state):
    if not isinstance(state, dict):
        raise TypeError(f"a training checkpoint is a dict, got {type(state).__name__}")
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise ValueError(f"not a training checkpoint: it has no {', '.join(map(repr, missing))}")

