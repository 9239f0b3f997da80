"""Schedules given as Python functions of the epoch: LambdaLR and MultiplicativeLR, with PyTorch's
signatures and formulas.

A function is code, not data: these schedules run, chain and resume within one Python process
like any other, but their state cannot be written to a file. PyTorch's state_dict silently leaves
a lambda out, so a resumed run would quietly use whatever function the new process was given;
lamina refuses to save instead, naming the scheduler, so nothing is lost without a word.
"""

import numbers

import lamina
from lamina.component import component, field
from lamina.plugin_system.kinds import Example
from lamina.learning_rate import check_optimizer
from lamina.optim.lr_scheduler import LRScheduler


def _functions(instance, attribute, value):
    functions = value if isinstance(value, (list, tuple)) else [value]
    if not functions or not all(callable(f) for f in functions):
        raise TypeError(f"{type(instance).__name__}({attribute.name}={value!r}): {attribute.name} must be a "
                        "function of the epoch, or a list of them (one per param group)")


def refuse_to_save(scheduler, argument):
    """The one error for a schedule holding a Python function, which no lamina file can carry."""
    raise TypeError(
        f"{type(scheduler).__name__}.state_dict(): {argument} is a Python function, which lamina cannot save "
        f"(PyTorch's state_dict silently leaves it out); save the run without this scheduler's state"
    )


class _FunctionSchedule(LRScheduler):
    """What LambdaLR and MultiplicativeLR share: one function per param group, called with the epoch."""

    def __attrs_post_init__(self):
        check_optimizer(self, self.optimizer)
        count = len(self.optimizer.param_groups)
        if isinstance(self.lr_lambda, (list, tuple)):
            if len(self.lr_lambda) != count:
                raise ValueError(f"{type(self).__name__}(lr_lambda=[...]): got {len(self.lr_lambda)} functions "
                                 f"for {count} param groups; pass one function, or one per group")
            self.lr_lambdas = list(self.lr_lambda)
        else:
            self.lr_lambdas = [self.lr_lambda] * count
        super().__attrs_post_init__()

    def _factors(self):
        factors = [function(self.last_epoch) for function in self.lr_lambdas]
        for index, factor in enumerate(factors):
            if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
                raise TypeError(f"{type(self).__name__}: lr_lambda for param group {index} returned {factor!r} "
                                f"at epoch {self.last_epoch}; expected a number")
        return factors

    def state_dict(self):
        refuse_to_save(self, "lr_lambda")


_NOT_DATA = {"config": "lr_lambda is a Python function, which no config can hold",
             "state_dict": "lr_lambda is a Python function, which lamina refuses to save"}


@component
class LambdaLR(_FunctionSchedule):
    """The rate is base_lr * lr_lambda(epoch): `LambdaLR(opt, lambda epoch: 0.95 ** epoch)`."""

    conformance_examples = [
        Example(kwargs={"lr_lambda": lambda epoch: 0.95 ** epoch}, skip=_NOT_DATA),
        Example(kwargs={"lr_lambda": [lambda epoch: 1.0 / (1 + epoch), lambda epoch: 0.5]}, skip=_NOT_DATA),
    ]

    lr_lambda = field(validator=_functions)

    def get_lr(self):
        return [base_lr * factor for base_lr, factor in zip(self.base_lrs, self._factors())]


@component
class MultiplicativeLR(_FunctionSchedule):
    """Each epoch after the first, multiply the rate by lr_lambda(epoch)."""

    conformance_examples = [
        Example(kwargs={"lr_lambda": lambda epoch: 0.9}, skip=_NOT_DATA),
        Example(kwargs={"lr_lambda": [lambda epoch: 0.95, lambda epoch: 1.0 if epoch % 2 else 0.8]}, skip=_NOT_DATA),
    ]

    lr_lambda = field(validator=_functions)

    def get_lr(self):
        if self._is_initial:
            return self.current_lrs()
        return [lr * factor for lr, factor in zip(self.current_lrs(), self._factors())]


@lamina.hookimpl
def lamina_register_schedulers():
    return [LambdaLR, MultiplicativeLR]
