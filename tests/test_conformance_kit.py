"""The conformance kit catches what it promises to catch: each check fails on a component broken
in exactly the way that check is about, and the pytest plugin turns checks into tests."""

import math
import random
import subprocess
import sys
import textwrap

import attrs
import pytest

import lamina
from lamina.component import component, field
from lamina.plugin_system.kinds import Example
from lamina.nn import Module, Parameter
from lamina.optim import Optimizer
from lamina.optim.lr_scheduler import LRScheduler
from lamina.plugins.losses import ElementwiseLoss
from lamina.testing import conformance


def run_check(factory, check):
    """Run one check on the component as declared (not on its non-default variants)."""
    [case] = [c for c in conformance.cases(factory) if c.check == check and c.name == factory.__name__]
    case()


def declared_checks(factory):
    return [c.check for c in conformance.cases(factory) if c.name == factory.__name__]


@component
class Scale(Module):
    """y = x * w, one weight per feature: correct, the base of the broken variants below."""

    num_features: int = field()

    def __attrs_post_init__(self):
        self.weight = Parameter(lamina.randn(1, self.num_features))

    def forward(self, x):
        self.x = x
        return x * self.weight

    def backward(self, grad):
        self.weight.accumulate_grad((grad * self.x).sum(0))
        return grad * self.weight


def test_a_correct_module_passes_every_check_built_from_its_int_sizes():
    conformance.check_component(Scale)
    assert declared_checks(Scale) == ["gradients", "accumulates", "wide_inputs", "pytorch_defaults",
                                      "train_eval", "state_dict", "config", "determinism"]
    assert conformance.arguments(Scale, Example()) == {"num_features": conformance.FEATURES}


def test_gradients_catches_a_wrong_parameter_gradient():
    class WrongWeightGradient(Scale):
        def backward(self, grad):
            self.weight.accumulate_grad(grad.sum(0))  # forgot the x
            return grad * self.weight

    with pytest.raises(AssertionError, match="gradient check failed for WrongWeightGradient.weight"):
        run_check(WrongWeightGradient, "gradients")


def test_train_eval_catches_randomness_in_eval_mode():
    class AlwaysNoisy(Scale):
        def forward(self, x):
            return super().forward(x) + lamina.randn(*x.shape) * 0.01  # ignores self.training

    with pytest.raises(AssertionError, match="eval-mode outputs under two different seeds differ"):
        run_check(AlwaysNoisy, "train_eval")


def test_state_dict_catches_a_parameter_the_state_dict_misses():
    class HiddenWeight(Scale):
        def __attrs_post_init__(self):
            self.hidden = {"weight": Parameter(lamina.randn(1, self.num_features))}

        def forward(self, x):
            return x * self.hidden["weight"]

    with pytest.raises(AssertionError, match="eval outputs before and after a state-dict round trip differ"):
        run_check(HiddenWeight, "state_dict")


def test_config_catches_a_config_that_cannot_be_saved():
    @component
    class WithFunction(Scale):
        squash: object = field(default=math.tanh)

    with pytest.raises(AssertionError, match="WithFunction's config cannot be saved as JSON"):
        run_check(WithFunction, "config")


def test_config_catches_a_config_that_does_not_rebuild_the_same():
    @component
    class Doubling(Scale):
        gain: float = field(default=1.0, converter=lambda g: 2 * g)

    with pytest.raises(AssertionError, match="config and the config rebuilt from it differ"):
        run_check(Doubling, "config")


def test_determinism_catches_randomness_outside_lamina_s_generator():
    class PythonRandom(Scale):
        def forward(self, x):
            return super().forward(x) * random.random()

    with pytest.raises(AssertionError, match="outputs, gradients and state under one seed differ"):
        run_check(PythonRandom, "determinism")


def test_a_required_argument_that_is_not_a_size_asks_for_an_example():
    @component
    class Named(Scale):
        label: str = field()

    with pytest.raises(TypeError, match=r"Named: its argument 'label' has no default; declare "
                                        r"Named.conformance_examples"):
        conformance.cases(Named)[0]()

    Named.conformance_examples = [Example(kwargs={"label": "a"}, skip={"determinism": "for the test"})]
    assert declared_checks(Named) == ["gradients", "accumulates", "wide_inputs", "pytorch_defaults",
                                      "train_eval", "state_dict", "config"]
    conformance.check_component(Named)


