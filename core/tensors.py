"""Tensor: float64 values of PyTorch's shape, held as a 2-D table whose arithmetic a backend does:
each row holds the dimensions after the first, flattened in row-major order, so a (N, C, H, W)
batch of images is N rows of C*H*W values and a (F,) bias one row of F (core/shapes.py).
`Parameter` is a Tensor a model learns (it carries `.grad`); `Buffer` is one a model keeps in its
state dict but does not learn (BatchNorm's running statistics)."""

from __future__ import annotations

import math
from collections import namedtuple

from .backend import common_backend, get_backend, mixed_backends, resolve_backend, same_backend
from .errors import ShapeError
from .shapes import (broadcast_shape, dim_index, is_number, nest, permutation, positions, read_as, resolve_shape,
                     storage_shape, stored_as)


def _unary(name):
    def function(self):
        return Tensor(self.backend.unary(self.data, name), self.backend, self.shape)

    function.__name__ = name
    return function


def _binary(kernel, op, swap=False, comparison=None):
    """A method giving the backend's `kernel`(self, other), or swapped, broadcast as PyTorch ((F,) and
    (N, 1) against (N, F): as stored); a Mask for a `comparison` (the kernel's op: ">", "==", ...)."""

    def method(self, other):
        shape, data = self.shape, self.data
        if type(other) is float:  # the common case first: this runs for every operation
            operand = other
        elif isinstance(other, Tensor):
            if other.backend is not self.backend and not same_backend(other.backend, self.backend):
                raise mixed_backends(op, self.backend, other.backend)
            operand = other.data
            if other.shape != shape and not (len(shape) == 2 and other.shape in (shape[1:], (shape[0], 1))):
                shape, mine, theirs = broadcast_shape(shape, other.shape, op)
                data, operand = stored_as(self, mine, shape), stored_as(other, theirs, shape)
        elif is_number(other):
            operand = float(other)
        else:
            raise TypeError(f"cannot {op} a lamina Tensor and {type(other).__name__}")
        left, right = (operand, data) if swap else (data, operand)
        if comparison is None:
            return Tensor(getattr(self.backend, kernel)(left, right), self.backend, shape)
        return Mask(self.backend.compare(left, right, comparison), self.backend, shape)

    return method


def _comparison(op):
    return _binary("compare", "compare", comparison=op)


def _in_place(out_of_place, op):
    def method(self, other):
        result = out_of_place(self, other)
        if result.shape != self.shape:
            raise ShapeError(f"cannot {op} a {other.shape} tensor into a {self.shape} one in place")
        self.data = result.data
        return self

    return method


def _cast(dtype):  # a method giving the tensor in `dtype`: itself if it already is, else a copy
    return lambda self: self if self.dtype == dtype else self._wrap(self.backend.astype(self.data, dtype))


Reduced = namedtuple("Reduced", "values indices")


