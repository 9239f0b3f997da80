"""The default backend: lamina's reference kernels (lamina.pure_python), with the ones a training
step leans on rewritten for speed.

Each override reaches exactly the reference's numbers by the same operations in the same order,
only in fewer Python-level steps (tests/test_backend_python.py compares them bit for bit), so
switching between the two changes no result. Registered by name, `lamina.set_backend("python")`
and `lamina train --backend python` switch back to it.
"""

from __future__ import annotations

import math
import operator
from itertools import chain, compress

import lamina
from lamina.pure_python import PurePythonBackend, ieee_divide

_MASK_AGAINST_NUMBER = {
    ">": lambda row, s: [1.0 if v > s else 0.0 for v in row],
    ">=": lambda row, s: [1.0 if v >= s else 0.0 for v in row],
    "<": lambda row, s: [1.0 if v < s else 0.0 for v in row],
    "<=": lambda row, s: [1.0 if v <= s else 0.0 for v in row],
    "==": lambda row, s: [1.0 if v == s else 0.0 for v in row],
    "!=": lambda row, s: [1.0 if v != s else 0.0 for v in row],
}


class _Transposed(list):
    """The rows of a transpose, remembering the matrix whose rows are its columns."""

    __slots__ = ("source",)


def _same_shape(x, y):
    return len(x) == len(y) and len(x[0]) == len(y[0])


def _is_column(x):
    """Whether x is the storage of an (n, 1) column, n > 1."""
    return isinstance(x, list) and len(x) > 1 and len(x[0]) == 1


def _as_row(column):
    """An (n, 1) column's values as a (1, n) row."""
    return [[v for v, in column]]


def _as_column(row):
    return [[v] for v in row[0]]


def _on_columns(op, a, b):
    """op(a, b) where both are (n, 1) columns, or one is and the other a number or a (1, 1), else
    None. Each row's one value is unpacked in the comprehension: the reference's list(map(...)) for
    each row costs two calls a value, and a loss on a one-output model works on (batch, 1) columns."""
    if not (_is_column(a) or _is_column(b)):
        return None
    a_rows, b_rows = isinstance(a, list), isinstance(b, list)
    if (a_rows and len(a[0]) != 1) or (b_rows and len(b[0]) != 1):
        return None  # a row or a matrix on one side: the reference broadcasts it
    if a_rows and b_rows and len(a) == len(b):
        return [[op(x, y)] for (x,), (y,) in zip(a, b)]
    if _is_column(a) and (not b_rows or len(b) == 1):
        y = b[0][0] if b_rows else b
        return [[op(x, y)] for x, in a]
    if _is_column(b) and (not a_rows or len(a) == 1):
        x = a[0][0] if a_rows else a
        return [[op(x, y)] for y, in b]
    return None  # columns that do not broadcast: the reference says so


def _against_each_row(op, a, b):
    """op(a, b) for a (1, n) row b stretched over every row of a (a bias), or None."""
    if isinstance(a, list) and isinstance(b, list) and len(b) == 1 and len(a) > 1 and len(a[0]) == len(b[0]):
        row = b[0]
        return [list(map(op, x, row)) for x in a]
    return None


def _weighted_sum_of_rows(weights, rows, width):
    """The sum of weight * row over the pairs, element by element, starting from 0.0: the numbers of
    the dot products in `matmul`, which add the same products in the same order from 0."""
    total = [0.0] * width
    for weight, row in zip(weights, rows):
        total = [s + weight * v for s, v in zip(total, row)]
    return total


def _all_finite(rows):
    # A sum of finite numbers is finite unless it overflows; that only costs the caller its shortcut.
    return math.isfinite(sum(map(sum, rows)))


