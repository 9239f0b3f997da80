"""Each new check of the conformance kit, proven on a component broken in the way it is about:
every fixture below passes every check the kit had before (built from its declared examples
only), and fails the new one. One fixture per bug class the kit used to miss."""

import pytest

import lamina
from lamina.component import at_least, component, field, number
from lamina.nn import Module
from lamina.optim import Optimizer
from lamina.testing import conformance
from test_conformance_kit import Scale

# The checks the kit ran before, by kind; the old kit built components from their examples only.
OLD_CHECKS = {
    "modules": ["gradients", "train_eval", "state_dict", "config", "determinism"],
    "losses": ["gradients", "reductions", "config", "determinism"],
    "optimizers": ["descends", "reads_lr_from_param_groups", "weight_decay", "state_dict", "config", "determinism"],
    "schedulers": ["rates", "state_dict", "config", "determinism"],
    "callbacks": ["fit", "state_dict", "config", "determinism"],
}


def old_kit_passes(factory):
    kind = conformance.building.kind_of(factory)
    declared = [c for c in conformance.cases(factory) if c.name == factory.__name__ and c.check in OLD_CHECKS[kind]]
    assert sorted({c.check for c in declared}) == sorted(OLD_CHECKS[kind])
    for case in declared:
        case()


def new_check_fails(factory, check, message, name=None):
    selected = [c for c in conformance.cases(factory) if c.check == check and c.name == (name or factory.__name__)]
    assert selected, f"no {check} case for {name or factory.__name__}"
    with pytest.raises(AssertionError, match=message):
        for case in selected:
            case()


# --- a backward that assigns .grad instead of adding to it ---------------------------------------


@component
class AssignsGrad(Scale):
    """test_conformance_kit's correct Scale, whose backward replaces what an earlier one left."""

    def backward(self, grad):
        self.weight.grad = (grad * self.x).sum(0)
        return grad * self.weight


def test_accumulates_catches_a_backward_that_assigns_grad():
    old_kit_passes(AssignsGrad)
    new_check_fails(AssignsGrad, "accumulates", r"AssignsGrad.backward must add into weight.grad, not replace it")


# --- a backward that ignores a non-default hyper-parameter ----------------------------------------


@component
class HardCodedSlope(Module):
    """LeakyReLU whose backward forgot its argument: right only at the default slope."""

    negative_slope: float = field(default=0.01, validator=[number, at_least(0.0)])

    def forward(self, x):
        self.x = x
        return lamina.where(x > 0, x, x * self.negative_slope)

    def backward(self, grad):
        return grad * lamina.where(self.x > 0, 1.0, 0.01)


def test_non_default_values_catch_a_backward_that_ignores_its_hyper_parameter():
    old_kit_passes(HardCodedSlope)
    [variant] = {c.name for c in conformance.cases(HardCodedSlope)} - {"HardCodedSlope"}
    assert variant == "HardCodedSlope[negative_slope=0.005]"
    new_check_fails(HardCodedSlope, "gradients", "gradient check failed for HardCodedSlope input", name=variant)


# --- an optimizer keeping running values outside `state` ------------------------------------------


@component
class SignMemory(Optimizer):
    """Rprop-like: the step size grows while the gradient keeps its sign. The last sign is kept on the
    optimizer, not in `state`, so a resumed run forgets it; with a gradient that never changes
    sign nobody notices (a missing sign counts as agreeing)."""

    lr: float = field(default=0.05)

    def update(self, param, grad, state, group):
        signs = vars(self).setdefault("last_sign", {})
        sign = grad.sign()
        agree = (sign * signs.get(id(param), sign)) >= 0
        signs[id(param)] = sign
        state["size"] = state.get("size", grad * 0.0 + 1.0) * lamina.where(agree, 1.2, 0.5)
        param.sub_(grad * state["size"] * group["lr"])


