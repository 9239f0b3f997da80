"""The reference backend: plain Python lists of rows, no numpy, nothing compiled.

Each kernel is written the plain way, as the definition of what it computes. The backend tensors
use by default is its fast twin (plugins/python_backend.py), which overrides the kernels a training
step leans on with quicker ways to the same numbers, and is tested against this one bit for bit.

Arithmetic follows IEEE 754, as numpy and PyTorch do: exp(1000) is inf, 1/0 is inf, 0/0 and
log(-1) are nan. Python raises on those instead, so a kernel that meets one redoes its work
element by element with the IEEE result (only then: the first try stays C-level fast).
"""

from __future__ import annotations

import math
import operator
from itertools import repeat

from .backend import Backend

INF, NAN = math.inf, math.nan
_IEEE_SURPRISES = (ZeroDivisionError, OverflowError, ValueError)

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
            "==": operator.eq, "!=": operator.ne}


def _sign(v):
    return (v > 0.0) - (v < 0.0) + 0.0


def _sigmoid(v):
    # Two branches so that exp never overflows: 1/(1+e^-v) for v >= 0, e^v/(1+e^v) below.
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


_UNARY = {"neg": operator.neg, "exp": math.exp, "log": math.log, "log1p": math.log1p,
          "tanh": math.tanh, "sqrt": math.sqrt, "abs": abs, "sign": _sign, "erf": math.erf,
          "sigmoid": _sigmoid}


def ieee_divide(x, y):
    try:
        return x / y
    except ZeroDivisionError:  # y is 0.0 or -0.0: the sign of infinity comes from both
        return NAN if x == 0.0 or x != x else math.copysign(INF, x) * math.copysign(1.0, y)


def ieee_power(x, y):
    try:
        result = x ** y
    except ZeroDivisionError:  # 0.0 ** negative
        return math.copysign(INF, x) if float(y).is_integer() and y % 2 else INF
    except OverflowError:
        return INF if x > 0.0 or float(y).is_integer() and not y % 2 else -INF
    return NAN if isinstance(result, complex) else result  # (-8.0) ** 0.5


def _ieee(name, function):
    """`function` with the IEEE result where Python raises instead."""

    def safe(v):
        try:
            return function(v)
        except OverflowError:  # exp of a large number
            return INF
        except ValueError:  # outside the domain: log(0) and log1p(-1) are -inf, the rest nan
            at_pole = (name == "log" and v == 0.0) or (name == "log1p" and v == -1.0)
            return -INF if at_pole else NAN

    return safe


def _broadcast(op, a, b):
    """op applied element-wise, stretching a (1, n) row, an (n, 1) column or a number."""
    if not isinstance(b, list):
        return [list(map(op, row, repeat(b, len(row)))) for row in a]
    if not isinstance(a, list):
        return [list(map(op, repeat(a, len(row)), row)) for row in b]
    if len(a) == len(b) and len(a[0]) == len(b[0]):
        return [list(map(op, x, y)) for x, y in zip(a, b)]
    rows, cols = max(len(a), len(b)), max(len(a[0]), len(b[0]))
    left = a if len(a) == rows else repeat(a[0], rows)
    right = b if len(b) == rows else repeat(b[0], rows)
    if len(a[0]) == len(b[0]):
        return [list(map(op, x, y)) for x, y in zip(left, right)]
    if len(a[0]) == 1:
        return [list(map(op, repeat(x[0], cols), y)) for x, y in zip(left, right)]
    return [list(map(op, x, repeat(y[0], cols))) for x, y in zip(left, right)]


def _elementwise(op):
    """A kernel applying `op` to each pair of elements (broadcast as _broadcast says)."""
    return lambda self, a, b: _broadcast(op, a, b)


def _along(reduce):
    """A kernel reducing everything (dim None, to a float), each column (dim 0) or each row (dim 1)."""
    def kernel(self, a, dim):
        if dim is None:
            return float(reduce(map(reduce, a)))
        if dim == 0:
            return [[float(v) for v in map(reduce, zip(*a))]]
        return [[float(reduce(row))] for row in a]

    return kernel


