"""Tensor: a 2-D array of float64 (rows are samples), with its arithmetic delegated to a backend.

`Parameter` is a Tensor a model learns (it carries `.grad`); `Buffer` is a Tensor a model keeps in
its state dict but does not learn (BatchNorm's running statistics).
"""

from __future__ import annotations

import numbers

from .component import registry
from .errors import BackendError, PluginError, ShapeError, UnknownComponentError
from .pure_python import PurePythonBackend
from .rng import generator

_REFERENCE = PurePythonBackend()
_backend = None  # set_backend's choice; until then, found on first use by get_backend


def get_backend():
    """The backend new tensors use: set_backend's choice, else the registered "python" backend
    (the reference kernels' fast twin, plugins/python_backend.py), else the reference itself."""
    global _backend
    if _backend is None:
        try:
            _backend = registry().create("backends", "python")
        except UnknownComponentError:  # its plugin is blocked: the reference serves from now on
            _backend = _REFERENCE
        except PluginError:  # asked for while plugins are still loading: the reference, this once
            return _REFERENCE
    return _backend


def set_backend(backend):
    """Make `backend` (a Backend, or a registered backend's name) the one tensors created from
    now on use. Existing tensors keep theirs: convert one with `.to(name)`, a model with
    `model.to(name)`."""
    global _backend
    _backend = resolve_backend(backend)
    return _backend


def resolve_backend(backend):
    """A Backend from itself or from a registered backend's name (the current one if it has it)."""
    if not isinstance(backend, str):
        return backend
    if backend == get_backend().name:
        return get_backend()
    return registry().create("backends", backend)


def _mixed_backends(op, left, right):
    return BackendError(
        f"cannot {op} a {left.name} tensor and a {right.name} tensor: convert one with "
        f".to({left.name!r}) or .to({right.name!r}) (lamina.set_backend only applies to tensors "
        "created after it)"
    )


def same_backend(a, b) -> bool:
    """Two backend objects of one kind (a name compares them: each create() makes a new one)."""
    return a is b or a.name == b.name


def common_backend(tensors, op):
    """The backend every tensor shares, or an error naming the two that differ."""
    backend = tensors[0].backend
    for other in tensors[1:]:
        if not same_backend(other.backend, backend):
            raise _mixed_backends(op, backend, other.backend)
    return backend


def _is_number(value):
    return type(value) in (float, int) or isinstance(value, numbers.Real)


def _unary(name):
    def function(self):
        return self._wrap(self.backend.unary(self.data, name))

    function.__name__ = name
    return function


def _comparison(op):
    def compare(self, other):
        return self._wrap(self.backend.compare(self.data, self._operand(other, "compare"), op))

    return compare