class Tensor:
    """float64 values of PyTorch's `shape`, held as the backend's 2-D table."""

    __slots__ = ("data", "backend", "shape", "origin", "requires_grad")  # the last two: see Sequential.backward
    __hash__ = object.__hash__  # by identity: optimizer state is keyed by Parameter, and == compares values

    def __init__(self, data, backend=None, shape=None):
        """Wrap backend storage; use `lamina.tensor(values)` to build one from Python values."""
        self.data = data
        self.backend = backend if backend is not None else get_backend()
        self.shape = shape if type(shape) is tuple else self.backend.shape(data) if shape is None else tuple(shape)

    # --- what it is -------------------------------------------------------------------------
    def dim(self):
        return len(self.shape)

    ndim = property(dim)

    def numel(self):
        return math.prod(self.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim_index(dim, self.dim())]

    def tolist(self):
        """PyTorch's nested lists: one level per dimension, a float for a 0-d tensor."""
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
        return self._wrap(self.backend.copy(self.data))

    def to(self, backend):
        """This tensor on `backend` (a name such as "numpy", or a Backend): itself if it is
        already there, else a copy, as torch's `.to(device)`."""
        if backend is self.backend:  # its own backend object: no lookup (losses move targets every step)
            return self
        backend = resolve_backend(backend)
        if same_backend(backend, self.backend):
            return self
        return Tensor(backend.from_rows(self.backend.to_rows(self.data)), backend, self.shape)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        if self.dim() < 2 or len(self) <= 6:
            return f"tensor({self.tolist()!r})"
        return f"tensor({repr(self[:3].tolist())[:-1]}, ...], shape={self.shape})"  # the first rows only

    def _wrap(self, data):  # storage a kernel made from this tensor's, read in its shape
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
        return self.reshape(self.shape[:dim] + resolve_shape(tuple(sizes), self.shape[dim]) + self.shape[dim + 1:])

    def permute(self, *dims):
        """The dimensions after the first reordered (the rows stay rows): (N, L, C) -> (N, C, L)."""
        shape, reads = permutation(self.shape, dims[0] if len(dims) == 1 else dims)
        return self.unfold_patches(reads, len(reads)).reshape(shape)

    def unfold_patches(self, index, width):
        """Patches as rows: every row's values read at `index` (row positions; -1 reads a 0.0), cut
        into rows of `width`. A (N, D) tensor and L*width positions give (N*L, width), one row per
        patch, sample by sample. This is im2col: convolution and pooling compute `index`."""
        rows = self.shape[0] if self.dim() > 1 else 1
        return Tensor(self.backend.unfold(self.data, index, width), self.backend, (rows * len(index) // width, width))

    def fold_patches(self, index, shape):
        """unfold_patches' adjoint: each patch value added back into the position it was read from,
        giving a tensor of `shape` (col2im). Conv's backward folds the gradient of its patches."""
        return Tensor(self.backend.fold(self.data, index, storage_shape(shape)[1]), self.backend, shape)

    # --- indexing: x[i], x[a:b], x[[i, j]], x[mask], x[:, j], x[:, a:b] ----------------------
    def __getitem__(self, index):
        if isinstance(index, tuple):
            if len(index) != 2 or index[0] != slice(None):
                raise IndexError("lamina indexes rows (x[i], x[a:b], x[[i, j]], x[mask]) and columns "
                                 f"(x[:, j], x[:, a:b]), got {index!r}")
            return self._columns(index[1])
        if self.dim() < 2:  # a (F,) tensor's items are the rows of it read as a column
            if not self.shape:
                raise IndexError("a 0-d tensor cannot be indexed; use .item()")
            picked = self.reshape(-1, 1)[index]
            return picked.reshape(-1) if picked.dim() == 2 else picked.reshape(())
        found, single = positions(_index_values(index), self.shape[0], "row")
        taken = self.backend.take_rows(self.data, found)
        return self._shaped(taken, self.shape[1:] if single else (len(found),) + self.shape[1:])

    def _columns(self, index):
        if self.dim() < 2:
            raise IndexError(f"x[:, j] needs at least 2 dimensions, this tensor has shape {self.shape}")
        found, single = positions(_index_values(index), self.shape[1], "column")
        inner = math.prod(self.shape[2:])  # a column of a (N, C, H, W) tensor is a channel: H*W values
        reads = [p * inner + k for p in found for k in range(inner)]
        rest = self.shape[2:] if single else (len(found),) + self.shape[2:]
        return self.unfold_patches(reads, len(reads)).reshape(self.shape[:1] + rest)

    # --- element-wise arithmetic ------------------------------------------------------------
    __add__ = __radd__ = _binary("add", "add")
    __sub__, __rsub__ = _binary("sub", "subtract"), _binary("sub", "subtract", swap=True)
    __mul__ = __rmul__ = _binary("mul", "multiply")
    __truediv__, __rtruediv__ = _binary("div", "divide"), _binary("div", "divide", swap=True)
    maximum, minimum = _binary("maximum", "compare"), _binary("minimum", "compare")

    def __pow__(self, exponent):
        if not is_number(exponent):
            raise TypeError("a tensor's exponent must be a number")
        return Tensor(self.backend.pow(self.data, exponent), self.backend, self.shape)

    __neg__ = _unary("neg")

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
        if len(self.shape) != 2:
            raise ShapeError(f".T takes a 2-D tensor, this one has shape {self.shape}")
        return Tensor(self.backend.transpose(self.data), self.backend, self.shape[::-1])

    def _reduce(self, kernel, dim, keepdim):
        """kernel along `dim`, the storage read as (before, along) or (along, after) so that the
        backend reduces its rows or its columns (a middle dim is moved last first)."""
        shape = self.shape
        if type(dim) is not int or not -len(shape) <= dim < max(len(shape), 1):
            dim_index(dim, len(shape))  # raises, naming the dim
        d = dim % max(len(shape), 1)
        kept = shape[:d] + ((1,) if keepdim and shape else ()) + shape[d + 1:]
        if len(shape) == 2:  # the storage as it is: its columns (dim 0: a (1, F) row reads as (F,)) or rows
            return Tensor(kernel(self.data, d), self.backend, kept) if d == 0 or keepdim else \
                self._shaped(kernel(self.data, d), kept)
        before, along, after = math.prod(shape[:d]), math.prod(shape[d:d + 1]), math.prod(shape[d + 1:])
        if after == 1 or before == 1:
            result = kernel(self.backend.reshape(self.data, before, along), 1) if after == 1 else \
                kernel(self.backend.reshape(self.data, along, after), 0)
        else:  # a middle dimension: moved last, where it is each row's values
            moved = self.permute(*[i for i in range(len(shape)) if i != d], d)
            result = kernel(self.backend.reshape(moved.data, before * after, along), 1)
        return Tensor(result, self.backend, kept) if len(kept) == 2 else self._shaped(result, kept)

    def sum(self, dim=None, keepdim=False):
        """Along `dim` as PyTorch. With no dim lamina returns a Python float, not a 0-d tensor: a loss
        is a number, and every total in lamina is read as one."""
        if dim is None:
            return self.backend.sum(self.data, None)
        if type(dim) is int and dim == 0 and len(self.shape) == 2 and not keepdim:  # a bias's gradient
            return Tensor(self.backend.sum(self.data, 0), self.backend, self.shape[1:])
        return self._reduce(self.backend.sum, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        count = self.numel() if dim is None else self.shape[dim_index(dim, self.dim())] if self.shape else 1
        return self.sum(dim, keepdim) / count

    def amax(self, dim=None, keepdim=False):  # with no dim, a float (as `sum`)
        return self.backend.max(self.data, None) if dim is None else self._reduce(self.backend.max, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return self.backend.min(self.data, None) if dim is None else self._reduce(self.backend.min, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        """Indices (as floats) of the largest values; with no dim, into the flattened tensor."""
        return self.reshape(-1).argmax(0) if dim is None else self._reduce(self.backend.argmax, dim, keepdim)

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
        if type(dim) is int and dim in (1, -1) and len(self.shape) == 2:  # each row's: the kernels fused
            return self._wrap(self.backend.log_softmax(self.data))
        dim_index(dim, self.dim())
        shifted = self - self.amax(dim, keepdim=True)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    def softmax(self, dim):
        """exp(x) / sum(exp(x)) along dim, after subtracting the maximum so exp never overflows."""
        dim_index(dim, self.dim())
        powers = (self - self.amax(dim, keepdim=True)).exp()
        return powers / powers.sum(dim, keepdim=True)

    # --- in place (optimizers update parameters through these) ------------------------------
    add_, sub_, mul_ = _in_place(__add__, "add"), _in_place(__sub__, "subtract"), _in_place(__mul__, "multiply")

    def copy_(self, other):
        """Overwrite with `other`'s values, kept on this tensor's backend and in its dtype, as torch's."""
        backend, dtype = self.backend, self.dtype
        if isinstance(other, Tensor):
            data = backend.copy(read_as(other, self.shape, "copy").to(backend).data)
        else:
            data = backend.full(*storage_shape(self.shape), other)
        self.data = data if backend.dtype(data) == dtype else backend.astype(data, dtype)
        return self

    def zero_(self):
        return self.copy_(0.0)

    # --- dtype: float64, or float32 on a backend that has it (lamina.set_default_dtype) -----
    dtype = property(lambda self: self.backend.dtype(self.data))
    float, double = _cast("float32"), _cast("float64")  # torch's .float() and .double()


class Mask(Tensor):
    """A comparison's 1.0s and 0.0s: indexing with it selects where it is 1.0, as a bool tensor does."""

    __slots__ = ()


def _index_values(index):
    """An index given as a tensor, as Python values: a Mask's truth values, a tensor's integers."""
    if isinstance(index, Mask):
        return [v != 0.0 for v in index.reshape(-1).tolist()]
    if isinstance(index, Tensor):
        return int(index.item()) if not index.shape else [int(v) for v in index.reshape(-1).tolist()]
    return index


class Parameter(Tensor):
    """A tensor the optimizer updates; `grad` accumulates across backward calls until zeroed."""

    __slots__ = ("grad",)

    def __init__(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Parameter takes a lamina Tensor, got {type(value).__name__}: use lamina.tensor(values)")
        super().__init__(value.data, value.backend, value.shape)
        self.grad = None

    def accumulate_grad(self, grad):
        if grad.shape != self.shape:
            grad = read_as(grad, self.shape, "accumulate a gradient of")
        self.grad = grad if self.grad is None else self.grad + grad


class Buffer(Tensor):
    """State a module saves and loads but does not learn (running statistics, counters)."""

    __slots__ = ()

    def __init__(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Buffer takes a lamina Tensor, got {type(value).__name__}: use lamina.tensor(values)")
        super().__init__(value.data, value.backend, value.shape)


def zeros_like(other):
    """Zeros of `other`'s shape, backend and dtype."""
    zeros = Tensor(other.backend.full(*other.backend.shape(other.data), 0.0), other.backend, other.shape)
    return zeros if zeros.dtype == other.dtype else zeros.float() if other.dtype == "float32" else zeros.double()