def _pair(x, y):
    return (x, y)


def _pick(mask_value, pair):
    return pair[0] if mask_value else pair[1]


class PurePythonBackend(Backend):
    name = "python"

    def from_rows(self, rows):
        return rows

    def to_rows(self, a):
        return [list(row) for row in a]

    def shape(self, a):
        return (len(a), len(a[0]) if a else 0)

    def full(self, rows, cols, value):
        value = float(value)
        return [[value] * cols for _ in range(rows)]

    def copy(self, a):
        return [row[:] for row in a]

    def dtype(self, a):
        return "float64"  # Python floats are IEEE doubles: the one dtype this backend holds

    def astype(self, a, dtype):
        raise TypeError(f"the pure-Python backend is float64 only, not {dtype}: use lamina.set_backend('numpy')")

    # --- element-wise -----------------------------------------------------------------------
    add, sub, mul = _elementwise(operator.add), _elementwise(operator.sub), _elementwise(operator.mul)
    maximum, minimum = _elementwise(max), _elementwise(min)

    def div(self, a, b):
        try:
            return _broadcast(operator.truediv, a, b)
        except ZeroDivisionError:
            return _broadcast(ieee_divide, a, b)

    def pow(self, a, exponent):
        if exponent == 2:  # squares exactly as x * x, which is what a learner's formula says
            return [[v * v for v in row] for row in a]
        return [[ieee_power(v, exponent) for v in row] for row in a]

    def compare(self, a, b, op):
        # float(True) is 1.0: map(float, ...) turns the booleans into a mask at C level.
        return [list(map(float, row)) for row in _broadcast(_COMPARE[op], a, b)]

    def where(self, mask, a, b):
        pairs = (a, b) if not isinstance(a, list) and not isinstance(b, list) else _broadcast(_pair, a, b)
        return _broadcast(_pick, mask, pairs)

    def unary(self, a, fn_name):
        function = _UNARY[fn_name]
        try:
            return [list(map(function, row)) for row in a]
        except _IEEE_SURPRISES:
            return [list(map(_ieee(fn_name, function), row)) for row in a]

    def clamp(self, a, low, high):
        if high is None:
            return [[low if v < low else v for v in row] for row in a]
        if low is None:
            return [[high if v > high else v for v in row] for row in a]
        return [[low if v < low else high if v > high else v for v in row] for row in a]

    # --- shape, reductions and the matrix product ------------------------------------------
    def transpose(self, a):
        return [list(column) for column in zip(*a)]

    sum, max, min = _along(sum), _along(max), _along(min)

    def argmax(self, a, dim):
        if dim == 0:
            return [[float(col.index(max(col))) for col in zip(*a)]]
        return [[float(row.index(max(row)))] for row in a]

    def reshape(self, a, rows, cols):
        flat = [v for row in a for v in row]
        return [flat[start:start + cols] for start in range(0, rows * cols, cols)]

    def unfold(self, a, index, width):
        patches = []
        for row in a:
            read = [row[i] if i >= 0 else 0.0 for i in index]
            patches += [read[start:start + width] for start in range(0, len(read), width)]
        return patches

    def fold(self, a, index, cols):
        per_row = len(index) // len(a[0])  # patch rows that came from one row
        rows = [[0.0] * cols for _ in range(len(a) // per_row)]
        for r, row in enumerate(rows):
            values = [v for patch in a[r * per_row:(r + 1) * per_row] for v in patch]
            for i, v in zip(index, values):
                if i >= 0:
                    row[i] += v
        return rows

    def take_rows(self, a, indices):
        return [a[i][:] for i in indices]

    def concat_rows(self, parts):
        return [row[:] for part in parts for row in part]

    def matmul(self, a, b):
        # Entry (i, j) is the dot product of a's row i and b's column j, summed left to right.
        columns = list(zip(*b))
        return [[sum(map(operator.mul, row, column)) for column in columns] for row in a]
