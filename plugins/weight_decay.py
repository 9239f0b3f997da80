"""Weight decay, written once for every optimizer.

'l2' (coupled, as SGD's and Adam's weight_decay=): the gradient becomes grad + wd * param.
'decoupled' (AdamW's): the parameter shrinks by lr * wd before the update; the gradient is untouched.
"""

import lamina
from lamina.optim import WeightDecay


class L2(WeightDecay):
    """Coupled L2: adds weight_decay * param to the gradient."""

    def apply(self, param, grad, group):
        return grad + param * group["weight_decay"]


class Decoupled(WeightDecay):
    """Decoupled (AdamW): param *= 1 - lr * weight_decay, before the update rule runs."""

    def apply(self, param, grad, group):
        param.mul_(1.0 - group["lr"] * group["weight_decay"])
        return grad


@lamina.hookimpl
def lamina_register_weight_decay():
    return [lamina.Record("l2", L2, L2.__doc__), lamina.Record("decoupled", Decoupled, Decoupled.__doc__)]
