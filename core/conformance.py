"""The conformance kit: the checks every Module, Loss, Optimizer, LR scheduler and Callback must
pass, whoever wrote it (in the spirit of scikit-learn's `check_estimator`).

    from lamina import conformance
    conformance.check("modules", "PReLU")        # every check, by registry name
    conformance.check_component(MyLayer)          # or a class, registered or not

In a test suite, lamina's pytest plugin turns each check into its own test:

    @pytest.mark.lamina_conformance(distribution="lamina-prelu")
    def test_conformance(lamina_check):
        lamina_check()

How the kit builds a component: with its defaults, each required `int` argument being a size
(the kit passes FEATURES, the number of input features). A module is fed `randn(ROWS, FEATURES)`,
a loss a prediction and a target of that shape drawn uniformly from (0.05, 0.95). A component that
needs something else says so on its class, once, with examples:

    class NLLLoss(Loss):
        conformance_examples = [Example(inputs=lambda: (lamina.rand(4, 3, 0.05, 0.95),
                                                        lamina.tensor([[0.0], [2.0], [1.0], [0.0]])))]

`Example(kwargs={...})` gives constructor arguments (or `kwargs=lambda optimizer: {...}`, a function
of the runtime arguments, for a schedule built from other schedules); `inputs` is called after
seeding, for a module returning x, for a loss (prediction, target); `skip={"check name": "why"}`
leaves a check out. A schedule whose step() takes a metric (ReduceLROnPlateau) is given a loss
that improves for three epochs and then stops improving.
Callbacks run inside a fresh temporary working directory, so one that writes files writes there.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import tempfile
from typing import Callable

import attrs

from .callback import Callback
from .component import component, config_of, field
from .data import DataLoader, TensorDataset
from .gradcheck import check_loss_gradients, check_module_gradients
from .loss import Loss
from .module import Module
from .optimizer import Optimizer
from .rng import manual_seed
from .scheduler import LRScheduler
from .tensor import Parameter, Tensor, rand, randn, tensor
from .trainer import Trainer

ROWS = 5
FEATURES = 3
KIND_OF = {Module: "modules", Loss: "losses", Optimizer: "optimizers", LRScheduler: "schedulers",
           Callback: "callbacks"}


@attrs.frozen
class Example:
    """One way to build and feed a component, declared as `conformance_examples = [...]`."""

    kwargs: dict | Callable = attrs.field(factory=dict)
    inputs: Callable | None = None
    skip: dict = attrs.field(factory=dict)  # check name -> why it does not apply


@attrs.frozen
class Case:
    """One check of one component: calling it runs the check (raising AssertionError)."""

    kind: str
    name: str
    check: str
    factory: Callable
    example: Example

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}:{self.check}"

    def __call__(self):
        CHECKS[self.kind][self.check](self.factory, self.example)


# --- building ---------------------------------------------------------------------------------


def kind_of(factory) -> str:
    for base, kind in KIND_OF.items():
        if isinstance(factory, type) and issubclass(factory, base):
            return kind
    raise TypeError(
        f"the conformance kit checks Modules, Losses, Optimizers, LR schedulers and Callbacks; "
        f"got {factory!r}"
    )


def examples_of(factory) -> list:
    return list(getattr(factory, "conformance_examples", None) or [Example()])


def arguments(factory, example: Example, *runtime) -> dict:
    """The example's arguments, plus FEATURES for each required `int` argument it leaves out."""
    kwargs = dict(example.kwargs(*runtime) if callable(example.kwargs) else example.kwargs)
    if attrs.has(factory):
        for f in attrs.fields(factory):
            if f.default is attrs.NOTHING and f.init and f.metadata.get("config", True) and f.alias not in kwargs:
                if f.type not in (int, "int"):
                    raise TypeError(
                        f"the conformance kit cannot build {factory.__name__}: its argument {f.alias!r} "
                        f"has no default; declare {factory.__name__}.conformance_examples = "
                        f"[lamina.conformance.Example(kwargs={{{f.alias!r}: ...}})]"
                    )
                kwargs[f.alias] = FEATURES
    return kwargs


