"""The numpy backend: the same kernels as the pure-Python one, over 2-D float64 (or float32) ndarrays.

numpy is optional (`pip install lamina[numpy]`): this module imports without it, and only
building the backend (`lamina.set_backend("numpy")`) needs it. The kernels compute each element
with the same operations in the same order as `lamina.pure_python`, so element-wise arithmetic and
the fused optimizer updates give identical numbers; transcendental functions, sums and dot
products agree to rounding (numpy sums pairwise and calls its own exp, log and tanh).

New storage is float64 unless `lamina.set_default_dtype("float32")` chose float32; an array that
comes in (`from_array`) keeps its float dtype, and every kernel's result keeps its inputs' dtype.

Kernels never modify an array in place: a Tensor's in-place methods rebind its storage, so
arrays may be shared (a transpose is a view) without one tensor changing another. The one
exception is the optimizer's: `adam_step` writes into the parameter and moment arrays it is given,
which Adam makes views of one flat array per parameter group (`join_flat`, `views_of_flat`), so
that a whole group steps in one pass of a dozen numpy calls.
"""

from __future__ import annotations

import math
import operator

import lamina
from lamina.backend import Backend
from lamina.errors import LaminaError
from lamina.performance.dtypes import get_default_dtype


_ravel = operator.methodcaller("ravel")


class MissingNumpyError(LaminaError, ImportError):
    """The numpy backend was asked for, but numpy is not installed."""


def _import_numpy():
    try:
        import numpy
    except ImportError:
        raise MissingNumpyError(
            "the numpy backend needs numpy, which is not installed: pip install numpy threadpoolctl "
            "(or, in a lamina checkout, pip install -e '.[numpy]')"
        ) from None
    return numpy


