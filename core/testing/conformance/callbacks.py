"""The checks every Callback must pass, inside small Trainer runs in a temporary directory."""

from __future__ import annotations

import os
import tempfile

from lamina.callbacks import Callback
from lamina.creation import randn
from lamina.data import DataLoader, TensorDataset
from lamina.rng import manual_seed
from lamina.testing.conformance.building import FEATURES, assert_same, build, check_config_round_trip, through_json
from lamina.testing.conformance.hosts import GradientDescent, HalfSquaredError, Scale
from lamina.trainer import Trainer


def _fit(callback, epochs=3):
    manual_seed(9)
    model = Scale()
    x, y = randn(12, FEATURES), randn(12, FEATURES)
    loaders = [DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True), DataLoader(TensorDataset(x, y), batch_size=6)]
    trainer = Trainer(model, HalfSquaredError(), GradientDescent(model.parameters()), callbacks=[callback],
                      max_epochs=epochs)
    history = trainer.fit(*loaders)
    return history.history, model.state_dict()


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


CHECKS = {
    name: _in_temporary_directory(check)
    for name, check in {
        "fit": callback_fit,
        "state_dict": callback_state_dict,
        "config": callback_config,
        "determinism": callback_determinism,
    }.items()
}