def build(factory, example: Example, *runtime, seed: int = 0, **overrides):
    manual_seed(seed)
    return factory(*runtime, **{**arguments(factory, example, *runtime), **overrides})


def module_input(example: Example, seed: int = 1) -> Tensor:
    manual_seed(seed)
    return example.inputs() if example.inputs else randn(ROWS, FEATURES)


def loss_inputs(example: Example, seed: int = 1):
    manual_seed(seed)
    if example.inputs:
        return example.inputs()
    # In (0, 1), away from the ends: valid for regression losses and probability losses alike.
    return rand(ROWS, FEATURES, 0.05, 0.95), rand(ROWS, FEATURES, 0.05, 0.95)


# --- comparing --------------------------------------------------------------------------------


def plain(value):
    """Tensors as nested lists, tuples as lists: what a JSON file holds."""
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def through_json(value, what: str):
    """`value` as it comes back from a JSON file (keys become strings, tuples lists)."""
    try:
        return json.loads(json.dumps(plain(value)))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{what} cannot be saved as JSON: {error}") from None


def assert_same(actual, expected, what: str):
    if plain(actual) != plain(expected):
        raise AssertionError(f"{what} differ: {plain(actual)!r} != {plain(expected)!r}")


def check_config_round_trip(component, rebuild, progress=()):
    """config_of -> JSON -> constructor gives the same config. `progress` names arguments that
    record how far a component has run (a schedule's last_epoch): state, not configuration."""
    name = type(component).__name__
    config = {k: v for k, v in config_of(component).items() if k not in progress}
    rebuilt = rebuild(**through_json(config, f"{name}'s config"))
    rebuilt_config = {k: v for k, v in config_of(rebuilt).items() if k not in progress}
    assert_same(rebuilt_config, config, f"{name}'s config and the config rebuilt from it")


# --- modules ----------------------------------------------------------------------------------


def _warm_up(module, x):
    """One training forward, so that running statistics are not at their initial values."""
    module.train()
    module(x)


def module_gradients(factory, example):
    x = module_input(example)
    for training in (True, False):
        module = build(factory, example)
        _warm_up(module, x)
        module.train(training)
        check_module_gradients(module, x)


def module_train_eval(factory, example):
    module = build(factory, example)
    name = factory.__name__
    assert module.train() is module and module.eval() is module, f"{name}.train()/.eval() must return the module"
    assert all(not m.training for m in module.modules()), f"{name}.eval() left a submodule training"
    module.train()
    assert all(m.training for m in module.modules()), f"{name}.train() left a submodule in eval mode"
    x = module_input(example)
    _warm_up(module, x)
    module.eval()
    before = plain(module.state_dict())
    manual_seed(11)
    first = module(x)
    manual_seed(12)
    second = module(x)
    assert_same(module.state_dict(), before, f"{name}'s state before and after an eval-mode forward")
    assert_same(second, first, f"{name}'s eval-mode outputs under two different seeds")


def module_state_dict(factory, example):
    name = factory.__name__
    x = module_input(example)
    source = build(factory, example, seed=1)
    _warm_up(source, x)
    for p in source.parameters():  # so that loading must change something
        p.add_(randn(*p.shape, std=0.1))
    state = source.state_dict()
    expected_keys = [k for k, _ in source.named_parameters()] + [k for k, _ in source.named_buffers()]
    assert sorted(state) == sorted(expected_keys), (
        f"{name}.state_dict() keys {sorted(state)} are not its parameters and buffers {sorted(expected_keys)}"
    )
    target = build(factory, example, seed=2)
    target.load_state_dict(through_json(state, f"{name}.state_dict()"))
    assert_same(target.state_dict(), state, f"{name}'s state dict and the one loaded from it")
    source.eval(), target.eval()
    assert_same(target(x), source(x), f"{name}'s eval outputs before and after a state-dict round trip")


def module_config(factory, example):
    check_config_round_trip(build(factory, example), factory)


def module_determinism(factory, example):
    def run():
        module = build(factory, example, seed=5)
        x = module_input(example, seed=6)
        manual_seed(7)
        out = module(x)
        grad_x = module.backward(out * 0.5)
        return out, grad_x, [p.grad for p in module.parameters()], module.state_dict()

    assert_same(run(), run(), f"{factory.__name__}'s outputs, gradients and state under one seed")


