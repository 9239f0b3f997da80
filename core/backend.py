"""What a backend is: the kernels a Tensor calls, over storage the backend chooses; and which
backend new tensors use (`set_backend`), as PyTorch's device.

A Tensor holds its backend and an opaque `data` value (a list of rows for pure Python, an ndarray
for numpy). Every kernel takes and returns that storage, always 2-D (rows, columns) whatever shape
the Tensor reads it as; "scalar" arguments are Python numbers. Model code only ever calls Tensor
methods, so switching backends changes no model code. The reference kernels are lamina.pure_python.

A backend may also offer optional kernels, which their callers look up with `getattr(backend, name,
None)`, doing the same work another way where there is none: `from_array(array)` takes a 2-D
numpy array of numbers in (without a copy, where it can); `adam_step(param, grad, exp_avg,
exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, step)` returns Adam's new (param, exp_avg,
exp_avg_sq, max_exp_avg_sq) with exactly the numbers of its readable update (tests/test_fused_adam.py).
"""

from __future__ import annotations

from .component import registry
from .errors import BackendError

# Binary kernels broadcast a (1, n) row, an (n, 1) column or a Python number against a matrix.
KERNELS = {
    # moving data in and out
    "from_rows": "(rows) storage from a rectangular list of lists of floats (already validated)",
    "to_rows": "(a) a fresh list of lists of Python floats",
    "shape": "(a) (rows, columns)",
    "full": "(rows, cols, value) every element `value`",
    "copy": "(a) a copy that shares nothing with `a`",
    "dtype": "(a) the dtype of its values, \"float64\" or \"float32\" (lamina.set_default_dtype)",
    "astype": "(a, dtype) `a` in the other dtype (Tensor.float/.double never ask for the one it has)",
    # element-wise
    "add": "(a, b) a + b",
    "sub": "(a, b) a - b (either may be a number)",
    "mul": "(a, b) a * b",
    "div": "(a, b) a / b (either may be a number)",
    "pow": "(a, exponent) a ** exponent, the exponent a number",
    "maximum": "(a, b) the larger of each pair",
    "minimum": "(a, b) the smaller of each pair",
    "compare": "(a, b, op) 1.0 where `a op b` holds, else 0.0; op one of > >= < <= == !=",
    "where": "(mask, a, b) a where mask is non-zero, else b; each may broadcast",
    "unary": "(a, name) one of neg, exp, log, log1p, tanh, sqrt, abs, sign, erf, sigmoid",
    "clamp": "(a, low, high) each element into [low, high]; either bound may be None",
    # shape and reductions
    "transpose": "(a) rows become columns",
    "sum": "(a, dim) dim None: a Python float; 0: a (1, n) row; 1: an (n, 1) column",
    "max": "(a, dim) as sum",
    "min": "(a, dim) as sum",
    "argmax": "(a, dim) the index of each maximum, as a float, shaped as sum's result",
    "reshape": "(a, rows, cols) the same values in row-major order, re-chunked into rows of cols",
    "take_rows": "(a, indices) the rows at these indices, in order",
    "unfold": "(a, index, width) each row read at `index` (-1 reads 0.0), cut into rows of `width`: im2col",
    "fold": "(a, index, cols) unfold's adjoint: rows of `cols`, each value added where unfold read it",
    "concat_rows": "(parts) the rows of each part, one after another",
    "log_softmax": "(a) each row less the log of the sum of its exps, shifted by its max (Backend composes it)",
    # linear algebra
    "matmul": "(a, b) the matrix product",
}


class Backend:
    """The kernel interface: a backend is a subclass that implements every kernel in KERNELS
    (checked when the subclass is defined, so a missing one fails at import, by name)."""

    name = "abstract"

    def __init_subclass__(cls, **options):
        super().__init_subclass__(**options)
        missing = [kernel for kernel in KERNELS if not callable(getattr(cls, kernel, None))]
        if missing:
            raise TypeError(f"backend {cls.__name__} does not implement the kernels {', '.join(missing)}")

    def log_softmax(self, a):
        shifted = self.sub(a, self.max(a, 1))
        return self.sub(shifted, self.unary(self.sum(self.unary(shifted, "exp"), 1), "log"))


_backend = None  # set_backend's choice; until then, found on first use by get_backend


def get_backend():
    """The backend new tensors use: set_backend's choice, else the registered "python" backend
    (plugins/python_backend.py, the fast twin of the reference kernels in lamina.pure_python)."""
    global _backend
    if _backend is None:
        _backend = registry().create("backends", "python")
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


def mixed_backends(op, left, right):
    return BackendError(f"cannot {op} a {left.name} tensor and a {right.name} tensor: convert one with "
                        f".to({left.name!r}) or .to({right.name!r}) (lamina.set_backend only applies to "
                        "tensors created after it)")


def same_backend(a, b) -> bool:
    """Two backend objects of one kind (a name compares them: each create() makes a new one)."""
    return a is b or a.name == b.name


def common_backend(tensors, op):
    """The backend every tensor shares, or an error naming the two that differ."""
    backend = tensors[0].backend
    for other in tensors[1:]:
        if not same_backend(other.backend, backend):
            raise mixed_backends(op, backend, other.backend)
    return backend
