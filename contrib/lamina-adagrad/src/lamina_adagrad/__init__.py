"""Adagrad: steps scaled by the root of each parameter's running sum of squared gradients."""

import lamina
from attrs.validators import optional

from lamina.component import at_least, boolean, component, field, number
from lamina.gradient_descent import weight_decay_field
from lamina.optim import Optimizer

__version__ = "0.2.0"


@component
class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad (weight_decay comes from lamina, like every optimizer's).

    The fields are declared in PyTorch's order, so positional arguments bind as they do there:
    Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps, foreach)."""

    lr: float = field(default=1e-2, validator=[number, at_least(0.0)])
    lr_decay: float = field(default=0.0, validator=[number, at_least(0.0)])
    weight_decay: float = weight_decay_field()
    initial_accumulator_value: float = field(default=0.0, validator=[number, at_least(0.0)])
    eps: float = field(default=1e-10, validator=[number, at_least(0.0)])
    # Accepted so that PyTorch's seventh positional argument binds; lamina has one implementation.
    foreach: bool = field(default=None, validator=optional(boolean))
    maximize: bool = field(default=False, kw_only=True, validator=boolean)

    def update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = grad * 0.0 + group["initial_accumulator_value"]
        state["step"] += 1
        # Written in PyTorch's operation order, so that the trajectories agree to the last bits.
        rate = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] = state["sum"] + grad * grad
        param.sub_(grad / (state["sum"].sqrt() + group["eps"]) * rate)


@lamina.hookimpl
def lamina_register_optimizers():
    return [Adagrad]