# --- losses -----------------------------------------------------------------------------------


def _reductions(factory, example):
    if not attrs.has(factory) or "reduction" not in {f.alias for f in attrs.fields(factory)}:
        return [{}]
    return [{"reduction": r} for r in ("mean", "sum", "none")]


def loss_gradients(factory, example):
    prediction, target = loss_inputs(example)
    for reduction in _reductions(factory, example):
        check_loss_gradients(build(factory, example, **reduction), prediction, target)


def loss_reductions(factory, example):
    if _reductions(factory, example) == [{}]:
        return
    prediction, target = loss_inputs(example)
    each = build(factory, example, reduction="none")(prediction, target)
    name = factory.__name__
    assert isinstance(each, Tensor), f"{name}(reduction='none') must return a Tensor of losses"
    for reduction, expected in (("sum", each.sum()), ("mean", each.mean())):
        value = build(factory, example, reduction=reduction)(prediction, target)
        assert isinstance(value, float), f"{name}(reduction={reduction!r}) must return a float"
        assert math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-12), (
            f"{name}(reduction={reduction!r}) gave {value}, but the {reduction} of reduction='none' is {expected}"
        )


def loss_config(factory, example):
    check_config_round_trip(build(factory, example), factory)


def loss_determinism(factory, example):
    def run():
        loss = build(factory, example)
        value = loss(*loss_inputs(example))
        return value, loss.backward()

    first, second = run(), run()
    assert_same(second, first, f"{factory.__name__}'s value and gradient on the same inputs")
    if isinstance(first[0], float):
        assert math.isfinite(first[0]), f"{factory.__name__} gave {first[0]} on ordinary inputs"


# --- optimizers: on f(p) = sum((p - t)^2) / 2, whose gradient is p - t -------------------------


def _problem(seed=3):
    manual_seed(seed)
    params = [Parameter(randn(3, 2)), Parameter(randn(1, 2))]
    targets = [randn(3, 2), randn(1, 2)]
    return params, targets


def _objective(params, targets):
    return sum(((p - t) ** 2).sum() / 2 for p, t in zip(params, targets))


def _steps(optimizer, params, targets, count, gradient=None):
    gradient = gradient or (lambda p, t: p - t)
    for _ in range(count):
        optimizer.zero_grad()
        for p, t in zip(params, targets):
            p.accumulate_grad(gradient(p, t))
        optimizer.step()


def optimizer_descends(factory, example):
    params, targets = _problem()
    start = _objective(params, targets)
    _steps(build(factory, example, params), params, targets, 30)
    end = _objective(params, targets)
    assert end < start, f"{factory.__name__} did not decrease a convex quadratic in 30 steps ({start} -> {end})"


def optimizer_reads_lr_from_param_groups(factory, example):
    """A schedule works only by writing group['lr']: with it at 0, a step must change nothing."""
    params, targets = _problem()
    optimizer = build(factory, example, params)
    _steps(optimizer, params, targets, 3)
    before = plain(params)
    for group in optimizer.param_groups:
        group["lr"] = 0.0
    _steps(optimizer, params, targets, 2)
    assert_same(params, before, f"{factory.__name__}'s parameters after steps with every group's lr = 0")


