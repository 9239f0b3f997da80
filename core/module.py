"""Module: a layer with an explicit forward and backward; Sequential: layers applied in turn;
Loss: the last step, whose forward returns a float and whose backward starts the chain.

forward(x) computes the output and caches what backward needs; backward(grad) receives dL/d(output),
*adds* dL/d(parameter) into each Parameter's `.grad`, and returns dL/d(input) (None for data that
does not require grad: a DataLoader's batches). A module's parameters, buffers and child modules
are its attributes of those types, in the order assigned: PyTorch's state-dict keys ("0.weight").
"""

from __future__ import annotations

from .component import describe
from .errors import LaminaError, ShapeError, StateDictError
from .creation import tensor
from .tensors import Buffer, Parameter, Tensor


class Module:
    training = True

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def backward(self, grad: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define backward(grad)")

    def __call__(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} expects a lamina Tensor, got {type(x).__name__}; "
                            "build one with lamina.tensor(rows)")
        return self.forward(x)

    # --- what a module holds ----------------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return [child for _, child in self.named_children()]

    def modules(self):
        """This module and every descendant, parents first."""
        found = [self]
        for child in self.children():
            found.extend(child.modules())
        return found

    def _named_members(self, kind, prefix=""):
        for name, value in vars(self).items():
            if isinstance(value, kind):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_members(kind, f"{prefix}{name}.")

    def named_parameters(self, prefix=""):
        return list(self._named_members(Parameter, prefix))

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        return list(self._named_members(Buffer, prefix))

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, backend):
        """Move every parameter (with its gradient) and buffer to `backend` ("numpy", or a Backend) in
        place, as torch's `module.to(device)`; build the optimizer after moving the model, as in PyTorch."""
        for _, member in self.named_parameters() + self.named_buffers():
            moved = member.to(backend)
            member.data, member.backend = moved.data, moved.backend
            grad = getattr(member, "grad", None)
            if grad is not None:
                member.grad = grad.to(backend)
        return self

    # --- train / eval -----------------------------------------------------------------------
    def train(self, mode: bool = True):
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    # --- state dict -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Parameters then buffers of each module, parents first: PyTorch's order and names."""
        state = {}
        own = [(n, v) for n, v in vars(self).items() if isinstance(v, (Parameter, Buffer))]
        own.sort(key=lambda item: isinstance(item[1], Buffer))
        for name, value in own:
            state[name] = value.clone()
        for name, child in self.named_children():
            for key, value in child.state_dict().items():
                state[f"{name}.{key}"] = value
        return state

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values in by key; values may be Tensors, nested lists or PyTorch tensors.

        Returns (missing_keys, unexpected_keys). With strict=True either one is an error; a value
        of the wrong shape always is. Every problem is reported at once, by key, and nothing is
        copied unless every value fits.
        """
        own = dict(self.named_parameters() + self.named_buffers())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        loaded = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                loaded[key] = _as_tensor_of_shape(state_dict[key], target.shape, key)
            except ShapeError as error:
                problems.append(str(error))
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for key, value in loaded.items():  # only after every value checked: all or nothing
            own[key].copy_(value)  # onto the parameter's backend, in its dtype, as torch's load_state_dict
        return missing, unexpected

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return describe(self)
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def _as_tensor_of_shape(value, shape, key):
    """A state-dict value (a Tensor, nested lists, or a numpy or PyTorch tensor) as a Tensor of `shape`."""
    try:
        candidate = value if isinstance(value, Tensor) else tensor(value)
    except (TypeError, ValueError) as error:
        raise ShapeError(f"state dict entry {key!r}: {error}") from None
    if candidate.shape != shape:
        raise ShapeError(f"{key!r} has shape {candidate.shape} in the state dict, the model expects {shape}")
    return candidate.clone()


class Sequential(Module):
    def __init__(self, *layers):
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential argument {index} is {type(layer).__name__}, expected a Module")
        self.layers = list(layers)

    def named_children(self):
        return ((str(index), layer) for index, layer in enumerate(self.layers))

    def forward(self, x):
        for index, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except ShapeError as error:
                raise ShapeError(f"layer {index} ({type(layer).__name__}): {error}") from None
        self.last_output = x
        return x

    def backward(self, grad):
        origin = getattr(grad, "origin", None)  # layers keep one forward: an older one's gradient mixes two
        if origin is not None and origin is not getattr(self, "last_output", None):
            raise LaminaError("the gradient given to backward is the loss's for an earlier output of this model, "
                              "which has run forward since; call backward before the next forward (evaluate "
                              "after optimizer.step())")
        for layer in reversed(self.layers):  # None: the first layer skipped the data's gradient
            grad = None if grad is None else layer.backward(grad)
        return grad

    def append(self, layer):
        self.layers.append(layer)
        return self

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]


REDUCTIONS = ("mean", "sum", "none")


class Loss:
    reduction = "mean"

    def __repr__(self):
        return describe(self)

    def __call__(self, prediction, target):
        """The loss: a float, or a Tensor of per-element losses when reduction is 'none'."""
        if not isinstance(prediction, Tensor):
            raise TypeError(f"{type(self).__name__} expects the prediction as a lamina Tensor, "
                            f"got {type(prediction).__name__}")
        self.prediction = prediction  # backward's gradient is this tensor's (its `origin`)
        return self.forward(prediction, target)

    def forward(self, prediction: Tensor, target):
        raise NotImplementedError(f"{type(self).__name__} must define forward(prediction, target)")

    def backward(self, grad=None) -> Tensor:
        """dL/d(prediction), scaled by `grad` (a number; one per loss if reduction="none") as torch's."""
        raise NotImplementedError(f"{type(self).__name__} must define backward(grad=None)")