class Tensor:
    __slots__ = ("data", "backend")

    def __init__(self, data, backend=None):
        """Wrap backend storage; use `lamina.tensor(rows)` to build one from Python values."""
        self.data = data
        self.backend = backend if backend is not None else get_backend()

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self):
        return self.backend.shape(self.data)

    def numel(self):
        rows, cols = self.shape
        return rows * cols

    def tolist(self):
        return self.backend.to_rows(self.data)

    def item(self):
        if self.shape != (1, 1):
            raise ShapeError(f"item() needs a (1, 1) tensor, this one is {self.shape}")
        return float(self.tolist()[0][0])

    def clone(self):
        return Tensor(self.backend.copy(self.data), self.backend)

    def to(self, backend):
        """This tensor on `backend` (a name such as "numpy", or a Backend): itself if it is
        already there, else a copy, as torch's `.to(device)`."""
        backend = resolve_backend(backend)
        if same_backend(backend, self.backend):
            return self
        return Tensor(backend.from_rows(self.tolist()), backend)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        rows = self.tolist()
        shown = repr(rows) if len(rows) <= 6 else "[" + ",\n        ".join(map(repr, rows[:3])) + ",\n        ...]"
        return f"tensor({shown})" if len(rows) <= 6 else f"tensor({shown}, shape={self.shape})"

    def __getitem__(self, index):
        """Rows: an int, a slice, or a list of ints (always returns a 2-D tensor)."""
        count = self.shape[0]
        if isinstance(index, bool) or isinstance(index, tuple):
            raise TypeError("lamina tensors index rows only: an int, a slice or a list of ints")
        if isinstance(index, int):
            if not -count <= index < count:
                raise IndexError(f"row {index} is out of range for a tensor with {count} rows")
            indices = [index % count]
        elif isinstance(index, slice):
            indices = range(*index.indices(count))
        else:
            indices = list(index)
            bad = [i for i in indices if not isinstance(i, int) or not -count <= i < count]
            if bad:
                raise IndexError(f"row indices {bad[:5]} are not valid for {count} rows")
        return Tensor(self.backend.take_rows(self.data, indices), self.backend)

    # --- element-wise arithmetic ------------------------------------------------------------
    def _operand(self, other, op):
        if type(other) is float:  # the common case first: this runs for every operation
            return other
        if isinstance(other, Tensor):
            backend = self.backend
            if other.backend is not backend and not same_backend(other.backend, backend):
                raise _mixed_backends(op, backend, other.backend)
            _check_broadcast(backend.shape(self.data), backend.shape(other.data), op)
            return other.data
        if _is_number(other):
            return float(other)
        raise TypeError(f"cannot {op} a lamina Tensor and {type(other).__name__}")

    def _wrap(self, data):
        return Tensor(data, self.backend)

    def __add__(self, other):
        return self._wrap(self.backend.add(self.data, self._operand(other, "add")))

    __radd__ = __add__

    def __sub__(self, other):
        return self._wrap(self.backend.sub(self.data, self._operand(other, "subtract")))

    def __rsub__(self, other):
        return self._wrap(self.backend.sub(self._operand(other, "subtract"), self.data))

    def __mul__(self, other):
        return self._wrap(self.backend.mul(self.data, self._operand(other, "multiply")))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._wrap(self.backend.div(self.data, self._operand(other, "divide")))

    def __rtruediv__(self, other):
        return self._wrap(self.backend.div(self._operand(other, "divide"), self.data))

    def __pow__(self, exponent):
        if not _is_number(exponent):
            raise TypeError("a tensor's exponent must be a number")
        return self._wrap(self.backend.pow(self.data, exponent))

    def __neg__(self):
        return self._wrap(self.backend.unary(self.data, "neg"))

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"cannot matrix-multiply a Tensor and {type(other).__name__}")
        backend = self.backend
        if other.backend is not backend:
            common_backend([self, other], "matrix-multiply")
        if backend.shape(self.data)[1] != backend.shape(other.data)[0]:
            raise ShapeError(f"cannot matrix-multiply shapes {self.shape} and {other.shape}")
        return self._wrap(backend.matmul(self.data, other.data))

    # Comparisons give 1.0 where they hold and 0.0 elsewhere (`==` stays identity, so that
    # tensors can key dictionaries: `eq` compares values).
    __gt__, __ge__, __lt__, __le__ = _comparison(">"), _comparison(">="), _comparison("<"), _comparison("<=")
    eq = _comparison("==")

    def maximum(self, other):
        return self._wrap(self.backend.maximum(self.data, self._operand(other, "compare")))

    def minimum(self, other):
        return self._wrap(self.backend.minimum(self.data, self._operand(other, "compare")))

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp needs min, max or both")
        return self._wrap(self.backend.clamp(self.data, min, max))

    # Functions applied to every element; the backend has each as one `unary` kernel.
    exp, log, log1p = _unary("exp"), _unary("log"), _unary("log1p")
    tanh, sigmoid, erf = _unary("tanh"), _unary("sigmoid"), _unary("erf")
    sqrt, abs, sign = _unary("sqrt"), _unary("abs"), _unary("sign")

    # --- shape and reductions ---------------------------------------------------------------
    @property
    def T(self):
        return self._wrap(self.backend.transpose(self.data))

    def _reduce(self, kernel, dim):
        if dim not in (None, 0, 1, -1, -2):
            raise ValueError(f"dim must be None, 0 or 1 for a 2-D tensor, got {dim!r}")
        result = kernel(self.data, dim % 2 if dim is not None else None)
        return result if dim is None else self._wrap(result)

    def sum(self, dim=None):
        """dim=None gives a float; dim=0 or 1 keeps the tensor 2-D (keepdim, as in PyTorch)."""
        return self._reduce(self.backend.sum, dim)

    def mean(self, dim=None):
        rows, cols = self.shape
        count = rows * cols if dim is None else (rows if dim % 2 == 0 else cols)
        return self.sum(dim) / count

    def max(self, dim=None):
        return self._reduce(self.backend.max, dim)

    def min(self, dim=None):
        return self._reduce(self.backend.min, dim)

    def argmax(self, dim=1):
        return self._reduce(self.backend.argmax, dim)

    def _check_dim(self, dim, what):
        if isinstance(dim, bool) or dim not in (0, 1, -1, -2):
            raise ValueError(f"{what}: dim must be 0 or 1 for a 2-D tensor, got {dim!r}")

    def logsumexp(self, dim=1):
        """log(sum(exp(x))) along dim (kept 2-D), shifted by the maximum so exp never overflows."""
        self._check_dim(dim, "logsumexp")
        peak = self.max(dim)
        return (self - peak).exp().sum(dim).log() + peak

    def log_softmax(self, dim=1):
        """x - logsumexp(x) along dim: log-probabilities, stable for any logits."""
        self._check_dim(dim, "log_softmax")
        shifted = self - self.max(dim)
        return shifted - shifted.exp().sum(dim).log()

    def softmax(self, dim=1):
        """exp(x) / sum(exp(x)) along dim, after subtracting the maximum so exp never overflows."""
        self._check_dim(dim, "softmax")
        powers = (self - self.max(dim)).exp()
        return powers / powers.sum(dim)

    # --- in place (optimizers update parameters through these) ------------------------------
    def copy_(self, other):
        """Overwrite with `other`'s values (converted from its backend if it has another one)."""
        if isinstance(other, Tensor):
            if other.shape != self.shape:
                raise ShapeError(f"cannot copy a {other.shape} tensor into a {self.shape} one")
            self.data = self.backend.copy(other.to(self.backend).data)
        else:
            self.data = self.backend.full(*self.shape, other)
        return self

    def add_(self, other):
        self.data = self.backend.add(self.data, self._operand(other, "add"))
        return self

    def sub_(self, other):
        self.data = self.backend.sub(self.data, self._operand(other, "subtract"))
        return self

    def mul_(self, other):
        self.data = self.backend.mul(self.data, self._operand(other, "multiply"))
        return self

    def zero_(self):
        return self.copy_(0.0)