def _accepts(factory, example, **kwargs) -> bool:
    """Whether the optimizer takes these options (AdamW, say, is always decoupled)."""
    params, _ = _problem()
    try:
        build(factory, example, params, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def optimizer_weight_decay(factory, example):
    """weight_decay is the weight-decay plugin's job: coupled L2 must equal adding wd * p to the
    gradient, decoupled must equal shrinking p by lr * wd before the step."""
    wd = 0.1
    name = factory.__name__
    none = {"weight_decay": 0.0}
    coupled = {"weight_decay": wd, "decoupled_weight_decay": False}
    decoupled = {"weight_decay": wd, "decoupled_weight_decay": True}
    checked = 0
    if _accepts(factory, example, **coupled) and _accepts(factory, example, **none):
        params, targets = _problem()
        _steps(build(factory, example, params, **coupled), params, targets, 5)
        by_hand, _ = _problem()
        _steps(build(factory, example, by_hand, **none), by_hand, targets, 5, lambda p, t: (p - t) + p * wd)
        assert_same(params, by_hand, f"{name}(weight_decay={wd}) and {name} given grad + {wd} * param")
        checked += 1
    if _accepts(factory, example, **decoupled) and _accepts(factory, example, **none):
        params, targets = _problem()
        _steps(build(factory, example, params, **decoupled), params, targets, 5)
        by_hand, _ = _problem()
        optimizer = build(factory, example, by_hand, **none)
        for _ in range(5):
            optimizer.zero_grad()
            for p, t in zip(by_hand, targets):
                p.accumulate_grad(p - t)  # the gradient at the parameter before it shrinks
                p.mul_(1.0 - optimizer.param_groups[0]["lr"] * wd)
            optimizer.step()
        assert_same(params, by_hand, f"{name}(decoupled_weight_decay=True) and shrinking by lr * wd by hand")
        checked += 1
    assert checked, f"{name} takes neither weight_decay=0 nor weight_decay={wd} with either decoupling"


def optimizer_state_dict(factory, example):
    params, targets = _problem()
    optimizer = build(factory, example, params)
    _steps(optimizer, params, targets, 3)
    copies = [Parameter(tensor(p.tolist())) for p in params]
    resumed = build(factory, example, copies)
    resumed.load_state_dict(through_json(optimizer.state_dict(), f"{factory.__name__}.state_dict()"))
    _steps(optimizer, params, targets, 3)
    _steps(resumed, copies, targets, 3)
    assert_same(copies, params, f"{factory.__name__}'s parameters, run on and resumed from a state dict")


def optimizer_config(factory, example):
    params, _ = _problem()
    check_config_round_trip(build(factory, example, params), lambda **config: factory(params, **config))


def optimizer_determinism(factory, example):
    def run():
        params, targets = _problem()
        _steps(build(factory, example, params), params, targets, 5)
        return params

    assert_same(run(), run(), f"{factory.__name__}'s parameters after two identical runs")


# --- LR schedulers, on a plain gradient-descent optimizer with two param groups -------------


@component
class GradientDescent(Optimizer):
    """p -= lr * grad: the host optimizer for schedulers and callbacks."""

    lr: float = field(default=0.1)

    def update(self, param, grad, state, group):
        param.sub_(grad * group["lr"])


def _host_optimizer():
    params, _ = _problem()
    return GradientDescent([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}])


def _takes_a_metric(scheduler) -> bool:
    """Whether step() needs a value to watch, as ReduceLROnPlateau's step(metrics) does."""
    parameters = inspect.signature(scheduler.step).parameters.values()
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _rates(scheduler, count, first_epoch=0):
    """Step `count` epochs; a schedule that watches a metric sees a loss that improves for three
    epochs and then stops improving, so that it has something to react to."""
    rates = []
    for epoch in range(first_epoch, first_epoch + count):
        scheduler.optimizer.step()
        if _takes_a_metric(scheduler):
            scheduler.step(1.0 / (1 + min(epoch, 3)))
        else:
            scheduler.step()
        rates.append(scheduler.get_last_lr())
    return rates


def scheduler_rates(factory, example):
    scheduler = build(factory, example, _host_optimizer())
    name = factory.__name__
    for epoch in range(12):
        [rates] = _rates(scheduler, 1, epoch)
        groups = [g["lr"] for g in scheduler.optimizer.param_groups]
        assert rates == groups, f"{name}.get_last_lr() {rates} is not the groups' lr {groups} at epoch {epoch}"
        assert all(math.isfinite(r) and r >= 0 for r in rates), f"{name} gave the rates {rates} at epoch {epoch}"