def test_changing_gradients_catch_a_running_value_kept_outside_state():
    old_kit_passes(SignMemory)
    new_check_fails(SignMemory, "changing_gradients",
                    r"SignMemory's parameters, run on and resumed, with gradients changing sign and scale, differ")


# --- wrong defaults, swapped betas ---------------------------------------------------------------


@component
class Adam(lamina.optim.Adam):
    """An Adam whose betas were typed the wrong way round."""

    betas: tuple = field(default=(0.999, 0.9), converter=tuple)


@component
class StepLR(lamina.optim.lr_scheduler.StepLR):
    """A StepLR that decays by half by default, where PyTorch's decays by a tenth."""

    gamma: float = field(default=0.5)


def test_pytorch_defaults_catch_swapped_betas():
    old_kit_passes(Adam)
    new_check_fails(Adam, "pytorch_defaults", r"Adam's defaults differ from torch's Adam: "
                                              r"betas=\(0.999, 0.9\) \(PyTorch: \(0.9, 0.999\)\)")


def test_pytorch_defaults_catch_a_wrong_default():
    StepLR.conformance_examples = [conformance.Example(kwargs={"step_size": 2})]
    old_kit_passes(StepLR)
    new_check_fails(StepLR, "pytorch_defaults", r"StepLR's defaults differ from torch's StepLR: gamma=0.5 \(PyTorch: 0.1\)")


# --- errors only for |x| > 2.5 --------------------------------------------------------------------


@component
class ClippedSoftsign(Module):
    """x / (1 + |x|), whose backward was only ever tried near zero: beyond |x| = 2.5 it uses the
    derivative at 2.5."""

    def forward(self, x):
        self.x = x
        return x / (x.abs() + 1.0)

    def backward(self, grad):
        near = self.x.clamp(-2.5, 2.5)
        return grad / ((near.abs() + 1.0) ** 2)


def test_wide_inputs_catch_a_backward_wrong_only_in_the_tails():
    old_kit_passes(ClippedSoftsign)
    new_check_fails(ClippedSoftsign, "wide_inputs", "gradient check failed for ClippedSoftsign input")


# --- a callback that resets on resume -------------------------------------------------------------


class EpochCounter(lamina.Callback):
    """Counts the epochs it has seen, but starts over at every fit, a resumed one included."""

    def on_fit_start(self, trainer):
        self.epochs = 0

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs += 1

    def state_dict(self):
        return {"epochs": getattr(self, "epochs", 0)}

    def load_state_dict(self, state):
        self.epochs = state["epochs"]


def test_resume_catches_a_callback_that_resets_on_resume():
    old_kit_passes(EpochCounter)
    new_check_fails(EpochCounter, "resume", r"EpochCounter's state after a run resumed at epoch 2 and after an "
                                            r"uninterrupted run differ: \{'epochs': 2\} != \{'epochs': 4\}")


def test_the_correct_versions_pass_the_new_checks():
    class CountsAcrossResume(EpochCounter):
        def on_fit_start(self, trainer):
            if not trainer.resumed:
                self.epochs = 0

    conformance.check_component(CountsAcrossResume)


# --- a loss wrong only for |x| > 2.5 ------------------------------------------------------------


@component
class ClippedLogCosh(lamina.nn.Loss):
    """mean(log(cosh(p - t))), whose gradient tanh(p - t) was only ever tried near zero: beyond
    |p - t| = 2.5 it uses the slope at 2.5."""

    def forward(self, prediction, target):
        self.d = prediction - target
        return ((self.d.exp() + (-self.d).exp()) * 0.5).log().mean()

    def backward(self, grad=None):
        return self.d.clamp(-2.5, 2.5).tanh() * (1.0 / self.d.numel())


def test_wide_inputs_catch_a_loss_gradient_wrong_only_in_the_tails():
    old_kit_passes(ClippedLogCosh)
    new_check_fails(ClippedLogCosh, "wide_inputs", "gradient check failed for ClippedLogCosh")
