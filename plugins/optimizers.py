"""Optimizers: SGD and Adam, with PyTorch's defaults and update rules.

Each writes only its update rule; weight decay is applied before `update` by the weight-decay
plugin, for every optimizer alike.
"""

import math

from attrs.validators import optional

import lamina
from lamina.backend import provides
from lamina.component import at_least, boolean, component, field, in_range, number
from lamina.optim import Optimizer


def _betas(instance, attribute, value):
    if len(value) != 2 or not all(0.0 <= b < 1.0 for b in value):
        raise ValueError(
            f"{type(instance).__name__}(betas={value!r}): betas must be two numbers in [0, 1)"
        )


@component
class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and dampening."""

    lr: float = field(default=1e-3, validator=[number, at_least(0.0)])
    momentum: float = field(default=0.0, validator=[number, at_least(0.0)])
    dampening: float = field(default=0.0, validator=[number, in_range(0, 1)])
    nesterov: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD(nesterov=True) needs momentum > 0 and dampening = 0")
        super().__attrs_post_init__()

    def update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = grad.clone()
            else:
                buffer = buffer * momentum + grad * (1.0 - group["dampening"])
            state["momentum_buffer"] = buffer
            grad = grad + buffer * momentum if group["nesterov"] else buffer
        param.sub_(grad * group["lr"])


@component
class Adam(Optimizer):
    """Adam: per-parameter steps from bias-corrected running means of the gradient and its square."""

    lr: float = field(default=1e-3, validator=[number, at_least(0.0)])
    betas: tuple = field(default=(0.9, 0.999), converter=tuple, validator=_betas)
    eps: float = field(default=1e-8, validator=[number, at_least(0.0)])
    amsgrad: bool = field(default=False, validator=boolean)
    # None: use the backend's fused kernel where it has one. Fused and unfused give identical
    # numbers; fused only takes fewer passes over the data.
    fused: bool = field(default=None, validator=optional(boolean))

    def update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = grad * 0.0
            state["exp_avg_sq"] = grad * 0.0
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = grad * 0.0
        state["step"] += 1
        step = state["step"]
        fused = group["fused"]
        if fused or (fused is None and provides(param.backend, "adam_step")):
            self.fused_update(param, grad, state, group)
            return
        # Written in PyTorch's operation order, so the trajectories agree to the last bits.
        exp_avg = state["exp_avg"] = state["exp_avg"] + (grad - state["exp_avg"]) * (1.0 - beta1)
        exp_avg_sq = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + grad * (1.0 - beta2) * grad
        if group["amsgrad"]:
            exp_avg_sq = state["max_exp_avg_sq"] = state["max_exp_avg_sq"].maximum(exp_avg_sq)
        step_size = group["lr"] / (1.0 - beta1 ** step)
        denominator = exp_avg_sq.sqrt() / math.sqrt(1.0 - beta2 ** step) + group["eps"]
        param.sub_(exp_avg * step_size / denominator)

    def fused_update(self, param, grad, state, group):
        """The same step as `update`, by the backend's single `adam_step` kernel."""
        beta1, beta2 = group["betas"]
        max_sq = state.get("max_exp_avg_sq")
        param.data, exp_avg, exp_avg_sq, max_sq = param.backend.adam_step(
            param.data, grad.data, state["exp_avg"].data, state["exp_avg_sq"].data,
            None if max_sq is None else max_sq.data,
            lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], step=state["step"],
        )
        state["exp_avg"], state["exp_avg_sq"] = param._wrap(exp_avg), param._wrap(exp_avg_sq)
        if max_sq is not None:
            state["max_exp_avg_sq"] = param._wrap(max_sq)


@lamina.hookimpl
def lamina_register_optimizers():
    return [SGD, Adam]