def scheduler_state_dict(factory, example):
    optimizer = _host_optimizer()
    scheduler = build(factory, example, optimizer)
    _rates(scheduler, 4)
    # Resuming as in PyTorch: build both afresh, then load the optimizer's state, then the schedule's.
    resumed_optimizer = _host_optimizer()
    resumed = build(factory, example, resumed_optimizer)
    resumed_optimizer.load_state_dict(through_json(optimizer.state_dict(), "the optimizer's state dict"))
    resumed.load_state_dict(through_json(scheduler.state_dict(), f"{factory.__name__}.state_dict()"))
    assert_same(_rates(resumed, 6, 4), _rates(scheduler, 6, 4), f"{factory.__name__}'s rates, run on and resumed")


def scheduler_config(factory, example):
    optimizer = _host_optimizer()
    scheduler = build(factory, example, optimizer)
    check_config_round_trip(scheduler, lambda **config: factory(_host_optimizer(), **config), ("last_epoch",))


def scheduler_determinism(factory, example):
    def run():
        return _rates(build(factory, example, _host_optimizer()), 8)

    assert_same(run(), run(), f"{factory.__name__}'s rates in two identical runs")


# --- callbacks, inside a small Trainer run ---------------------------------------------------


class Scale(Module):
    """y = x * w + b, per feature: the host model for callbacks."""

    def __init__(self):
        self.weight = Parameter(randn(1, FEATURES))
        self.bias = Parameter(randn(1, FEATURES))

    def forward(self, x):
        self.x = x
        return x * self.weight + self.bias

    def backward(self, grad):
        self.weight.accumulate_grad((grad * self.x).sum(0))
        self.bias.accumulate_grad(grad.sum(0))
        return grad * self.weight


class HalfSquaredError(Loss):
    """mean((prediction - target)^2) / 2: the host loss for callbacks."""

    def forward(self, prediction, target):
        self.difference = prediction - target
        return (self.difference ** 2).mean() / 2

    def backward(self):
        return self.difference * (1.0 / self.difference.numel())


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
    "modules": {"gradients": module_gradients, "train_eval": module_train_eval,
                "state_dict": module_state_dict, "config": module_config, "determinism": module_determinism},
    "losses": {"gradients": loss_gradients, "reductions": loss_reductions, "config": loss_config,
               "determinism": loss_determinism},
    "optimizers": {"descends": optimizer_descends, "reads_lr_from_param_groups": optimizer_reads_lr_from_param_groups,
                   "weight_decay": optimizer_weight_decay, "state_dict": optimizer_state_dict,
                   "config": optimizer_config, "determinism": optimizer_determinism},
    "schedulers": {"rates": scheduler_rates, "state_dict": scheduler_state_dict, "config": scheduler_config,
                   "determinism": scheduler_determinism},
    "callbacks": {name: _in_temporary_directory(check) for name, check in {
        "fit": callback_fit, "state_dict": callback_state_dict, "config": callback_config,
        "determinism": callback_determinism}.items()},
}


# --- choosing what to check -------------------------------------------------------------------


def cases(factory, kind: str | None = None, name: str | None = None) -> list:
    """Every check that applies to `factory`, for each of its examples."""
    kind = kind or kind_of(factory)
    name = name or factory.__name__
    found = []
    examples = examples_of(factory)
    for index, example in enumerate(examples):
        label = name if len(examples) == 1 else f"{name}[{index}]"
        found.extend(
            Case(kind, label, check, factory, example) for check in CHECKS[kind] if check not in example.skip
        )
    return found


def registered_cases(distribution: str | None = None, kinds=None, names=None) -> list:
    """The cases for registered components, optionally only those of one distribution, some
    kinds, some names."""
    from .plugin_manager import normalize
    from .registry import registry

    selected = []
    for kind in kinds or CHECKS:
        for entry in registry().entries(kind):
            if distribution and normalize(entry.provider.distribution) != normalize(distribution):
                continue
            if names and entry.name not in names:
                continue
            selected.extend(cases(entry.factory, kind, entry.name))
    return selected


def check_component(factory, kind: str | None = None) -> None:
    """Run every check on one component class; the first failure raises AssertionError."""
    for case in cases(factory, kind):
        case()


def check(kind: str, name: str) -> None:
    """Run every check on one registered component."""
    from .registry import registry

    check_component(registry().get(kind, name), kind)
