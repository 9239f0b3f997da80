"""The reference backend: plain Python lists of rows, no numpy, nothing compiled.

Speed comes from keeping the per-element work inside C-level iteration (`map`, `zip`, `sum`,
comprehensions), and from not redoing work: a transpose remembers the matrix it came from, so that
`x @ W.T` reads W's rows as its columns instead of transposing twice.
"""

from __future__ import annotations

import math
import operator
from itertools import repeat

from .backend import Backend

_COMPARE = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


mul = operator.mul
add = operator.add
_sumprod = getattr(math, "sumprod", None)  # Python 3.12+: a dot product in one C call

_MASK_AGAINST_NUMBER = {
    ">": lambda row, s: [1.0 if v > s else 0.0 for v in row],
    ">=": lambda row, s: [1.0 if v >= s else 0.0 for v in row],
    "<": lambda row, s: [1.0 if v < s else 0.0 for v in row],
    "<=": lambda row, s: [1.0 if v <= s else 0.0 for v in row],
    "==": lambda row, s: [1.0 if v == s else 0.0 for v in row],
    "!=": lambda row, s: [1.0 if v != s else 0.0 for v in row],
}


def _sign(v):
    return (v > 0.0) - (v < 0.0) + 0.0


def _sigmoid_rows(a):
    exp = math.exp
    # Two branches so that exp never overflows: 1/(1+e^-v) for v >= 0, e^v/(1+e^v) below.
    return [
        [1.0 / (1.0 + exp(-v)) if v >= 0.0 else (e := exp(v)) / (1.0 + e) for v in row]
        for row in a
    ]


_UNARY = {
    "neg": operator.neg,
    "exp": math.exp,
    "log": math.log,
    "log1p": math.log1p,
    "tanh": math.tanh,
    "sqrt": math.sqrt,
    "abs": abs,
    "sign": _sign,
    "erf": math.erf,
}


def _pair(x, y):
    return (x, y)


def _pick(mask_value, pair):
    return pair[0] if mask_value else pair[1]


class _Transposed(list):
    """The rows of a transpose, remembering the matrix whose rows are its columns."""

    __slots__ = ("source",)


def _weighted_sums_of_rows(a, b):
    """a @ b built row by row: row i is b's rows weighted by a's row i and added up, in the order
    the dot products of `matmul` add them, so that both give the same numbers."""
    first, rest = b[0], b[1:]
    product = []
    for weights in a:
        row = [weights[0] * v for v in first]
        for weight, b_row in zip(weights[1:], rest):
            row = [s + weight * v for s, v in zip(row, b_row)]
        product.append(row)
    return product


def _same_shape(x, y):
    return len(x) == len(y) and len(x[0]) == len(y[0])


