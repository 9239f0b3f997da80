"""The checks every Callback must pass, inside small Trainer runs in a temporary directory."""

from __future__ import annotations

import os
import tempfile

from lamina.callbacks import Callback
from lamina.factories import randn
from lamina.data import DataLoader, TensorDataset
from lamina.rng import manual_seed
from lamina.saving.checkpoints import save_checkpoint
from lamina.testing.conformance.building import FEATURES, assert_same, build, check_config_round_trip, through_json
from lamina.testing.conformance.hosts import GradientDescent, HalfSquaredError, Scale
from lamina.trainer import Trainer


class _Interrupt(Callback):
    """Ctrl-C at the end of an epoch, after every other callback has seen that epoch end."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _trainer(callback, epochs, *others):
    """A small run with `callback`: the trainer and its (training, validation) loaders."""
    manual_seed(9)
    model = Scale()
    x, y = randn(12, FEATURES), randn(12, FEATURES)
    loaders = [DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True), DataLoader(TensorDataset(x, y), batch_size=6)]
    trainer = Trainer(model, HalfSquaredError(), GradientDescent(model.parameters()), callbacks=[callback, *others],
                      max_epochs=epochs)
    return trainer, loaders


def _fit(callback, epochs=3):
    trainer, loaders = _trainer(callback, epochs)
    history = trainer.fit(*loaders)
    return history.history, trainer.model.state_dict()


def _in_temporary_directory(check):
    def run(factory, example):
        here = os.getcwd()
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            try:
                check(factory, example)
            finally:
                os.chdir(here)

    run.__doc__ = check.__doc__
    return run


def callback_fit(factory, example):
    callback = build(factory, example)
    name = factory.__name__
    assert isinstance(callback, Callback), f"{name} must subclass lamina.Callback"
    history, _ = _fit(callback)
    assert 1 <= len(history["loss"]) <= 3, f"a 3-epoch fit with {name} logged {len(history['loss'])} epochs"
    through_json(callback.state_dict(), f"{name}.state_dict()")


def callback_state_dict(factory, example):
    callback = build(factory, example)
    _fit(callback)
    state = callback.state_dict()
    fresh = build(factory, example)
    fresh.load_state_dict(through_json(state, f"{factory.__name__}.state_dict()"))
    assert_same(through_json(fresh.state_dict(), "the reloaded state"), through_json(state, "the state"),
                f"{factory.__name__}'s state dict and the one loaded from it")


def callback_config(factory, example):
    check_config_round_trip(build(factory, example), factory)


def callback_determinism(factory, example):
    def run():
        callback = build(factory, example)
        return _fit(callback), through_json(callback.state_dict(), "the state")

    assert_same(run(), run(), f"two identical fits with {factory.__name__}")


def callback_resume(factory, example):
    """A 4-epoch run interrupted after epoch 2 and resumed from its checkpoint leaves the callback
    as an uninterrupted run does: nothing it counts starts over on resume (its on_fit_start included)."""
    if "fit" in example.skip:  # a callback that cannot run in a plain fit cannot be resumed in one
        return
    straight = build(factory, example)
    _fit(straight, epochs=4)
    first = build(factory, example)
    trainer, loaders = _trainer(first, 4, _Interrupt(1))
    trainer.fit(*loaders)
    save_checkpoint(trainer, "conformance-resume.json")
    resumed = build(factory, example)
    trainer, loaders = _trainer(resumed, 4)
    trainer.fit(*loaders, resume_from="conformance-resume.json")
    assert_same(through_json(resumed.state_dict(), "the resumed state"), through_json(straight.state_dict(), "the state"),
                f"{factory.__name__}'s state after a run resumed at epoch 2 and after an uninterrupted run")


CHECKS = {
    name: _in_temporary_directory(check)
    for name, check in {
        "fit": callback_fit,
        "state_dict": callback_state_dict,
        "resume": callback_resume,
        "config": callback_config,
        "determinism": callback_determinism,
    }.items()
}
