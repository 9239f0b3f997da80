"""Config-built runs: every name through the registry, every mistake named by key."""

import pathlib

import pytest

import lamina
from lamina import nn, optim
from lamina.cli.run_config import build_model, build_run, default_config, read_config
from lamina.component import component, field, number
from lamina.data import DataLoader, TensorDataset
from lamina.errors import ConfigError, UnknownComponentError
from lamina.optim.lr_scheduler import LRScheduler

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def small_config(**changes):
    config = {
        "seed": 3,
        "data": {"dataset": {"name": "circle", "n": 60, "seed": 1}, "test_size": 20, "batch_size": 8},
        "model": {
            "layers": [
                {"name": "Linear", "in_features": 2, "out_features": 4},
                {"name": "ReLU"},
                {"name": "Linear", "in_features": 4, "out_features": 1},
                {"name": "Sigmoid"},
            ]
        },
        "loss": {"name": "BCELoss"},
        "optimizer": {"name": "Adam", "lr": 0.01, "weight_decay": 0.001},
        "trainer": {"max_epochs": 2, "metrics": ["accuracy"]},
    }
    config.update(changes)
    return config


def test_the_circle_example_is_the_built_in_default_and_builds_the_lesson_network():
    assert read_config(EXAMPLES / "circle.toml") == default_config()
    run = build_run(default_config())
    assert [type(layer).__name__ for layer in run.model] == ["Linear", "ReLU"] * 3 + [
        "Linear",
        "Sigmoid",
    ]
    assert sum(p.numel() for p in run.model.parameters()) == 465
    assert type(run.trainer.optimizer).__name__ == "Adam"
    assert run.trainer.optimizer.param_groups[0]["lr"] == 0.01
    assert run.trainer.max_epochs == 100
    assert (len(run.train_loader.dataset), len(run.test_loader.dataset)) == (400, 100)