class NumpyBackend(Backend):
    """Tensors as 2-D float64 (or float32) numpy arrays; the same results as pure Python, faster at scale."""

    name = "numpy"

    def __init__(self):
        np = self.np = _import_numpy()
        # The same BLAS product as a @ b, with less overhead per call on small matrices; ndarray's own
        # C method, called with no Python frame (np.dot runs a Python dispatcher first).
        self.matmul = np.ndarray.dot
        self._indices = {}  # id of a patch index list -> what _index makes of it
        self._scratch = {}  # (shape, dtype) -> Adam's two work arrays, reused: no allocation per step
        self._dtype_names = {np.dtype(name): name for name in ("float32", "float64")}
        self._compare = {
            ">": np.greater, ">=": np.greater_equal, "<": np.less,
            "<=": np.less_equal, "==": np.equal, "!=": np.not_equal,
        }
        # erf is not a numpy ufunc: math.erf per element, as the pure-Python kernel does.
        erf = np.frompyfunc(math.erf, 1, 1)
        self._unary = {
            "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p,
            "tanh": np.tanh, "sqrt": np.sqrt, "abs": np.abs,
            "sign": lambda a: np.sign(a) + 0.0,  # + 0.0 turns sign(-0.0) into 0.0, as in Python
            "erf": lambda a: erf(a).astype(a.dtype),
            "sigmoid": self._sigmoid,
        }

    # --- moving data in and out -------------------------------------------------------------
    def from_rows(self, rows):
        return self.np.array(rows, dtype=get_default_dtype())

    def from_array(self, array):
        # The caller's array itself when it already is C-contiguous float64 or float32: data comes in
        # without a copy (and, as with torch.from_numpy, shares memory with it). Integers and booleans
        # become the default dtype, as torch.tensor makes them its default float dtype.
        keeps_its_dtype = array.dtype.name in ("float32", "float64")
        return self.np.ascontiguousarray(array, dtype=array.dtype if keeps_its_dtype else get_default_dtype())

    def to_rows(self, a):
        return a.tolist()

    # The kernels a training step calls most are C functions rather than methods that call them: a
    # Python frame costs about as much as numpy's own work on a 16 x 16 array.
    shape = staticmethod(operator.attrgetter("shape"))

    def full(self, rows, cols, value):
        return self.np.full((rows, cols), float(value), dtype=get_default_dtype())

    def copy(self, a):
        return a.copy()

    def dtype(self, a):
        return self._dtype_names[a.dtype]  # a dict lookup: dtype.name is costly enough to show in a step

    def astype(self, a, dtype):
        return a.astype(dtype)

    # --- element-wise -----------------------------------------------------------------------
    # ndarray operators broadcast rows, columns and numbers exactly as the interface asks.
    add, sub = staticmethod(operator.add), staticmethod(operator.sub)
    mul, div = staticmethod(operator.mul), staticmethod(operator.truediv)

    def pow(self, a, exponent):
        if exponent == 2:
            return a * a  # as the pure-Python kernel: exact, and cheaper than pow
        return self.np.power(a, float(exponent))

    def maximum(self, a, b):
        return self.np.maximum(a, b)

    def minimum(self, a, b):
        return self.np.minimum(a, b)

    def compare(self, a, b, op):
        # The mask in its operands' dtype, so that multiplying by it keeps a float32 gradient float32.
        return self._compare[op](a, b).astype(a.dtype if type(a) is self.np.ndarray else b.dtype)

    def where(self, mask, a, b):
        # np.where reads a float mask as "non-zero", broadcasts all three and keeps a's and b's dtype
        return self.np.where(mask, a, b)

    def adam_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, step):
        # In place, through one scratch array and one update array: each element still goes through
        # the readable update's operations in its order (so fused and unfused Adam stay identical),
        # without the dozen full-size temporaries that the same update written as expressions makes.
        np = self.np
        scratch, update = self._work_arrays(param)
        np.subtract(grad, exp_avg, out=scratch)
        scratch *= 1.0 - beta1
        exp_avg += scratch  # m + (g - m) (1 - beta1)
        np.multiply(grad, 1.0 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq *= beta2
        exp_avg_sq += scratch  # v beta2 + ((1 - beta2) g) g
        if max_exp_avg_sq is not None:
            np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
        np.sqrt(second, out=scratch)
        scratch /= (1.0 - beta2 ** step) ** 0.5
        scratch += eps  # the denominator
        np.multiply(exp_avg, -(lr / (1.0 - beta1 ** step)), out=update)
        update /= scratch
        param += update
        return param, exp_avg, exp_avg_sq, max_exp_avg_sq

    def log_softmax(self, a):
        # Backend's composition of kernels, its temporaries reused in place: the same numbers.
        shifted = a - self.max(a, 1)
        totals = self.sum(self.np.exp(shifted), 1)
        shifted -= self.np.log(totals, out=totals)
        return shifted

    def _work_arrays(self, like):
        """Two arrays shaped like `like`, the same ones on every step: a fresh multi-megabyte array
        each step costs page faults that show in the step's CPU time."""
        key = (like.shape, like.dtype)
        if key not in self._scratch:
            if len(self._scratch) >= 16:  # models come and go in one process: keep it bounded
                self._scratch.clear()
            self._scratch[key] = (self.np.empty_like(like), self.np.empty_like(like))
        return self._scratch[key]

    def join_flat(self, arrays):
        # (optional) One 1-D array of the arrays' values in turn: Adam steps a whole group at once
        # over such arrays (plugins/optimizers.py, FlatAdamGroup).
        return self.np.concatenate(list(map(_ravel, arrays)))  # map, not a comprehension: no Python frame

    def views_of_flat(self, flat, shapes):
        # (optional) Views of the 1-D `flat`, one per (rows, cols) shape in turn: writing into `flat`
        # in place changes every view, and the views are C-contiguous arrays like any other storage.
        views, start = [], 0
        for rows, cols in shapes:
            views.append(flat[start:start + rows * cols].reshape(rows, cols))
            start += rows * cols
        return views

    def _sigmoid(self, a):
        # 1/(1+e^-v) in four passes over one array (predicting 10,000 rows is a few such passes in
        # all). It is accurate to a few ulps for every v: for v below -709, e^-v overflows to inf and
        # 1/(1+inf) is 0, the value's limit (pure Python's e^v/(1+e^v) gives a subnormal there, at
        # most 1.2e-308 away), so only numpy's overflow warning is silenced.
        np = self.np
        out = np.negative(a)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1.0
        return np.divide(1.0, out, out=out)

    def unary(self, a, fn_name):
        return self._unary[fn_name](a)

    def clamp(self, a, low, high):
        if high is None:
            return self.np.maximum(a, low)
        if low is None:
            return self.np.minimum(a, high)
        return self.np.minimum(self.np.maximum(a, low), high)

    # --- shape and reductions ---------------------------------------------------------------
    transpose = staticmethod(operator.attrgetter("T"))

    # The reductions call the ufuncs' `reduce` directly: ndarray.sum and .max go through a Python
    # wrapper, a frame that costs as much as reducing a batch of logits. Along the rows of a tall,
    # narrow array numpy reduces one short row at a time, slowly; the columns of its contiguous
    # transpose reduce in one pass over memory, to the same values (numpy adds fewer than 8 values
    # left to right whichever way it reduces them).
    def sum(self, a, dim):
        if dim is None:
            return float(self.np.add.reduce(a, axis=None))
        if dim == 1 and a.shape[1] < 8 and a.shape[0] > 64:  # tall and narrow
            return self.np.add.reduce(self.np.ascontiguousarray(a.T), axis=0).reshape(-1, 1)
        return self.np.add.reduce(a, axis=dim, keepdims=True)

    def max(self, a, dim):
        if dim is None:
            return float(self.np.maximum.reduce(a, axis=None))
        if dim == 1 and a.shape[1] < 32 and a.shape[0] > 64:  # tall and narrow
            return self.np.maximum.reduce(self.np.ascontiguousarray(a.T), axis=0).reshape(-1, 1)
        return self.np.maximum.reduce(a, axis=dim, keepdims=True)

    def min(self, a, dim):
        if dim is None:
            return float(self.np.minimum.reduce(a, axis=None))
        if dim == 1 and a.shape[1] < 32 and a.shape[0] > 64:  # tall and narrow
            return self.np.minimum.reduce(self.np.ascontiguousarray(a.T), axis=0).reshape(-1, 1)
        return self.np.minimum.reduce(a, axis=dim, keepdims=True)

    def argmax(self, a, dim):
        # numpy, like list.index(max(...)), picks the first of equal maxima
        return a.argmax(axis=dim).astype(self.np.float64).reshape((1, -1) if dim == 0 else (-1, 1))

    def reshape(self, a, rows, cols):
        return a.reshape(rows, cols)  # a view when the layout allows, as the kernels share arrays

    def unfold(self, a, index, width):
        positions, reads_padding = self._index(index)[1:3]
        if reads_padding:  # index -1 reads the zero column added last
            a = self.np.concatenate([a, self.np.zeros((a.shape[0], 1), a.dtype)], axis=1)
        return a.take(positions, axis=1).reshape(-1, width)  # take: a C-ordered copy, at a quarter of a[:, i]'s cost

    def fold(self, a, index, cols):
        np, cached = self.np, self._index(index)
        rows = a.size // len(cached[1])
        if cached[3] is None or cached[3][0] != (rows, cols):
            # Where each patch value lands in the flattened (rows, cols + 1) result; -1 reads land
            # in the extra column, dropped at the end. Made once per batch size.
            where = np.arange(rows)[:, None] * (cols + 1) + np.where(cached[1] < 0, cols, cached[1])
            cached[3] = ((rows, cols), where.ravel())
        summed = np.bincount(cached[3][1], weights=a.ravel(), minlength=rows * (cols + 1))  # float64 sums
        return summed.reshape(rows, cols + 1)[:, :cols].astype(a.dtype, copy=False)

    def _index(self, index):
        """[the list, its array, whether it reads padding, fold's landing places]: made once per
        index list (a layer keeps its list)."""
        cached = self._indices.get(id(index))
        if cached is None or cached[0] is not index:
            if len(self._indices) >= 256:  # lists made per call (permute, x[:, j]) must not pile up
                self._indices.clear()
            positions = self.np.asarray(index, dtype=self.np.intp)
            cached = self._indices[id(index)] = [index, positions, bool((positions < 0).any()), None]
        return cached

    def take_rows(self, a, indices):
        if isinstance(indices, range) and indices.step == 1:
            return a[indices.start:indices.stop].copy()
        return a.take(indices, axis=0)  # a copy, like fancy indexing, at half its cost

    def concat_rows(self, parts):
        return self.np.concatenate(parts, axis=0)

    # --- linear algebra ---------------------------------------------------------------------
    def matmul(self, a, b):
        return a.dot(b)  # (the instance's own matmul is ndarray.dot itself: see __init__)


@lamina.hookimpl
def lamina_register_backends():
    return [("numpy", NumpyBackend, "2-D float64 or float32 numpy arrays (pip install lamina[numpy])")]
