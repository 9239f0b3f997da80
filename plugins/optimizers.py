"""Optimizers: SGD, Adam, AdamW and RMSprop, with PyTorch's signatures, defaults and update rules.

Each writes only its update rule; `maximize=True` (negating the gradient) and weight decay (by the
weight-decay plugin) are applied before `update`, for every optimizer alike. The updates follow the operation order of PyTorch's
single-tensor implementations, so that trajectories agree with PyTorch's to the last bits.
"""

import operator
from itertools import repeat

from attrs.validators import optional

import lamina
from lamina.component import at_least, boolean, component, field, in_range, number
from lamina.gradient_descent import weight_decay_field
from lamina.optim import Optimizer


def zeros_like(param):
    """Zeros of `param`'s shape, backend and dtype: a float32 model keeps float32 optimizer state
    whatever the default dtype (lamina.zeros_like makes the default dtype)."""
    zeros = lamina.zeros_like(param)
    return zeros if zeros.dtype == param.dtype else param._wrap(param.backend.astype(zeros.data, param.dtype))


def _betas(instance, attribute, value):
    if len(value) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in value):
        raise ValueError(
            f"{type(instance).__name__}(betas={value!r}): betas must be two numbers in [0, 1)"
        )


@component
class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and dampening."""

    lr: float = field(default=1e-3, validator=[number, at_least(0.0)])
    momentum: float = field(default=0.0, validator=[number, at_least(0.0)])
    dampening: float = field(default=0.0, validator=[number, in_range(0, 1)])
    weight_decay: float = weight_decay_field()
    nesterov: bool = field(default=False, validator=boolean)
    # Ascend instead of descend: the step negates the gradient before weight decay, as PyTorch's does.
    maximize: bool = field(default=False, kw_only=True, validator=boolean)

    def __attrs_post_init__(self):
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"SGD(nesterov=True, momentum={self.momentum}, dampening={self.dampening}): "
                "Nesterov momentum needs momentum > 0 and dampening = 0"
            )
        super().__attrs_post_init__()

    def update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = grad.clone()  # the first step takes the gradient whole, undampened
            else:
                buffer = buffer * momentum + grad * (1.0 - group["dampening"])
            state["momentum_buffer"] = buffer
            grad = grad + buffer * momentum if group["nesterov"] else buffer
        param.sub_(grad * group["lr"])


@component
class Adam(Optimizer):
    """Adam: per-parameter steps from bias-corrected running means of the gradient and its square.

    weight_decay is coupled L2 (added to the gradient), as in PyTorch; pass
    decoupled_weight_decay=True, or use AdamW, for decoupled decay."""

    lr: float = field(default=1e-3, validator=[number, at_least(0.0)])
    betas: tuple = field(default=(0.9, 0.999), converter=tuple, validator=_betas)
    eps: float = field(default=1e-8, validator=[number, at_least(0.0)])
    weight_decay: float = weight_decay_field()
    amsgrad: bool = field(default=False, validator=boolean)
    maximize: bool = field(default=False, kw_only=True, validator=boolean)
    # None: use the backend's fused `adam_step` kernel where it has one. Fused and unfused give
    # identical numbers; the fused one only makes fewer passes over the data (PyTorch's fused=).
    fused: bool = field(default=None, kw_only=True, validator=optional(boolean))

    def step(self, closure=None):
        """Optimizer.step; on a backend with the optional `join_flat` kernel (numpy) each group is
        stepped as one flat array by one fused `adam_step`: the same numbers as a step per
        parameter, in a dozen numpy calls in all instead of a dozen for each parameter."""
        loss = closure() if closure is not None else None
        ready = list(map(self.flat_group, self.param_groups))
        if None in ready:
            super().step()
        else:
            for group, (flat, grad) in zip(self.param_groups, ready):
                flat.step(group, self.state, grad)
        return loss

    def flat_group(self, group):
        """(the group's FlatAdamGroup, its gradients joined into one array), the FlatAdamGroup
        rebuilt when its arrays were replaced; or None when the group cannot step as one array (no
        join_flat kernel, options the fused kernel does not cover, a subclass's own `update`, a
        parameter without a gradient, or parameters, moments and gradients of more than one dtype
        or step count)."""
        params = group["params"]
        backend = params[0].backend
        join_flat = getattr(backend, "join_flat", None)
        if join_flat is None or group["fused"] is False or group["amsgrad"] or group["maximize"] or group["weight_decay"]:
            return None
        if type(self).update is not Adam.update:  # a subclass with its own rule steps by that rule
            return None
        # C-level maps, not comprehensions: a comprehension is a Python frame, and in a training step
        # each frame costs about a microsecond (as much as this whole check).
        grads = list(map(_grad, params))
        if not all(map(operator.is_not, grads, repeat(None))):  # a parameter without a gradient
            return None
        if not all(map(operator.is_, map(_backend, grads), repeat(backend))):  # a gradient on another backend
            return None
        flat_groups = vars(self).setdefault("_flat_groups", {})
        flat = flat_groups.get(id(group))
        if flat is None or not flat.holds(params, self.state):
            flat = flat_groups[id(group)] = FlatAdamGroup.of(backend, params, self.state)
            if flat is None:
                return None
        grad = join_flat(list(map(_data, grads)))  # numpy promotes a float64 gradient of a float32 model: seen here
        return (flat, grad) if backend.dtype(grad) == flat.dtype else None

    def update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        state["step"] += 1
        step = state["step"]
        adam_step = self.fused_kernel(param, group)
        if adam_step is not None:  # the same numbers as the lines below, in fewer passes
            self.fused_update(adam_step, param, grad, state, group)
            return

        # m <- beta1 m + (1 - beta1) g, computed as PyTorch does: m moved towards g by 1 - beta1.
        exp_avg = state["exp_avg"] = state["exp_avg"] + (grad - state["exp_avg"]) * (1.0 - beta1)
        exp_avg_sq = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + grad * (1.0 - beta2) * grad
        if group["amsgrad"]:
            # The denominator never shrinks: use the largest second moment seen so far.
            largest = state.get("max_exp_avg_sq", zeros_like(param))
            exp_avg_sq = state["max_exp_avg_sq"] = largest.maximum(exp_avg_sq)

        bias_correction1 = 1.0 - beta1 ** step
        bias_correction2 = 1.0 - beta2 ** step
        step_size = group["lr"] / bias_correction1
        denominator = exp_avg_sq.sqrt() / bias_correction2 ** 0.5 + group["eps"]
        param.sub_(exp_avg * step_size / denominator)

    def fused_kernel(self, param, group):
        """The backend's optional `adam_step` kernel if this step should use it, else None."""
        if group["fused"] is False:
            return None
        adam_step = getattr(param.backend, "adam_step", None)
        if adam_step is None and group["fused"]:
            raise lamina.BackendError(
                f"Adam(fused=True): the {param.backend.name} backend has no fused adam_step kernel; "
                "leave fused unset to use it wherever a backend has one"
            )
        return adam_step

    def fused_update(self, adam_step, param, grad, state, group):
        """The same step as `update`'s Tensor operations, by the backend's `adam_step` kernel."""
        beta1, beta2 = group["betas"]
        largest = state.get("max_exp_avg_sq", zeros_like(param)) if group["amsgrad"] else None
        param.data, exp_avg, exp_avg_sq, largest = adam_step(
            param.data, grad.data, state["exp_avg"].data, state["exp_avg_sq"].data,
            None if largest is None else largest.data,
            lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], step=state["step"],
        )
        state["exp_avg"], state["exp_avg_sq"] = param._wrap(exp_avg), param._wrap(exp_avg_sq)
        if largest is not None:
            state["max_exp_avg_sq"] = param._wrap(largest)