def test_a_config_run_is_the_same_run_as_the_one_written_in_code():
    run = build_run(small_config())
    run.fit()

    lamina.manual_seed(3)
    x, y = lamina.registry().create("datasets", "circle", n=60, seed=1)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=0.001)
    loss_fn = nn.BCELoss()
    for _ in range(2):
        for xb, yb in DataLoader(TensorDataset(x[:40], y[:40]), batch_size=8, shuffle=True):
            loss_fn(model(xb), yb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
    for key, value in model.state_dict().items():
        assert run.model.state_dict()[key].tolist() == value.tolist(), key


def test_epochs_and_seed_override_the_file():
    run = build_run(small_config(), epochs=5, seed=9)
    assert run.trainer.max_epochs == 5
    lamina.manual_seed(9)
    assert run.model[0].weight.tolist() == nn.Linear(2, 4).weight.tolist()


def test_schedules_and_callbacks_are_found_by_name_in_the_registry():
    @lamina.register("schedulers", override=True)
    @component
    class HalvingLR(LRScheduler):
        """lr * factor ** epoch."""

        factor: float = field(default=0.5, validator=number)

        def get_lr(self):
            return [base * self.factor**self.last_epoch for base in self.base_lrs]

    @lamina.register("callbacks", override=True)
    class EpochCounter(lamina.Callback):
        def __init__(self, start=0):
            self.count = start

        def on_epoch_end(self, trainer, epoch, logs):
            self.count += 1

    config = small_config(
        scheduler={"name": "HalvingLR", "factor": 0.1},
        callbacks=[{"name": "EpochCounter", "start": 10}],
    )
    run = build_run(config, epochs=3)
    history = run.fit()
    assert history["lr"] == pytest.approx([0.01, 0.001, 0.0001])
    assert run.trainer.callbacks[0].count == 13


def test_a_validation_split_feeds_the_trainer():
    config = small_config()
    config["data"]["validation_size"] = 0.25
    run = build_run(config)
    assert (len(run.train_loader.dataset), len(run.validation_loader.dataset)) == (25, 15)
    assert len(run.fit()["val_loss"]) == 2


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            lambda c: c.update(optimiser=c.pop("optimizer")),
            ConfigError,
            r"config: unknown key 'optimiser' \(did you mean 'optimizer'\?\)",
        ),
        (lambda c: c.pop("loss"), ConfigError, r"config: the \[loss\] section is missing"),
        (
            lambda c: c["model"]["layers"][2].update(name="Linaer"),
            UnknownComponentError,
            r"config \[model\] layers\[2\]: no module named 'Linaer' is registered. Did you mean Linear",
        ),
        (
            lambda c: c["model"]["layers"][1].update(name="os.system"),
            UnknownComponentError,
            r"layers\[1\]: no module named 'os.system' is registered",
        ),
        (
            lambda c: c["model"]["layers"][0].update(in_feature=2),
            ConfigError,
            r"layers\[0\]: Linear has no argument 'in_feature' \(did you mean 'in_features'\?\)",
        ),
        (
            lambda c: c["model"]["layers"][0].update(out_features=0),
            ConfigError,
            r"layers\[0\]: Linear\(out_features=0\): out_features must be >= 1, got 0",
        ),
        (
            lambda c: c["optimizer"].update(lr=-1.0),
            ConfigError,
            r"config \[optimizer\]: Adam\(lr=-1.0\): lr must be >= 0.0",
        ),
        (
            lambda c: c["model"].update(layers="Linear"),
            ConfigError,
            r"config \[model\]: layers must be a non-empty list",
        ),
        (
            lambda c: c["model"]["layers"][0].pop("name"),
            ConfigError,
            r"layers\[0\]: name must be a string naming a registered module, got None",
        ),
        (
            lambda c: c["data"].update(test_size=60),
            ConfigError,
            r"config \[data\] test_size: 60 rows, but the dataset has only 60",
        ),
        (
            lambda c: c["data"].update(batch_size="16"),
            ConfigError,
            r"config \[data\] batch_size: must be an integer, got '16'",
        ),
        (
            lambda c: c["trainer"].update(max_epoch=3),
            ConfigError,
            r"config \[trainer\]: Trainer has no argument 'max_epoch' \(did you mean 'max_epochs'\?\)",
        ),
        (
            lambda c: c["trainer"].update(metrics=["acuracy"]),
            UnknownComponentError,
            r"no metric named 'acuracy' is registered",
        ),
        (
            lambda c: c.update(scheduler={"name": "NoSuchLR"}),
            UnknownComponentError,
            r"config \[scheduler\]: no LR scheduler named 'NoSuchLR' is registered",
        ),
        (
            lambda c: c.update(callbacks={"name": "X"}),
            ConfigError,
            r"config: callbacks must be a list of tables",
        ),
        (lambda c: c.update(seed=1.5), ConfigError, r"config: seed: must be an integer, got 1.5"),
    ],
    ids=[
        "unknown-section",
        "missing-section",
        "unknown-layer",
        "importable-path",
        "unknown-argument",
        "bad-value",
        "bad-lr",
        "layers-not-list",
        "no-name",
        "test-size",
        "batch-size",
        "trainer-key",
        "metric",
        "scheduler",
        "callbacks-not-list",
        "seed",
    ],
)
def test_a_bad_config_names_the_key_and_the_problem(change, error, message):
    config = small_config()
    change(config)
    with pytest.raises(error, match=message) as raised:
        build_run(config)
    assert "\n" not in str(raised.value)


def test_a_file_that_is_not_toml_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("seed = 1\n[model\nlayers = []\n")
    with pytest.raises(ConfigError, match=r"run.toml: not valid TOML: .*line 2"):
        read_config(path)


def test_a_model_section_alone_builds_a_model():
    model = build_model(
        {"layers": [{"name": "Linear", "in_features": 3, "out_features": 2, "bias": False}]}, "m"
    )
    assert model[0].bias is None and model[0].weight.shape == (2, 3)
