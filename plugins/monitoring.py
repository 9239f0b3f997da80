"""GradientMonitor: how big each parameter's gradients and updates are, epoch by epoch, and a
warning naming the layer when its gradients vanish, explode or turn NaN.

Two numbers per parameter tell most of a training's health: the gradient's norm (near zero: the
layer has stopped learning, a dead ReLU layer say; huge: it is about to blow up), and the size of
each optimizer update against the weight itself, ||w_after - w_before|| / ||w_before|| (around
1e-3 is the usual healthy rate; far above it the rate is too high, far below it too low).
"""

from __future__ import annotations

import math
import sys

import lamina
from lamina.callbacks import Callback
from lamina.component import component, field, greater_than, number
from lamina.plugin_system.kinds import Example


def _norm(tensor) -> float:
    return math.sqrt(float((tensor * tensor).sum()))


@component
class GradientMonitor(Callback):
    """Log each parameter's mean gradient norm (`grad_norm/<name>`) and mean update-to-weight
    ratio (`update_ratio/<name>`) per epoch, into the epoch's logs (for the callbacks after this
    one) and the trainer's History; warn once per layer when its gradient norm falls below
    `vanish`, rises above `explode`, or is NaN or infinite."""

    conformance_examples = [Example(kwargs={"vanish": 1e-6, "explode": 100.0})]

    vanish: float = field(default=1e-7, validator=[number, greater_than(0)])
    explode: float = field(default=1e3, validator=[number, greater_than(0)])
    stream: object = field(default=None)

    def __attrs_post_init__(self):
        self.warned = set()  # (parameter, problem): each is said once per fit, not every epoch
        self._reset()

    def _reset(self):
        self.grad_norms, self.ratios, self.before = {}, {}, None

    def on_fit_start(self, trainer):
        self.warned = set()
        self._reset()

    def on_epoch_start(self, trainer, epoch):
        self._reset()

    def on_after_backward(self, trainer, batch, logs):
        for name, parameter in trainer.model.named_parameters():
            if parameter.grad is not None:
                self.grad_norms.setdefault(name, []).append(_norm(parameter.grad))

    def on_before_optimizer_step(self, trainer, optimizer):
        self.before = (trainer.global_step, {n: p.clone() for n, p in trainer.model.named_parameters()})

    def on_train_batch_end(self, trainer, outputs, batch, batch_index, logs):
        if self.before is None or trainer.global_step == self.before[0]:
            return  # no step on this batch (an accumulation window still open)
        for name, parameter in trainer.model.named_parameters():
            old = self.before[1][name]
            size = _norm(old)
            if size > 0:
                self.ratios.setdefault(name, []).append(_norm(parameter - old) / size)
        self.before = None

    def on_epoch_end(self, trainer, epoch, logs):
        values = {}
        for name, norms in self.grad_norms.items():
            mean = sum(norms) / len(norms)
            values[f"grad_norm/{name}"] = mean
            self._check(name, mean, epoch)
        for name in self.grad_norms:  # NaN for an epoch without a ratio (a weight still all zeros)
            ratios = self.ratios.get(name, [])
            values[f"update_ratio/{name}"] = sum(ratios) / len(ratios) if ratios else math.nan
        logs.update(values)
        for key, value in values.items():  # the History saw this epoch's logs before this callback
            trainer.history.history.setdefault(key, []).append(value)

    def _check(self, name, norm, epoch):
        if math.isnan(norm):
            kind, problem = "nan", "turned NaN"
        elif math.isinf(norm):
            kind, problem = "nan", "became infinite"
        elif norm < self.vanish:
            kind, problem = "vanish", f"vanished (norm {norm:.3g} < {self.vanish:g})"
        elif norm > self.explode:
            kind, problem = "explode", f"exploded (norm {norm:.3g} > {self.explode:g})"
        else:
            return
        if (name, kind) not in self.warned:
            self.warned.add((name, kind))
            print(f"GradientMonitor: the gradients of {name} {problem} at epoch {epoch}",
                  file=self.stream if self.stream is not None else sys.stderr, flush=True)


@lamina.hookimpl
def lamina_register_callbacks():
    return [GradientMonitor]
