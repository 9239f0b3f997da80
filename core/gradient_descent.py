"""Optimizer: param groups, zero_grad, and a step() that applies weight decay then the update rule.

A concrete optimizer declares its hyper-parameters as attrs fields (they become each group's
defaults) and writes only `update(param, grad, state, group)`. Weight decay is not its business:
every optimizer takes `weight_decay=` and `decoupled_weight_decay=` (re-declared with
`weight_decay_field()` where PyTorch's signature has it positional), and the weight-decay plugin
applies it (coupled L2 adds wd * param to the gradient; decoupled shrinks the parameter).
"""

from __future__ import annotations

from .component import at_least, boolean, component, config_of, describe, field, number, registry, runtime_argument
from .creation import tensor
from .tensors import Parameter, Tensor


class WeightDecay:
    """How `weight_decay` enters a step; `apply` returns the gradient the update rule sees."""

    def apply(self, param: Parameter, grad: Tensor, group: dict) -> Tensor:
        raise NotImplementedError


def weight_decay_field(default=0.0, **options):
    """The `weight_decay` hyper-parameter: a number >= 0, applied by the weight-decay plugin."""
    return field(default=default, validator=[number, at_least(0.0)], **options)


@component
class Optimizer:
    params = runtime_argument()
    weight_decay: float = weight_decay_field(kw_only=True)
    decoupled_weight_decay: bool = field(default=False, kw_only=True, validator=boolean)

    def __attrs_post_init__(self):
        self.defaults = config_of(self)
        if "lr" not in self.defaults:
            raise TypeError(f"{type(self).__name__} must declare an `lr` hyper-parameter field")
        self.param_groups = []
        self.state = {}
        groups = list(self.params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        self.params = [p for group in self.param_groups for p in group["params"]]

    def __repr__(self):
        return describe(self)

    def add_param_group(self, group: dict):
        params = list(group["params"])
        for index, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: parameter {index} is {type(p).__name__}, expected a "
                                "lamina Parameter (pass model.parameters())")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown param-group options {sorted(unknown)}; "
                             f"known: {sorted(self.defaults)}")
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else p.grad * 0.0

    def step(self, closure=None):
        """One update of every parameter that has a gradient; `closure` re-evaluates the loss."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            decay = self._weight_decay(group)
            for param in (p for p in group["params"] if p.grad is not None):
                grad = -param.grad if group.get("maximize") else param.grad  # negated before decay, as PyTorch
                grad = grad if decay is None else decay.apply(param, grad, group)
                self.update(param, grad, self.state.setdefault(param, {}), group)
        return loss

    def update(self, param: Parameter, grad: Tensor, state: dict, group: dict):
        """Change `param` in place using `grad`; keep running values (moments) in `state`."""
        raise NotImplementedError(f"{type(self).__name__} must define update(param, grad, state, group)")

    def _weight_decay(self, group):
        if not group["weight_decay"]:
            return None
        style = "decoupled" if group["decoupled_weight_decay"] else "l2"
        return registry().create("weight_decay", style)

    # --- state dict: parameters are referred to by their position, as in PyTorch ------------
    def state_dict(self) -> dict:
        index = {id(p): i for i, p in enumerate(self.params)}
        state = {index[id(p)]: {k: v.clone() if isinstance(v, Tensor) else v for k, v in s.items()}
                 for p, s in self.state.items()}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(saved["params"]) != len(own["params"]) for saved, own in zip(groups, self.param_groups)
        ):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved param groups do not match this "
                             "optimizer's (different model or parameter order?)")
        for saved, own in zip(groups, self.param_groups):
            own.update({k: _group_value(v, own.get(k)) for k, v in saved.items() if k != "params"})
        self.state = {}
        for key, saved in state_dict["state"].items():
            param = dict(enumerate(self.params))[int(key)]  # a KeyError for -1, not the last one
            self.state[param] = {k: _state_value(v, param) for k, v in saved.items()}


def _group_value(value, current):
    # A JSON round trip turns tuples (Adam's betas) into lists; give them their shape back.
    return tuple(value) if isinstance(current, tuple) and isinstance(value, list) else value


def _state_value(value, param):
    """A saved state value; tensors land on the parameter's backend, whichever one saved them."""
    if isinstance(value, Tensor):
        moved = value.to(param.backend)
        return moved if moved is not value else value.clone()
    if isinstance(value, list) and value:  # nested lists of any depth: a tensor of their shape
        return tensor(value).to(param.backend)
    return value