# --- losses, optimizers, schedulers, callbacks --------------------------------------------------


def test_reductions_catches_a_sum_that_is_not_the_sum():
    @component
    class SquaredError(ElementwiseLoss):
        reduction: str = field(default="mean")

        def forward(self, prediction, target):
            self.difference = prediction - target
            losses = self.difference ** 2
            return losses.mean() if self.reduction == "sum" else self.reduce(losses)

        def backward(self):
            return self.difference * (2.0 * self.reduction_scale(self.difference.numel()))

    with pytest.raises(AssertionError, match=r"SquaredError\(reduction='sum'\) gave .* but the sum"):
        run_check(SquaredError, "reductions")


@component
class Momentum(Optimizer):
    """Heavy-ball momentum: correct, the base of the broken variants below."""

    lr: float = field(default=0.05)
    momentum: float = field(default=0.5)

    def update(self, param, grad, state, group):
        velocity = state["velocity"] = state.get("velocity", grad * 0.0) * group["momentum"] + grad
        param.sub_(velocity * group["lr"])


def test_a_correct_optimizer_passes_every_check():
    conformance.check_component(Momentum)


def test_reads_lr_catches_an_optimizer_that_ignores_the_group_lr():
    class FixedRate(Momentum):
        def update(self, param, grad, state, group):
            param.sub_(grad * self.lr)  # a schedule could never change this

    with pytest.raises(AssertionError, match="FixedRate's parameters after steps with every group's lr = 0 differ"):
        run_check(FixedRate, "reads_lr_from_param_groups")


def test_weight_decay_catches_an_optimizer_that_bypasses_the_plugin():
    class OwnStep(Momentum):
        def step(self):  # never applies weight decay
            for group in self.param_groups:
                for p in group["params"]:
                    self.update(p, p.grad, self.state.setdefault(p, {}), group)

    with pytest.raises(AssertionError, match=r"OwnStep\(weight_decay=0.1\) and OwnStep given grad"):
        run_check(OwnStep, "weight_decay")


def test_state_dict_catches_optimizer_state_kept_outside_state():
    class Forgetful(Momentum):
        def update(self, param, grad, state, group):
            velocities = vars(self).setdefault("velocities", {})
            velocity = velocities[id(param)] = velocities.get(id(param), grad * 0.0) * group["momentum"] + grad
            param.sub_(velocity * group["lr"])

    with pytest.raises(AssertionError, match="Forgetful's parameters, run on and resumed from a state dict differ"):
        run_check(Forgetful, "state_dict")


