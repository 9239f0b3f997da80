"""The example configs train what they say, with every section they name really in use."""

import math
from pathlib import Path

import lamina
from lamina.cli.run_config import build_run, read_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_moons_config_trains_with_its_schedule_weight_decay_and_callbacks():
    run = build_run(read_config(EXAMPLES / "moons.toml"), source="moons.toml")
    assert type(run.trainer.optimizer).__name__ == "AdamW"
    assert run.trainer.optimizer.param_groups[0]["decoupled_weight_decay"] is True
    assert [type(c).__name__ for c in run.trainer.callbacks] == ["EarlyStopping", "LearningRateMonitor"]

    history = run.fit()
    # the cosine schedule set each epoch's rate: lr_e = 0.02 * (1 + cos(pi * e / 60)) / 2
    for epoch, lr in zip(history.epochs, history["lr"]):
        assert math.isclose(lr, 0.02 * (1 + math.cos(math.pi * epoch / 60)) / 2, rel_tol=1e-9, abs_tol=1e-15)
    assert run.test()["accuracy"] >= 0.95


def test_circle_config_is_the_lesson_network():
    run = build_run(read_config(EXAMPLES / "circle.toml"))
    widths = [(m.in_features, m.out_features) for m in run.model if isinstance(m, lamina.nn.Linear)]
    assert widths == [(2, 16), (16, 16), (16, 8), (8, 1)]
    assert sum(p.numel() for p in run.model.parameters()) == 465
