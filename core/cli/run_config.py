"""Config-built runs: one TOML file describes a whole training run.

    seed = 42
    backend = "numpy"      # optional: a registered backend's name (default: the current one)
    [data]
    dataset = { name = "circle", n = 500, seed = 42 }
    test_size = 100
    batch_size = 16
    [model]
    layers = [{ name = "Linear", in_features = 2, out_features = 16 }, { name = "ReLU" }, ...]
    [loss]
    name = "BCELoss"
    [optimizer]
    name = "Adam"
    lr = 0.01
    weight_decay = 0.0
    [scheduler]            # optional
    name = "StepLR"
    step_size = 30
    [[callbacks]]          # optional, any number
    name = "EarlyStopping"
    [trainer]
    max_epochs = 100
    metrics = ["accuracy"]

Every component is a table with a registered `name` and its keyword arguments, found through the
registry, so a layer, schedule or callback from an installed plugin works here the moment it is
installed. A mistake is reported with the file, the key and the problem.
"""

from __future__ import annotations

import difflib
import inspect
import math
from importlib import resources

import attrs

from lamina.component import registry
from lamina.data import DataLoader, TensorDataset
from lamina.errors import ConfigError, UnknownComponentError
from lamina.module import Sequential
from lamina.plugin_system.kinds import KINDS
from lamina.rng import manual_seed
from lamina.backend import set_backend
from lamina.tensors import Tensor
from lamina.trainer import Trainer

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

SECTIONS = ("seed", "backend", "data", "model", "loss", "optimizer", "scheduler", "callbacks", "trainer")
DATA_KEYS = ("dataset", "test_size", "validation_size", "batch_size", "shuffle")


def read_config(path) -> dict:
    """The config in a TOML file, as plain data."""
    with open(path, "rb") as stream:
        try:
            return tomllib.load(stream)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None


def default_config() -> dict:
    """The lesson's run (the circle classifier), shipped with lamina as `circle.toml`."""
    return tomllib.loads(resources.files("lamina.cli").joinpath("circle.toml").read_text())


@attrs.define
class Run:
    """Everything a config builds, ready to fit."""

    config: dict
    model: Sequential
    trainer: Trainer
    train_loader: DataLoader
    validation_loader: DataLoader | None
    test_loader: DataLoader | None

    def fit(self):
        return self.trainer.fit(self.train_loader, self.validation_loader)

    def test(self) -> dict:
        """Loss and metrics on the held-out test rows ({} if the config keeps none)."""
        return self.trainer.evaluate(self.test_loader) if self.test_loader is not None else {}


def build_run(config: dict, *, epochs=None, seed=None, backend=None, source="config") -> Run:
    """Build the run a config describes; `epochs`, `seed` and `backend` override the file's.

    A backend, like the seed, is set for the whole process (`lamina.set_backend`): the model,
    the data and the batches the run trains on are all built on it."""
    check_keys(config, SECTIONS, source)
    if backend is not None:  # an override names no place in the file
        select_backend(backend, "backend")
    elif "backend" in config:
        select_backend(config["backend"], f"{source}: backend")
    seed = config.get("seed", 0) if seed is None else seed
    check_integer(seed, f"{source}: seed")
    manual_seed(seed)  # before the model is built: its initial weights come from this seed
    train, validation, test = build_loaders(table(config, "data", source), f"{source} [data]")
    model = build_model(table(config, "model", source), f"{source} [model]")
    loss = build_component("losses", table(config, "loss", source), f"{source} [loss]")
    optimizer = build_component(
        "optimizers", table(config, "optimizer", source), f"{source} [optimizer]", model.parameters()
    )
    scheduler = None
    if "scheduler" in config:
        scheduler = build_component(
            "schedulers", table(config, "scheduler", source), f"{source} [scheduler]", optimizer
        )
    callbacks = config.get("callbacks", [])
    if not isinstance(callbacks, list):
        raise ConfigError(f"{source}: callbacks must be a list of tables ([[callbacks]] sections)")
    callbacks = [
        build_component("callbacks", entry, f"{source} [[callbacks]] {index}")
        for index, entry in enumerate(callbacks)
    ]
    settings = dict(table(config, "trainer", source, required=False))
    if epochs is not None:
        settings["max_epochs"] = epochs
    wired = {"scheduler": scheduler, "callbacks": callbacks}
    trainer = construct(Trainer, settings, f"{source} [trainer]", model, loss, optimizer, **wired)
    return Run(config, model, trainer, train, validation, test)


def select_backend(name, where):
    if not isinstance(name, str):
        raise ConfigError(f"{where} must be a backend's name such as \"numpy\", got {name!r}")
    try:
        set_backend(name)
    except UnknownComponentError as error:
        raise UnknownComponentError(f"{where}: {error}") from None


def build_model(section: dict, where: str) -> Sequential:
    """A Sequential of the `layers` list, each layer built by its registered name."""
    check_keys(section, ("layers",), where)
    layers = section.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ConfigError(
            f'{where}: layers must be a non-empty list of tables like {{ name = "Linear", in_features = 2, '
            "out_features = 16 }"
        )
    _check_model_size(layers, where)
    return Sequential(
        *(build_component("modules", layer, f"{where} layers[{i}]") for i, layer in enumerate(layers))
    )