def _adam_in_one_pass(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
    """Adam's (param, exp_avg, exp_avg_sq, None) visiting each element once."""
    weight, decay, mix = 1.0 - beta1, beta2, 1.0 - beta2
    step_size = -(lr / (1.0 - beta1 ** step))
    correction = (1.0 - beta2 ** step) ** 0.5
    sqrt = math.sqrt
    new_param, new_exp_avg, new_exp_avg_sq = [], [], []
    for p_row, g_row, m_row, v_row in zip(param, grad, exp_avg, exp_avg_sq):
        p_out, m_out, v_out = [], [], []
        for p, g, m, v in zip(p_row, g_row, m_row, v_row):
            m = m + (g - m) * weight
            v = v * decay + mix * g * g
            m_out.append(m)
            v_out.append(v)
            p_out.append(p + step_size * m / (sqrt(v) / correction + eps))
        new_param.append(p_out)
        new_exp_avg.append(m_out)
        new_exp_avg_sq.append(v_out)
    return new_param, new_exp_avg, new_exp_avg_sq, None


class PythonBackend(PurePythonBackend):
    """Lists of rows of Python floats, fast: the default backend."""

    # With a number on one side, a comprehension beats map(op, row, repeat(number)) on
    # CPython 3.11+, whose specialised float arithmetic makes `v * s` cheaper than a C call.
    def add(self, a, b):
        if type(b) is float and not _is_column(a):
            return [[v + b for v in row] for row in a]
        return _on_columns(operator.add, a, b) or _against_each_row(operator.add, a, b) or super().add(a, b)

    def sub(self, a, b):
        if type(b) is float and not _is_column(a):
            return [[v - b for v in row] for row in a]
        if type(a) is float and not _is_column(b):
            return [[a - v for v in row] for row in b]
        return _on_columns(operator.sub, a, b) or _against_each_row(operator.sub, a, b) or super().sub(a, b)

    def mul(self, a, b):
        if type(b) is float and not _is_column(a):
            return [[v * b for v in row] for row in a]
        return _on_columns(operator.mul, a, b) or _against_each_row(operator.mul, a, b) or super().mul(a, b)

    def div(self, a, b):
        try:
            columns = _on_columns(operator.truediv, a, b)
        except ZeroDivisionError:  # the reference gives IEEE's inf or nan
            columns = None
        if columns is not None:
            return columns
        if type(b) is float and b != 0.0:
            return [[v / b for v in row] for row in a]
        if type(a) is float:
            try:
                return [[a / v for v in row] for row in b]
            except ZeroDivisionError:
                return [[ieee_divide(a, v) for v in row] for row in b]
        return super().div(a, b)

    def compare(self, a, b, op):
        if type(b) is float:  # against a number (ReLU's mask, thresholds): one comprehension per row
            mask_row = _MASK_AGAINST_NUMBER[op]
            return [mask_row(row, b) for row in a]
        return super().compare(a, b, op)

    def where(self, mask, a, b):
        a_rows, b_rows = isinstance(a, list), isinstance(b, list)
        # The usual cases (tensors shaped like the mask, or numbers) as single comprehensions.
        if a_rows and b_rows and _same_shape(a, mask) and _same_shape(b, mask):
            return [[x if m else y for m, x, y in zip(mr, ar, br)] for mr, ar, br in zip(mask, a, b)]
        if a_rows and not b_rows and _same_shape(a, mask):
            return [[x if m else b for m, x in zip(mr, ar)] for mr, ar in zip(mask, a)]
        if b_rows and not a_rows and _same_shape(b, mask):
            return [[a if m else y for m, y in zip(mr, br)] for mr, br in zip(mask, b)]
        return super().where(mask, a, b)

    def unary(self, a, fn_name):
        if _is_column(a):  # as a (1, n) row, as _on_columns says
            return _as_column(self.unary(_as_row(a), fn_name))
        if fn_name == "sigmoid":  # the reference's two branches, without a call per element
            exp = math.exp
            return [[1.0 / (1.0 + exp(-v)) if v >= 0.0 else (e := exp(v)) / (1.0 + e) for v in row] for row in a]
        return super().unary(a, fn_name)

    def clamp(self, a, low, high):
        if _is_column(a):
            return _as_column(super().clamp(_as_row(a), low, high))
        return super().clamp(a, low, high)

    # A column's total, largest or smallest as a row's: the same values in the same order, one
    # call of sum (max, min) instead of one for each value. The reference adds each row's sum,
    # here (0 + v) (-0.0 becomes 0.0), to a total from 0; the row's sum adds the values to 0
    # directly, and a sum from 0 is never -0.0, so adding -0.0 or 0.0 to it gives the same.
    def sum(self, a, dim):
        return super().sum(_as_row(a) if dim is None and _is_column(a) else a, dim)

    def max(self, a, dim):
        return super().max(_as_row(a) if dim is None and _is_column(a) else a, dim)

    def min(self, a, dim):
        return super().min(_as_row(a) if dim is None and _is_column(a) else a, dim)

    def transpose(self, a):
        rows = _Transposed(map(list, zip(*a)))
        rows.source = a  # safe to share: kernels never modify their inputs
        return rows

    def matmul(self, a, b):
        if not b:
            return super().matmul(a, b)
        width, mul = len(b[0]), operator.mul
        # A zero in a's row adds nothing to its dot products: 0 * v is +-0.0 for a finite v, and a
        # sum that starts at 0.0 is never -0.0, so adding +-0.0 leaves it as it was. ReLU's outputs
        # and the gradients its mask zeroed are about half zeros, so leaving them out (only where b
        # is finite: 0 * inf is nan) saves about half of most products of a training step.
        skip_zeros = not all(map(all, a)) and _all_finite(b)
        all_columns = None
        product = []
        for row in a:
            weights, b_rows = row, b
            if skip_zeros and not all(row):
                weights, b_rows = list(compress(row, row)), list(compress(b, row))
            if 4 * len(weights) <= width:
                # Few weights for long rows (x @ W.T for a layer with one or two inputs, or a row
                # of mostly zeros): adding up whole rows of b takes fewer Python-level steps than
                # that many short dot products.
                product.append(_weighted_sum_of_rows(weights, b_rows, width))
                continue
            if b_rows is not b:
                columns = zip(*b_rows)
            else:
                if all_columns is None:
                    # A transpose's columns are the rows of the matrix it came from, so x @ W.T
                    # reads W's rows instead of transposing W back.
                    all_columns = b.source if type(b) is _Transposed else list(zip(*b))
                columns = all_columns
            # sum(..., 0.0) adds from 0.0 as sum(...) adds from 0 (0 + a float is 0.0 + it, and the
            # storage holds floats), only without first trying integer addition.
            product.append([sum(map(mul, weights, column), 0.0) for column in columns])
        return product

    def adam_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, step):
        # Each element computed with exactly the operations, in the order, of the readable update (so
        # results are identical): without amsgrad in one pass, m, v and the parameter together (a
        # quarter faster than a pass for each), else in three.
        if max_exp_avg_sq is None:
            try:
                return _adam_in_one_pass(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step)
            except ZeroDivisionError:  # eps = 0 and a zero second moment: the passes below give IEEE's answer
                pass
        weight, decay, mix = 1.0 - beta1, beta2, 1.0 - beta2
        exp_avg = [[m + (g - m) * weight for m, g in zip(m_row, g_row)] for m_row, g_row in zip(exp_avg, grad)]
        exp_avg_sq = [[v * decay + mix * g * g for v, g in zip(v_row, g_row)] for v_row, g_row in zip(exp_avg_sq, grad)]
        if max_exp_avg_sq is not None:
            max_exp_avg_sq = [list(map(max, m_row, v_row)) for m_row, v_row in zip(max_exp_avg_sq, exp_avg_sq)]
        second = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
        step_size = -(lr / (1.0 - beta1 ** step))
        correction = (1.0 - beta2 ** step) ** 0.5
        sqrt = math.sqrt
        try:
            param = [
                [p + step_size * m / (sqrt(v) / correction + eps) for p, m, v in zip(p_row, m_row, v_row)]
                for p_row, m_row, v_row in zip(param, exp_avg, second)
            ]
        except ZeroDivisionError:  # eps = 0 and a zero second moment: IEEE's answer, as the readable update
            param = [
                [p + ieee_divide(step_size * m, sqrt(v) / correction + eps) for p, m, v in zip(p_row, m_row, v_row)]
                for p_row, m_row, v_row in zip(param, exp_avg, second)
            ]
        return param, exp_avg, exp_avg_sq, max_exp_avg_sq


@lamina.hookimpl
def lamina_register_backends():
    return [("python", PythonBackend, "lists of rows of Python floats (the default)")]