def _broadcast(op, a, b):
    """op applied element-wise, stretching a (1, n) row, an (n, 1) column or a number."""
    if not isinstance(b, list):
        return [list(map(op, row, repeat(b, len(row)))) for row in a]
    if not isinstance(a, list):
        return [list(map(op, repeat(a, len(row)), row)) for row in b]
    if len(a) == len(b) and len(a[0]) == len(b[0]):
        return [list(map(op, x, y)) for x, y in zip(a, b)]
    if len(b) == 1 and len(a[0]) == len(b[0]):  # one row against every row (a bias): the usual case
        row = b[0]
        return [list(map(op, x, row)) for x in a]
    rows = max(len(a), len(b))
    cols = max(len(a[0]), len(b[0]))
    left = a if len(a) == rows else repeat(a[0], rows)
    right = b if len(b) == rows else repeat(b[0], rows)
    if len(a[0]) == len(b[0]):
        return [list(map(op, x, y)) for x, y in zip(left, right)]
    if len(a[0]) == 1:
        return [list(map(op, repeat(x[0], cols), y)) for x, y in zip(left, right)]
    return [list(map(op, x, repeat(y[0], cols))) for x, y in zip(left, right)]


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

    # With a number on one side, a comprehension beats map(op, row, repeat(number)) on
    # CPython 3.11+, whose specialised float arithmetic makes `v * s` cheaper than a C call.
    def add(self, a, b):
        if type(b) is float:
            return [[v + b for v in row] for row in a]
        return _broadcast(operator.add, a, b)

    def sub(self, a, b):
        if type(b) is float:
            return [[v - b for v in row] for row in a]
        if type(a) is float:
            return [[a - v for v in row] for row in b]
        return _broadcast(operator.sub, a, b)

    def mul(self, a, b):
        if type(b) is float:
            return [[v * b for v in row] for row in a]
        return _broadcast(operator.mul, a, b)

    def div(self, a, b):
        if type(b) is float:
            return [[v / b for v in row] for row in a]
        if type(a) is float:
            return [[a / v for v in row] for row in b]
        return _broadcast(operator.truediv, a, b)

    def pow(self, a, exponent):
        if exponent == 2:
            return [[v * v for v in row] for row in a]
        return _broadcast(operator.pow, a, exponent)

    def maximum(self, a, b):
        return _broadcast(max, a, b)

    def minimum(self, a, b):
        return _broadcast(min, a, b)

    def compare(self, a, b, op):
        if type(b) is float:  # against a number (ReLU's mask, thresholds): one comprehension per row
            mask_row = _MASK_AGAINST_NUMBER[op]
            return [mask_row(row, b) for row in a]
        # float(True) is 1.0: map(float, ...) turns the booleans into a mask without a Python-level loop.
        return [list(map(float, row)) for row in _broadcast(_COMPARE[op], a, b)]

    def where(self, mask, a, b):
        a_rows, b_rows = isinstance(a, list), isinstance(b, list)
        same = _same_shape
        # The usual cases (tensors shaped like the mask, or numbers) as single comprehensions.
        if a_rows and b_rows and same(a, mask) and same(b, mask):
            return [[x if m else y for m, x, y in zip(mr, ar, br)] for mr, ar, br in zip(mask, a, b)]
        if a_rows and not b_rows and same(a, mask):
            return [[x if m else b for m, x in zip(mr, ar)] for mr, ar in zip(mask, a)]
        if b_rows and not a_rows and same(b, mask):
            return [[a if m else y for m, y in zip(mr, br)] for mr, br in zip(mask, b)]
        pairs = (a, b) if not a_rows and not b_rows else _broadcast(_pair, a, b)
        return _broadcast(_pick, mask, pairs)

    def lerp(self, a, b, weight):
        if weight < 0.5:
            return [[x + weight * (y - x) for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]
        rest = 1.0 - weight
        return [[y - (y - x) * rest for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]

    def addcmul(self, a, t1, t2, value):
        return [[x + value * u * v for x, u, v in zip(ra, r1, r2)] for ra, r1, r2 in zip(a, t1, t2)]

    def addcdiv(self, a, t1, t2, value):
        return [[x + value * u / v for x, u, v in zip(ra, r1, r2)] for ra, r1, r2 in zip(a, t1, t2)]

    def adam_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, step):
        # Three passes instead of Adam's seven tensor operations, each element computed with
        # exactly the operations, in the order, of the unfused update (so results are identical).
        exp_avg = self.lerp(exp_avg, grad, 1.0 - beta1)
        decay, mix = beta2, 1.0 - beta2
        exp_avg_sq = [
            [v * decay + mix * g * g for v, g in zip(v_row, g_row)]
            for v_row, g_row in zip(exp_avg_sq, grad)
        ]
        if max_exp_avg_sq is not None:
            max_exp_avg_sq = _broadcast(max, max_exp_avg_sq, exp_avg_sq)
        second = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
        step_size = -(lr / (1.0 - beta1 ** step))
        correction = (1.0 - beta2 ** step) ** 0.5
        sqrt = math.sqrt
        param = [
            [p + step_size * m / (sqrt(v) / correction + eps) for p, m, v in zip(p_row, m_row, v_row)]
            for p_row, m_row, v_row in zip(param, exp_avg, second)
        ]
        return param, exp_avg, exp_avg_sq, max_exp_avg_sq

    def unary(self, a, fn_name):
        if fn_name == "sigmoid":
            return _sigmoid_rows(a)
        fn = _UNARY[fn_name]
        return [list(map(fn, row)) for row in a]

    def clamp(self, a, low, high):
        if high is None:
            return [[low if v < low else v for v in row] for row in a]
        if low is None:
            return [[high if v > high else v for v in row] for row in a]
        return [[low if v < low else high if v > high else v for v in row] for row in a]

    def apply(self, a, fn):
        return [[float(fn(v)) for v in row] for row in a]

    def transpose(self, a):
        rows = _Transposed(map(list, zip(*a)))
        rows.source = a  # safe to share: kernels never modify their inputs
        return rows

    def sum(self, a, dim):
        if dim is None:
            return float(sum(map(sum, a)))
        if dim == 0:
            return [[float(s) for s in map(sum, zip(*a))]]
        return [[float(sum(row))] for row in a]

    def max(self, a, dim):
        if dim is None:
            return max(map(max, a))
        if dim == 0:
            return [list(map(max, zip(*a)))]
        return [[max(row)] for row in a]

    def min(self, a, dim):
        if dim is None:
            return min(map(min, a))
        if dim == 0:
            return [list(map(min, zip(*a)))]
        return [[min(row)] for row in a]

    def argmax(self, a, dim):
        if dim == 0:
            return [[float(col.index(max(col))) for col in zip(*a)]]
        return [[float(row.index(max(row)))] for row in a]

    def take_rows(self, a, indices):
        return [a[i][:] for i in indices]

    def concat_rows(self, parts):
        return [row[:] for part in parts for row in part]

    def gather_columns(self, a, indices):
        return [[row[i]] for row, i in zip(a, indices)]

    def one_hot(self, indices, num_classes):
        rows = [[0.0] * num_classes for _ in indices]
        for row, i in zip(rows, indices):
            row[i] = 1.0
        return rows

    def matmul(self, a, b):
        if 8 * len(b) <= len(b[0]):
            # Few long rows in b (x @ W.T for a layer with one or two inputs): adding up whole
            # rows takes fewer Python-level steps than that many short dot products.
            return _weighted_sums_of_rows(a, b)
        # Entry (i, j) pairs a's row i with b's column j. A transpose's columns are the rows of the
        # matrix it came from, so x @ W.T reads W's rows instead of transposing W back. The dot
        # products are written out as sum(map(mul, ...)): a Python call to a `dot` helper for
        # each would cost more than the product itself at these sizes.
        columns = b.source if type(b) is _Transposed else list(zip(*b))
        if _sumprod:
            return [[_sumprod(row, col) for col in columns] for row in a]
        return [[sum(map(mul, row, col)) for col in columns] for row in a]