@component
class Halving(LRScheduler):
    """Halve the rate every `step_size` epochs."""

    step_size: int = field()

    def get_lr(self):
        return [base * 0.5 ** (self.last_epoch // self.step_size) for base in self.base_lrs]


def test_a_correct_scheduler_passes_every_check():
    conformance.check_component(Halving)


def test_scheduler_state_dict_catches_progress_kept_outside_the_state_dict():
    class Stateless(Halving):
        def state_dict(self):
            return {}

    with pytest.raises(AssertionError, match="Stateless's rates, run on and resumed differ"):
        run_check(Stateless, "state_dict")


def test_callback_state_that_cannot_be_saved_is_caught():
    class SeenEpochs(lamina.Callback):
        def __init__(self):
            self.seen = set()

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen.add(epoch)

        def state_dict(self):
            return {"seen": self.seen}

    with pytest.raises(AssertionError, match=r"SeenEpochs.state_dict\(\) cannot be saved as JSON"):
        run_check(SeenEpochs, "fit")


def test_callback_state_that_does_not_reload_is_caught():
    class BestLoss(lamina.Callback):
        def __init__(self):
            self.best = math.inf

        def on_epoch_end(self, trainer, epoch, logs):
            self.best = min(self.best, logs["loss"])

        def state_dict(self):
            return {"best": self.best}

    # no load_state_dict: the base class's ignores the state, so a resumed run would start over
    with pytest.raises(AssertionError, match="BestLoss's state dict and the one loaded from it differ"):
        run_check(BestLoss, "state_dict")

    class ResumableBestLoss(BestLoss):
        def load_state_dict(self, state):
            self.best = state["best"]

    conformance.check_component(ResumableBestLoss)


def test_the_kit_refuses_what_it_cannot_check():
    with pytest.raises(TypeError, match="the conformance kit checks Modules, Losses"):
        conformance.cases(len)


# --- the pytest plugin --------------------------------------------------------------------------


def test_the_pytest_plugin_makes_one_test_per_check_and_reports_failures(tmp_path):
    (tmp_path / "test_kit.py").write_text(textwrap.dedent('''
        import pytest
        import lamina

        class Doubler(lamina.nn.Module):
            def forward(self, x):
                return x * 2.0

            def backward(self, grad):
                return grad * 3.0  # wrong

        @pytest.mark.lamina_conformance(components=[Doubler])
        def test_doubler(lamina_check):
            lamina_check()

        @pytest.mark.lamina_conformance(distribution="lamina", kinds=["optimizers"], names=["SGD"])
        def test_sgd(lamina_check):
            lamina_check()
    '''))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "test_kit.py"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert "FAILED test_kit.py::test_doubler[modules:Doubler:gradients]" in result.stdout
    assert "FAILED test_kit.py::test_doubler[modules:Doubler:wide_inputs]" in result.stdout
    # Doubler's other six module checks pass, and every SGD check, its non-default variants included
    sgd_checks = len(conformance.registered_cases(distribution="lamina", kinds=["optimizers"], names=["SGD"]))
    assert f"2 failed, {6 + sgd_checks} passed" in result.stdout


def test_the_pytest_plugin_says_when_a_marker_selects_nothing_or_is_missing(tmp_path):
    (tmp_path / "test_empty.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.lamina_conformance(distribution="lamina-not-installed")
        def test_nothing(lamina_check):
            lamina_check()

        def test_unmarked(lamina_check):
            lamina_check()
    '''))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_empty.py"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert "2 failed" in result.stdout
    assert ("ValueError: @pytest.mark.lamina_conformance({'distribution': 'lamina-not-installed'}) "
            "selects no component to check") in result.stdout
    assert "TypeError: test_unmarked takes lamina_check but has no @pytest.mark.lamina_conformance(...)" in result.stdout


# --- a third party's N-D module: its example declares its input's shape ---------------------------


@component
class ChannelScale(Module):
    """y[n, c, h, w] = s[c] * x[n, c, h, w]: a learned scale per channel of an image batch."""

    conformance_examples = [Example(kwargs={"channels": 3}, inputs=lambda: lamina.randn(2, 3, 4, 5))]

    channels: int = field(default=1)

    def __attrs_post_init__(self):
        self.scale = Parameter(lamina.ones(self.channels))

    def forward(self, x):
        self.x = x
        return x * self._per_position(x)

    def _per_position(self, x):
        # the scale as a row of x's trailing shape (C, H, W): each channel's value repeated H*W times
        reads = [c for c in range(self.channels) for _ in range(x.shape[2] * x.shape[3])]
        return self.scale.reshape(1, -1).unfold_patches(reads, len(reads)).reshape(x.shape[1:])

    def backward(self, grad):
        per_channel = (grad * self.x).sum(0).reshape(self.channels, -1).sum(1)
        self.scale.accumulate_grad(per_channel)
        return grad * self._per_position(self.x)


class ChannelScaleForgettingThePixels(ChannelScale):
    """Sums the scale's gradient over the batch but takes only each channel's first pixel."""

    def backward(self, grad):
        first_pixels = (grad * self.x).sum(0).reshape(self.channels, -1)[:, 0]
        self.scale.accumulate_grad(first_pixels)
        return grad * self._per_position(self.x)


def test_a_third_party_module_over_image_batches_is_checked_with_its_declared_input_shape():
    conformance.check_component(ChannelScale)
    with pytest.raises(AssertionError, match="gradient check failed for ChannelScaleForgettingThePixels"):
        conformance.check_component(ChannelScaleForgettingThePixels)


def test_non_default_values_include_the_other_choices_of_a_one_of_argument():
    """A backward that ignores `reduction` or `approximate` passes at the defaults: the kit builds
    each component with the other choices its `one_of` validator admits too."""
    from lamina.testing.conformance.non_defaults import candidates

    fields = {f.alias: f for f in attrs.fields(lamina.nn.GELU)}
    assert candidates(fields["approximate"], "none") == ["tanh"]
    fields = {f.alias: f for f in attrs.fields(lamina.nn.MSELoss)}
    assert candidates(fields["reduction"], "mean") == ["sum", "none"]
