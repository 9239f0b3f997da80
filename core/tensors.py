"""Tensor: float64 values of PyTorch's shape, held as a 2-D table whose arithmetic a backend does.

`Parameter` is a Tensor a model learns (it carries `.grad`); `Buffer` is a Tensor a model keeps in
its state dict but does not learn (BatchNorm's running statistics).
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

from .component import registry
from .errors import BackendError, PluginError, ShapeError, UnknownComponentError
from .pure_python import PurePythonBackend
from .shapes import broadcast_shape, chunk, dim_index, nest, nested, resolve_shape, storage_shape


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
        return Tensor(self.backend.unary(self.data, name), self.backend, self.shape)

    function.__name__ = name
    return function


def _arithmetic(kernel, op, swap=False):
    def method(self, other):
        return self._binary(getattr(self.backend, kernel), other, op, swap)

    return method


def _comparison(op):
    def compare(self, other):
        result = self._binary(lambda a, b: self.backend.compare(a, b, op), other, "compare")
        return Mask(result.data, result.backend, result.shape)

    return compare


Reduced = namedtuple("Reduced", "values indices")


class Tensor:
    """float64 values of PyTorch's `shape`, held as the backend's 2-D table (see core/shapes.py)."""

    __slots__ = ("data", "backend", "shape")
    __hash__ = object.__hash__  # by identity: optimizer state is keyed by Parameter, and == compares values

    def __init__(self, data, backend=None, shape=None):
        """Wrap backend storage; use `lamina.tensor(values)` to build one from Python values."""
        self.data = data
        self.backend = backend if backend is not None else get_backend()
        self.shape = self.backend.shape(data) if shape is None else tuple(shape)

    # --- what it is -------------------------------------------------------------------------
    def dim(self):
        return len(self.shape)

    ndim = property(dim)

    def numel(self):
        return math.prod(self.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim_index(dim, self.dim())]

    def tolist(self):
        """PyTorch's nested lists: rows of rows for a matrix, a flat list for (F,), a float for ()."""
        return nest(self.backend.to_rows(self.data), self.shape)

    def item(self):
        if self.numel() != 1:
            raise ShapeError(f"item() needs a tensor of one value, this one has shape {self.shape}")
        return float(self.backend.to_rows(self.data)[0][0])

    __float__ = item

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise ValueError(f"the truth of a tensor of shape {self.shape} is ambiguous; reduce it first, "
                             "e.g. (x > 0).sum() > 0")
        return self.item() != 0.0

    def clone(self):
        return Tensor(self.backend.copy(self.data), self.backend, self.shape)

    def to(self, backend):
        """This tensor on `backend` (a name such as "numpy", or a Backend): itself if it is
        already there, else a copy, as torch's `.to(device)`."""
        backend = resolve_backend(backend)
        if same_backend(backend, self.backend):
            return self
        return Tensor(backend.from_rows(self.backend.to_rows(self.data)), backend, self.shape)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        rows = self.tolist()
        if not isinstance(rows, list) or len(rows) <= 6:
            return f"tensor({rows!r})"
        shown = "[" + ",\n        ".join(map(repr, rows[:3])) + ",\n        ...]"
        return f"tensor({shown}, shape={self.shape})"

    def _wrap(self, data):
        """Storage a kernel made from this tensor's, read in this tensor's shape."""
        return Tensor(data, self.backend, self.shape)

    # --- reading the storage another way ----------------------------------------------------
    def _shaped(self, data, shape):
        """`data` read as `shape`, re-chunked by the backend if the row boundary moves."""
        rows, cols = storage_shape(shape)
        if self.backend.shape(data) != (rows, cols):
            data = self.backend.reshape(data, rows, cols)
        return Tensor(data, self.backend, shape)

    def reshape(self, *shape):
        return self._shaped(self.data, resolve_shape(shape, self.numel()))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if not self.shape:
            return self.reshape(1)
        start, end, shape = dim_index(start_dim, self.dim()), dim_index(end_dim, self.dim()), self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def unflatten(self, dim, sizes):
        dim = dim_index(dim, self.dim())
        sizes = resolve_shape(tuple(sizes), self.shape[dim])
        return self.reshape(self.shape[:dim] + sizes + self.shape[dim + 1:])

    # --- indexing: x[i], x[a:b], x[[i, j]], x[mask], x[:, j], x[:, a:b] ----------------------
    def __getitem__(self, index):
        if isinstance(index, tuple):
            if len(index) != 2 or index[0] != slice(None):
                raise IndexError("lamina indexes rows (x[i], x[a:b], x[[i, j]], x[mask]) and columns "
                                 f"(x[:, j], x[:, a:b]), got {index!r}")
            return self._columns(index[1])
        if self.dim() < 2:  # a (F,) tensor is one row: its items are the row's columns
            if not self.shape:
                raise IndexError("a 0-d tensor cannot be indexed; use .item()")
            return self.reshape(1, -1)._columns(index).reshape(-1 if isinstance(index, (slice, list, Tensor)) else ())
        positions, single = _positions(index, self.shape[0], "row")
        taken = self.backend.take_rows(self.data, positions)
        return self._shaped(taken, self.shape[1:] if single else (len(positions),) + self.shape[1:])

    def _columns(self, index):
        if self.dim() < 2:
            raise IndexError(f"x[:, j] needs at least 2 dimensions, this tensor has shape {self.shape}")
        positions, single = _positions(index, self.shape[1], "column")
        inner = math.prod(self.shape[2:])  # a column of a (N, C, H, W) tensor is a channel: H*W values
        columns = [p * inner + k for p in positions for k in range(inner)]
        backend = self.backend
        taken = backend.transpose(backend.take_rows(backend.transpose(self.data), columns))
        rest = self.shape[2:] if single else (len(positions),) + self.shape[2:]
        return self._shaped(taken, self.shape[:1] + rest)

    # --- element-wise arithmetic ------------------------------------------------------------
    def _binary(self, kernel, other, op, swap=False):
        """kernel(self, other), or (other, self), broadcast as PyTorch as far as storage follows."""
        shape, data = self.shape, self.data
        if type(other) is float:  # the common case first: this runs for every operation
            operand = other
        elif isinstance(other, Tensor):
            if other.backend is not self.backend and not same_backend(other.backend, self.backend):
                raise _mixed_backends(op, self.backend, other.backend)
            operand = other.data
            if other.shape != shape:
                shape, mine, theirs = broadcast_shape(shape, other.shape, op)
                data, operand = _stored_as(self, mine), _stored_as(other, theirs)
        elif _is_number(other):
            operand = float(other)
        else:
            raise TypeError(f"cannot {op} a lamina Tensor and {type(other).__name__}")
        return Tensor(kernel(operand, data) if swap else kernel(data, operand), self.backend, shape)

    __add__ = __radd__ = _arithmetic("add", "add")
    __sub__, __rsub__ = _arithmetic("sub", "subtract"), _arithmetic("sub", "subtract", swap=True)
    __mul__ = __rmul__ = _arithmetic("mul", "multiply")
    __truediv__, __rtruediv__ = _arithmetic("div", "divide"), _arithmetic("div", "divide", swap=True)
    maximum, minimum = _arithmetic("maximum", "compare"), _arithmetic("minimum", "compare")

    def __pow__(self, exponent):
        if not _is_number(exponent):
            raise TypeError("a tensor's exponent must be a number")
        return Tensor(self.backend.pow(self.data, exponent), self.backend, self.shape)

    def __neg__(self):
        return Tensor(self.backend.unary(self.data, "neg"), self.backend, self.shape)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"cannot matrix-multiply a Tensor and {type(other).__name__}")
        backend = self.backend
        if other.backend is not backend:
            common_backend([self, other], "matrix-multiply")
        if len(self.shape) != 2 or len(other.shape) != 2:
            raise ShapeError(f"matrix products take 2-D (N, F) tensors, got shapes {self.shape} and "
                             f"{other.shape}; flatten the features first, e.g. with nn.Flatten()")
        if self.shape[1] != other.shape[0]:
            raise ShapeError(f"cannot matrix-multiply shapes {self.shape} and {other.shape}")
        return Tensor(backend.matmul(self.data, other.data), backend, (self.shape[0], other.shape[1]))

    # Comparisons give a Mask: 1.0 where they hold and 0.0 elsewhere, as PyTorch's bool tensors.
    __gt__, __ge__, __lt__, __le__ = _comparison(">"), _comparison(">="), _comparison("<"), _comparison("<=")
    __eq__ = eq = _comparison("==")
    __ne__ = ne = _comparison("!=")

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp needs min, max or both")
        return Tensor(self.backend.clamp(self.data, min, max), self.backend, self.shape)

    # Functions applied to every element; the backend has each as one `unary` kernel.
    exp, log, log1p = _unary("exp"), _unary("log"), _unary("log1p")
    tanh, sigmoid, erf = _unary("tanh"), _unary("sigmoid"), _unary("erf")
    sqrt, abs, sign = _unary("sqrt"), _unary("abs"), _unary("sign")

    # --- transposes and reductions ----------------------------------------------------------
    @property
    def T(self):
        if self.dim() != 2:
            raise ShapeError(f".T takes a 2-D tensor, this one has shape {self.shape}")
        return Tensor(self.backend.transpose(self.data), self.backend, self.shape[::-1])

    def _reduce(self, kernel, dim, keepdim):
        """kernel along `dim`, the storage read as (before, along) or (along, after) so that the
        backend reduces its rows or its columns. With no dim, a Python float (see `sum`)."""
        if dim is None:
            return kernel(self.data, None)
        shape, d = self.shape, dim_index(dim, self.dim())
        before, along, after = math.prod(shape[:d]), math.prod(shape[d:d + 1]), math.prod(shape[d + 1:])
        if after == 1:
            result = kernel(self.backend.reshape(self.data, before, along), 1)
        elif before == 1:
            result = kernel(self.backend.reshape(self.data, along, after), 0)
        else:
            raise ShapeError(f"lamina reduces a tensor of shape {shape} along its first or last dimension, "
                             f"not dim={dim}; reshape it first")
        return self._shaped(result, shape[:d] + ((1,) if keepdim and shape else ()) + shape[d + 1:])

    def sum(self, dim=None, keepdim=False):
        """Along `dim` as PyTorch. With no dim lamina returns a Python float, not a 0-d tensor: a loss
        is a number, and every total in lamina is read as one."""
        return self._reduce(self.backend.sum, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        count = self.numel() if dim is None else math.prod(self.shape[dim_index(dim, self.dim()):][:1])
        return self.sum(dim, keepdim) / count

    def amax(self, dim=None, keepdim=False):
        return self._reduce(self.backend.max, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return self._reduce(self.backend.min, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        """Indices (as floats) of the largest values; with no dim, into the flattened tensor."""
        if dim is None:
            return self.reshape(-1).argmax(0)
        return self._reduce(self.backend.argmax, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """The largest value (a float, as `sum`); along `dim`, (values, indices) as PyTorch."""
        return self.amax() if dim is None else Reduced(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False):
        return self.amin() if dim is None else Reduced(self.amin(dim, keepdim), (-self).argmax(dim, keepdim))

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along dim, shifted by the maximum so exp never overflows."""
        dim_index(dim, self.dim())
        peak = self.amax(dim, keepdim=True)
        return (self - peak).exp().sum(dim, keepdim=True).log().add_(peak).sum(dim, keepdim)

    def log_softmax(self, dim):
        """x - logsumexp(x) along dim: log-probabilities, stable for any logits."""
        dim_index(dim, self.dim())
        shifted = self - self.amax(dim, keepdim=True)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    def softmax(self, dim):
        """exp(x) / sum(exp(x)) along dim, after subtracting the maximum so exp never overflows."""
        dim_index(dim, self.dim())
        powers = (self - self.amax(dim, keepdim=True)).exp()
        return powers / powers.sum(dim, keepdim=True)

    # --- in place (optimizers update parameters through these) ------------------------------
    def _in_place(self, kernel, other, op):
        result = self._binary(kernel, other, op)
        if result.shape != self.shape:
            raise ShapeError(f"cannot {op} a {other.shape} tensor into a {self.shape} one in place")
        self.data = result.data
        return self

    def copy_(self, other):
        """Overwrite with `other`'s values (converted from its backend if it has another one)."""
        if isinstance(other, Tensor):
            self.data = self.backend.copy(_read_as(other, self.shape, "copy").to(self.backend).data)
        else:
            self.data = self.backend.full(*storage_shape(self.shape), other)
        return self

    def add_(self, other):
        return self._in_place(self.backend.add, other, "add")

    def sub_(self, other):
        return self._in_place(self.backend.sub, other, "subtract")

    def mul_(self, other):
        return self._in_place(self.backend.mul, other, "multiply")

    def zero_(self):
        return self.copy_(0.0)

    # --- dtype: float64, or float32 on a backend that has it (lamina.set_default_dtype) -----
    @property
    def dtype(self):
        return self.backend.dtype(self.data)

    def float(self):
        """This tensor in float32: itself if it already is, else a copy (as torch's .float())."""
        return self if self.dtype == "float32" else self._wrap(self.backend.astype(self.data, "float32"))

    def double(self):
        return self if self.dtype == "float64" else self._wrap(self.backend.astype(self.data, "float64"))


class Mask(Tensor):
    """A comparison's result. Indexing with a Mask selects where it is 1.0, as a bool tensor does
    in PyTorch (lamina has only float64; arithmetic on a Mask gives a plain Tensor)."""

    __slots__ = ()


def _read_as(tensor, shape, what):
    """`tensor` in `shape` when they differ only by leading 1s ((1, n) for (n,)), as broadcasting allows."""
    if tensor.shape == shape:
        return tensor
    if _without_leading_ones(tensor.shape) != _without_leading_ones(shape):
        raise ShapeError(f"cannot {what} a {tensor.shape} tensor into a {shape} one")
    return tensor.reshape(shape)


def _without_leading_ones(shape):
    return shape[next((i for i, n in enumerate(shape) if n != 1), len(shape)):]


def _stored_as(tensor, padded):
    """A tensor's storage laid out for `padded`, its shape with leading 1s, for broadcasting."""
    rows, cols = storage_shape(padded)
    data = tensor.data
    return data if tensor.backend.shape(data) == (rows, cols) else tensor.backend.reshape(data, rows, cols)


def _positions(index, count, what):
    """(positions, single) from an int, a slice, a list of ints or bools, a Mask or an index tensor."""
    if isinstance(index, Mask):
        index = [v != 0.0 for v in index.reshape(-1).tolist()]
    elif isinstance(index, Tensor):
        index = int(index.item()) if not index.shape else [int(v) for v in index.reshape(-1).tolist()]
    if isinstance(index, slice):
        return range(*index.indices(count)), False
    single = not isinstance(index, (list, tuple, range))
    index = [index] if single else list(index)
    if index and all(type(i) is bool for i in index):
        if len(index) != count:
            raise IndexError(f"a mask of {len(index)} values cannot select from {count} {what}s")
        return [i for i, keep in enumerate(index) if keep], False
    bad = [i for i in index if isinstance(i, bool) or not isinstance(i, int) or not -count <= i < count]
    if bad:
        raise IndexError(f"{what} indices {bad[:5]} are not valid for {count} {what}s")
    return [i % count for i in index], single


class Parameter(Tensor):
    """A tensor the optimizer updates; `grad` accumulates across backward calls until zeroed."""

    __slots__ = ("grad",)

    def __init__(self, value):
        value = value if isinstance(value, Tensor) else tensor(value)
        super().__init__(value.data, value.backend, value.shape)
        self.grad = None

    def accumulate_grad(self, grad):
        grad = _read_as(grad, self.shape, "accumulate a gradient of")
        self.grad = grad if self.grad is None else self.grad + grad


class Buffer(Tensor):
    """State a module saves and loads but does not learn (running statistics, counters)."""

    __slots__ = ()

    def __init__(self, value):
        value = value if isinstance(value, Tensor) else tensor(value)
        super().__init__(value.data, value.backend, value.shape)


def tensor(values):
    """A float64 tensor from nested lists of numbers of any depth, a number, a numpy array (kept
    without a copy where the backend can: numpy checks its numbers, not lamina element by element)
    or anything with `.tolist()`; its shape is PyTorch's for the same values."""
    if isinstance(values, Tensor):  # a copy, on the current backend
        moved = values.to(get_backend())
        return moved if moved is not values else values.clone()
    backend = get_backend()
    if hasattr(values, "dtype") and hasattr(values, "reshape") and values.dtype.kind in "biuf":
        table = values.reshape(storage_shape(values.shape))
        take_array = getattr(backend, "from_array", None)  # an optional kernel (lamina.backend)
        return Tensor(take_array(table) if take_array else backend.from_rows(table.astype(float).tolist()),
                      backend, values.shape)
    shape, flat = nested(values.tolist() if hasattr(values, "tolist") else values)
    return Tensor(backend.from_rows(chunk(flat, storage_shape(shape)[1])), backend, shape)


def zeros_like(other):
    """Zeros of `other`'s shape on `other`'s backend."""
    return Tensor(other.backend.full(*storage_shape(other.shape), 0.0), other.backend, other.shape)
