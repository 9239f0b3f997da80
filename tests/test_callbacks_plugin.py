"""The built-in callbacks arrive through their plugin, like a third party's, and a run config names them."""

import pytest

import lamina
from lamina.callbacks import History
from lamina.cli.run_config import build_run, default_config
from lamina.errors import ConfigError

BUILT_IN = {
    "lamina.callbacks": ["CSVLogger", "EarlyStopping", "GradientClipping", "LearningRateMonitor",
                         "ProgressBar", "TerminateOnNaN"],
    "lamina.history": ["History"],
    "lamina.checkpointing": ["ModelCheckpoint", "ResumeFromCheckpoint"],
}


def test_each_built_in_callback_is_registered_by_the_callbacks_plugin():
    entries = {entry.name: entry for entry in lamina.registry().entries("callbacks")}
    for plugin, names in BUILT_IN.items():
        for name in names:
            assert entries[name].provider.plugin == plugin
            assert getattr(lamina.callbacks, name) is entries[name].factory
    assert lamina.callbacks.History is History


def test_a_run_config_builds_callbacks_by_name_with_validated_arguments(tmp_path):
    config = default_config()
    config["trainer"]["max_epochs"] = 30
    config["callbacks"] = [
        {"name": "EarlyStopping", "monitor": "loss", "patience": 0, "min_delta": 0.5},
        {"name": "ModelCheckpoint", "path": str(tmp_path / "run.json")},
    ]
    run = build_run(config)
    history = run.fit()
    assert len(history) == 2  # epoch 1 cannot improve the loss by 0.5
    assert lamina.load(str(tmp_path / "run.json"))["trainer"]["epoch"] == 2

    config["callbacks"] = [{"name": "EarlyStopping", "patience": -1}]
    with pytest.raises(ConfigError, match=r"\[\[callbacks\]\] 0: EarlyStopping\(patience=-1\): patience must be >= 0"):
        build_run(config)