_grad, _backend, _data = operator.attrgetter("grad"), operator.attrgetter("backend"), operator.attrgetter("data")
_exp_avg, _exp_avg_sq, _step = operator.itemgetter("exp_avg"), operator.itemgetter("exp_avg_sq"), operator.itemgetter("step")


class FlatAdamGroup:
    """A group's parameters and Adam moments as views of three flat arrays, so that one fused
    `adam_step` over the flat arrays updates every parameter and moment in place. A backend offers
    this with the optional kernels `join_flat(arrays)` and `views_of_flat(flat, shapes)`, and an
    `adam_step` that writes into the arrays it is given (the numpy backend's)."""

    @classmethod
    def of(cls, backend, params, state):
        """A FlatAdamGroup over `params`, their moments made (as Adam.update's) where they have none,
        or None if their dtypes or step counts differ (a group stepped one parameter at a time)."""
        for p in params:
            if not state.get(p):
                state[p] = {"step": 0, "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}
        states = [state[p] for p in params]
        arrays = [*(p.data for p in params), *(s["exp_avg"].data for s in states), *(s["exp_avg_sq"].data for s in states)]
        if len({s["step"] for s in states}) != 1 or len({backend.dtype(a) for a in arrays}) != 1:
            return None
        return cls(backend, params, states)

    def __init__(self, backend, params, states):
        self.backend, self.params, self.dtype = backend, list(params), backend.dtype(params[0].data)
        shapes = [backend.shape(p.data) for p in params]

        def joined(arrays):
            flat = backend.join_flat(arrays)
            return flat, backend.views_of_flat(flat, shapes)

        self.param, self.param_views = joined([p.data for p in params])
        self.exp_avg, self.exp_avg_views = joined([s["exp_avg"].data for s in states])
        self.exp_avg_sq, self.exp_avg_sq_views = joined([s["exp_avg_sq"].data for s in states])
        for p, s, data, exp_avg, exp_avg_sq in zip(params, states, self.param_views, self.exp_avg_views,
                                                     self.exp_avg_sq_views):
            p.data, s["exp_avg"], s["exp_avg_sq"] = data, p._wrap(exp_avg), p._wrap(exp_avg_sq)

    def holds(self, params, state):
        """Whether these are still the group's parameters, every array still a view of the flat
        ones (loading a state dict or `copy_` rebinds them) and every step count the same."""
        try:  # in C-level maps, as flat_group's checks
            states = list(map(state.__getitem__, params))
            return (len(params) == len(self.params) and all(map(operator.is_, params, self.params))
                    and all(map(operator.is_, map(_data, params), self.param_views))
                    and all(map(operator.is_, map(_data, map(_exp_avg, states)), self.exp_avg_views))
                    and all(map(operator.is_, map(_data, map(_exp_avg_sq, states)), self.exp_avg_sq_views))
                    and len(set(map(_step, states))) == 1)
        except KeyError:  # a parameter without state, or state without moments
            return False

    def step(self, group, state, grad):
        step = state[self.params[0]]["step"] + 1
        for p in self.params:
            state[p]["step"] = step
        beta1, beta2 = group["betas"]
        self.backend.adam_step(self.param, grad, self.exp_avg, self.exp_avg_sq, None, lr=group["lr"],
                               beta1=beta1, beta2=beta2, eps=group["eps"], step=step)


def _always_decoupled(instance, attribute, value):
    if value is not True:
        raise ValueError(
            f"AdamW(decoupled_weight_decay={value!r}): AdamW's weight decay is always decoupled; "
            "use Adam for coupled L2"
        )


@component
class AdamW(Adam):
    """Adam with decoupled weight decay: the parameter shrinks by lr * weight_decay each step,
    outside the moment estimates."""

    weight_decay: float = weight_decay_field(default=1e-2)
    amsgrad: bool = field(default=False, validator=boolean)  # re-declared to keep PyTorch's order
    decoupled_weight_decay: bool = field(default=True, kw_only=True, validator=_always_decoupled)


@component
class RMSprop(Optimizer):
    """RMSprop: steps scaled by a running root mean square of the gradient, optionally centered
    (divided by an estimate of its standard deviation instead) and with momentum."""

    lr: float = field(default=1e-2, validator=[number, at_least(0.0)])
    alpha: float = field(default=0.99, validator=[number, at_least(0.0)])
    eps: float = field(default=1e-8, validator=[number, at_least(0.0)])
    weight_decay: float = weight_decay_field()
    momentum: float = field(default=0.0, validator=[number, at_least(0.0)])
    centered: bool = field(default=False, validator=boolean)
    maximize: bool = field(default=False, kw_only=True, validator=boolean)

    def update(self, param, grad, state, group):
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like(param)
        state["step"] += 1

        square_avg = state["square_avg"] = state["square_avg"] * alpha + grad * (1.0 - alpha) * grad
        if group["centered"]:
            grad_avg = state["grad_avg"] = state["grad_avg"] + (grad - state["grad_avg"]) * (1.0 - alpha)
            average = (square_avg - grad_avg * grad_avg).sqrt()
        else:
            average = square_avg.sqrt()
        average = average + group["eps"]

        if group["momentum"] > 0:
            buffer = state.get("momentum_buffer", zeros_like(param))
            buffer = state["momentum_buffer"] = buffer * group["momentum"] + grad / average
            param.sub_(buffer * group["lr"])
        else:
            param.sub_(grad * group["lr"] / average)


@lamina.hookimpl
def lamina_register_optimizers():
    return [SGD, Adam, AdamW, RMSprop]