def _check_broadcast(left, right, op):
    if left == right:
        return
    for a, b in zip(left, right):
        if a != b and a != 1 and b != 1:
            raise ShapeError(f"cannot {op} tensors of shapes {left} and {right}")


class Parameter(Tensor):
    """A tensor the optimizer updates; `grad` accumulates across backward calls until zeroed."""

    __slots__ = ("grad",)

    def __init__(self, value):
        value = value if isinstance(value, Tensor) else tensor(value)
        super().__init__(value.data, value.backend)
        self.grad = None

    def accumulate_grad(self, grad):
        self.grad = grad if self.grad is None else self.grad + grad


class Buffer(Tensor):
    """State a module saves and loads but does not learn (running statistics, counters)."""

    __slots__ = ()

    def __init__(self, value):
        value = value if isinstance(value, Tensor) else tensor(value)
        super().__init__(value.data, value.backend)


# --- building tensors -----------------------------------------------------------------------


def _rows_from(values):
    if hasattr(values, "tolist") and not isinstance(values, Tensor):
        values = values.tolist()  # numpy arrays, torch tensors
    if _is_number(values):
        raise ShapeError(f"lamina.tensor expects rows of numbers, got the number {values!r}; write [[value]]")
    if not isinstance(values, (list, tuple)) or not values:
        raise ShapeError(f"lamina.tensor expects a non-empty 2-D nested list, got {type(values).__name__}")
    if all(_is_number(v) for v in values):
        raise ShapeError(f"lamina.tensor expects a 2-D nested list, got a flat list of {len(values)} numbers; "
                         "write [[...]] for one row or [[v] for v in values] for one column")
    width = len(values[0]) if isinstance(values[0], (list, tuple)) else None
    for r, row in enumerate(values):
        if not isinstance(row, (list, tuple)) or len(row) != width or not width:
            got = f"has {len(row)} values" if isinstance(row, (list, tuple)) else f"is a {type(row).__name__}"
            raise ShapeError(f"row {r} {got} but row 0 has {width}: rows must be equal lists of numbers")
        for c, v in enumerate(row):
            if not _is_number(v):
                raise TypeError(f"row {r}, column {c} is {v!r} ({type(v).__name__}), expected a number")
    return [[float(v) for v in row] for row in values]


def tensor(values):
    """A float64 tensor from a 2-D nested list, a numpy array (kept without a copy where the backend
    can: numpy checks its numbers, not lamina element by element) or anything with `.tolist()`."""
    if isinstance(values, Tensor):  # a copy, on the current backend
        moved = values.to(get_backend())
        return moved if moved is not values else values.clone()
    backend = get_backend()
    if getattr(values, "ndim", None) == 2 and hasattr(values, "dtype") and values.dtype.kind in "biuf":
        take_array = getattr(backend, "from_array", None)  # an optional kernel (lamina.backend)
        return Tensor(take_array(values) if take_array else backend.from_rows(values.astype(float).tolist()), backend)
    return Tensor(backend.from_rows(_rows_from(values)), backend)


def zeros_like(other):
    """Zeros of `other`'s shape on `other`'s backend."""
    return Tensor(other.backend.full(*other.shape, 0.0), other.backend)