# Values a config-built model may declare in all (about 270 MB of float64); the layers' integer
# arguments are multiplied before any is built, so `out_features = 10**12` is refused, not tried.
MAX_MODEL_VALUES = 1 << 25


# A generated dataset's integer arguments (its sample count, above all) are bounded the same way.
MAX_DATASET_VALUES = 1 << 24


def _check_dataset_size(section, where):
    if isinstance(section, dict):
        for key, value in section.items():
            if type(value) is int and value > MAX_DATASET_VALUES and key != "seed":  # a seed is no size
                raise ConfigError(f"{where}: {key} = {value} is more than a generated dataset may ask for "
                                  f"({MAX_DATASET_VALUES})")


def _check_model_size(layers, where):
    total = 0
    for index, layer in enumerate(layers):
        if isinstance(layer, dict):
            sizes = [v for v in layer.values() if type(v) is int and v > 1]
            total += math.prod(sizes)
        if total > MAX_MODEL_VALUES:
            raise ConfigError(
                f"{where} layers[{index}]: the layers up to here declare sizes needing about {total:.3g} "
                f"values; a config-built model may have at most {MAX_MODEL_VALUES} (are the widths right?)"
            )


def build_component(kind, section, where, *args):
    """The component of `kind` the section's `name` registers, called with `args` and the
    section's other keys as keyword arguments."""
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a table, got {section!r}")
    arguments = dict(section)
    name = arguments.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(
            f"{where}: name must be a string naming a registered {KINDS[kind].singular}, got {name!r}"
        )
    try:
        factory = registry().get(kind, name)
    except UnknownComponentError as error:
        raise UnknownComponentError(f"{where}: {error}") from None
    return construct(factory, arguments, where, *args)


def construct(factory, arguments, where, *args, **wired):
    """factory(*args, **wired, **arguments), with a mistake in `arguments` named by key."""
    check_arguments(factory, arguments, where)
    try:
        return factory(*args, **wired, **arguments)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def check_arguments(factory, arguments, where):
    """Name an argument the component does not take before calling it, with the ones it does."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in arguments:
        if key not in accepted:
            name = getattr(factory, "__name__", "the component")
            raise ConfigError(
                f"{where}: {name} has no argument {key!r}{_suggestion(key, accepted)}; "
                f"it takes {', '.join(accepted) or 'no arguments'}"
            )


def build_loaders(section: dict, where: str):
    """Train, validation and test loaders over the dataset's rows, in that order."""
    check_keys(section, DATA_KEYS, where)
    _check_dataset_size(section.get("dataset"), f"{where} dataset")
    dataset = build_component("datasets", section.get("dataset"), f"{where} dataset")
    if not (
        isinstance(dataset, tuple) and len(dataset) == 2 and all(isinstance(t, Tensor) for t in dataset)
    ):
        raise ConfigError(f"{where}: the dataset must give (inputs, targets) tensors")
    inputs, targets = dataset
    count = len(inputs)
    test = rows_of(section.get("test_size", 0), count, f"{where} test_size")
    validation = rows_of(section.get("validation_size", 0), count, f"{where} validation_size")
    train = count - test - validation
    if train < 1:
        raise ConfigError(
            f"{where}: test_size and validation_size leave no training rows out of {count}"
        )
    batch_size = section.get("batch_size", 32)
    shuffle = section.get("shuffle", True)
    if not isinstance(shuffle, bool):
        raise ConfigError(f"{where} shuffle: must be true or false, got {shuffle!r}")
    check_integer(batch_size, f"{where} batch_size", low=1)

    def loader(start, stop, shuffled):
        if stop == start:
            return None
        return DataLoader(
            TensorDataset(inputs[start:stop], targets[start:stop]),
            batch_size=batch_size,
            shuffle=shuffled,
        )

    return (
        loader(0, train, shuffle),
        loader(train, train + validation, False),
        loader(train + validation, count, False),
    )


def rows_of(size, count, where) -> int:
    """A split size: a number of rows, or a fraction of them."""
    if isinstance(size, float) and 0.0 <= size < 1.0:
        return round(size * count)
    check_integer(size, where, low=0)
    if size >= count:
        raise ConfigError(f"{where}: {size} rows, but the dataset has only {count}")
    return size


def table(config: dict, key: str, where: str, required=True) -> dict:
    if key not in config:
        if required:
            raise ConfigError(f"{where}: the [{key}] section is missing")
        return {}
    value = config[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table ([{key}]), got {value!r}")
    return value


def check_keys(section: dict, allowed, where):
    for key in section:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r}{_suggestion(key, allowed)}; expected {', '.join(allowed)}"
            )


def check_integer(value, where, low=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: must be an integer, got {value!r}")
    if low is not None and value < low:
        raise ConfigError(f"{where}: must be >= {low}, got {value}")


def _suggestion(key, options):
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
