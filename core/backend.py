"""What a backend is: the kernels a Tensor calls, over storage the backend chooses.

A Tensor holds its backend and an opaque `data` value (a list of rows for pure Python, an ndarray
for numpy). Every kernel takes and returns that storage; "scalar" arguments are Python numbers.
Model code only ever calls Tensor methods, so switching backends changes no model code.

Besides the kernels below, a backend may offer an optional fused kernel. Its caller looks it up
with `getattr(backend, name, None)` and, where there is none, runs the same step as Tensor
operations (a subclass opts out of its parent's by setting it to None):

- `adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, step)`:
  one Adam step in fewer passes, returning the new (param, exp_avg, exp_avg_sq, max_exp_avg_sq,
  the last None without amsgrad). It must give exactly the numbers of Adam's Tensor-op update
  (tests/test_fused_adam.py holds every backend that has it to that).
"""

from __future__ import annotations


class Backend:
    """The kernel interface. Shapes are always 2-D: (rows, columns)."""

    name = "abstract"

    # --- moving data in and out -------------------------------------------------------------
    def from_rows(self, rows):
        """Storage from a rectangular list of lists of floats (already validated)."""
        raise NotImplementedError

    def to_rows(self, a):
        """A fresh list of lists of Python floats."""
        raise NotImplementedError

    def shape(self, a):
        raise NotImplementedError

    def full(self, rows, cols, value):
        raise NotImplementedError

    def copy(self, a):
        raise NotImplementedError

    # --- element-wise -----------------------------------------------------------------------
    # Binary kernels broadcast a (1, n) row, an (n, 1) column or a Python number against a matrix.
    def add(self, a, b):
        raise NotImplementedError

    def sub(self, a, b):
        raise NotImplementedError

    def mul(self, a, b):
        raise NotImplementedError

    def div(self, a, b):
        raise NotImplementedError

    def pow(self, a, exponent):
        raise NotImplementedError

    def maximum(self, a, b):
        raise NotImplementedError

    def minimum(self, a, b):
        raise NotImplementedError

    def compare(self, a, b, op):
        """1.0 where `a op b` holds, else 0.0; op is one of '>', '>=', '<', '<=', '==', '!='."""
        raise NotImplementedError

    def where(self, mask, a, b):
        """a where mask is non-zero, else b; each may broadcast."""
        raise NotImplementedError

    # Fused updates with PyTorch's semantics and operation order, so optimizers written with
    # them take one pass instead of three and agree with PyTorch to the last bit.
    def lerp(self, a, b, weight):
        """a + weight * (b - a) for weight < 0.5, else b - (b - a) * (1 - weight)."""
        raise NotImplementedError

    def addcmul(self, a, t1, t2, value):
        """a + (value * t1) * t2."""
        raise NotImplementedError

    def addcdiv(self, a, t1, t2, value):
        """a + (value * t1) / t2."""
        raise NotImplementedError

    def unary(self, a, fn_name):
        """Apply one of: neg, exp, log, log1p, tanh, sqrt, abs, sign, erf, sigmoid."""
        raise NotImplementedError

    def clamp(self, a, low, high):
        raise NotImplementedError

    def apply(self, a, fn):
        """A Python function per element: the general but slow path."""
        raise NotImplementedError

    # --- shape and reductions ---------------------------------------------------------------
    def transpose(self, a):
        raise NotImplementedError

    def sum(self, a, dim):
        """dim None gives a Python float; dim 0 a (1, n) row; dim 1 an (n, 1) column."""
        raise NotImplementedError

    def max(self, a, dim):
        raise NotImplementedError

    def min(self, a, dim):
        raise NotImplementedError

    def argmax(self, a, dim):
        raise NotImplementedError

    def take_rows(self, a, indices):
        raise NotImplementedError

    def concat_rows(self, parts):
        raise NotImplementedError

    def gather_columns(self, a, indices):
        """An (n, 1) column: a[i, indices[i]] for each row i."""
        raise NotImplementedError

    def one_hot(self, indices, num_classes):
        raise NotImplementedError

    # --- linear algebra ---------------------------------------------------------------------
    def matmul(self, a, b):
        raise NotImplementedError
