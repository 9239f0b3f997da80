"""The default backend (plugins/python_backend.py) overrides lamina's reference kernels for speed:
every override must give the reference's numbers bit for bit, and both follow IEEE 754 where Python
would raise (inf, -inf and nan, as numpy and PyTorch give)."""

import math
import random

import pytest

import lamina
from lamina import nn, optim
from lamina.plugins.python_backend import PythonBackend
from lamina.pure_python import PurePythonBackend

REFERENCE, FAST = PurePythonBackend(), PythonBackend()
INF, NAN = math.inf, math.nan
OVERRIDDEN = sorted(name for name, value in vars(PythonBackend).items() if callable(value) and not name.startswith("_"))


class TransposeOf(tuple):
    """A (rows, cols) random matrix to pass transposed, as x @ W.T does."""


def matrix(rows, cols, rng):
    return [[rng.uniform(-2, 2) for _ in range(cols)] for _ in range(rows)]


def cases():
    rng = random.Random(7)
    a, b = matrix(4, 3, rng), matrix(4, 3, rng)
    row, column, positive = matrix(1, 3, rng), matrix(4, 1, rng), [[abs(v) + 0.1 for v in r] for r in a]
    zeros = [[0.0, 1.0, -0.0]] * 4
    binary = [(a, b), (a, row), (row, a), (a, column), (a, 0.5), (a, zeros), (a, 0.0)]
    found = [(op, args) for op in ("add", "sub", "mul", "div") for args in binary]
    found += [(op, (x, y)) for op in ("sub", "div") for x, y in ((0.5, a), (1.0, zeros))]
    found += [("compare", (x, y, op)) for x, y in binary[:5] for op in (">", ">=", "<", "<=", "==", "!=")]
    mask = [[float(v > 0) for v in r] for r in a]
    found += [("where", (mask, x, y)) for x, y in ((a, b), (a, 0.5), (-1.0, b), (1.0, 0.0), (row, column))]
    found += [("unary", (a + [[40.0, -800.0, 0.0]], "sigmoid")), ("unary", (positive, "exp")), ("transpose", (a,))]
    found += [("matmul", (a, matrix(3, 5, rng))), ("matmul", (matrix(4, 2, rng), matrix(2, 16, rng))),
              ("matmul", (a, TransposeOf((5, 3)))), ("matmul", (TransposeOf((4, 5)), a))]
    found += column_cases(rng) + matmul_cases(rng)
    p, g, m, v = (matrix(3, 2, rng) for _ in range(4))
    v = [[abs(x) for x in r] for r in v]
    for amsgrad in (None, [[abs(x) for x in r] for r in matrix(3, 2, rng)]):
        found.append(("adam_step", (p, g, m, v, amsgrad), {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 3}))
    return found


def column_cases(rng):
    """(n, 1) columns, which the fast kernels run as (1, n) rows, against each other, a (1, 1), a
    number, and shapes they broadcast to (left to the reference)."""
    col, other, one = matrix(4, 1, rng), matrix(4, 1, rng), matrix(1, 1, rng)
    row, wide = matrix(1, 3, rng), matrix(4, 3, rng)
    edges = [[0.0], [-0.0], [INF], [-INF], [NAN], [1000.0], [-1.0]]
    pairs = [(col, other), (col, one), (one, col), (col, 0.5), (0.5, col), (col, edges[:4]), (edges, -0.0),
             (-2.0, edges), (one, one), (col, row), (row, col), (col, wide), (wide, col), (edges, [[0.0]] * 7)]
    found = [(op, (x, y)) for op in ("add", "sub", "mul", "div") for x, y in pairs]
    found += [("unary", (x, name)) for x in (col, edges) for name in ("sigmoid", "exp", "log", "neg", "sqrt")]
    found += [("clamp", (x, low, high)) for x in (col, edges, wide, [[-0.0, 0.0, 2.0]])
              for low, high in ((0.0, None), (None, 0.5), (1e-7, 1.0 - 1e-7))]
    signed_zeros = [[-0.0], [-0.0], [0.0], [-0.0]]
    for x in (col, edges, edges[:4], edges[4:], signed_zeros, [[-0.0]] * 3, one, wide, [[-0.0, 2.0], [1.0, -0.0]]):
        found += [(kind, (x, dim)) for kind in ("sum", "max", "min") for dim in (None, 0, 1)]
    return found


def matmul_cases(rng):
    """Products whose left side is partly zeros (ReLU's outputs, masked gradients), which the fast
    matmul leaves out where the right side is finite, and products of zeros and tiny numbers whose
    sign of zero depends on the sum starting at 0.0."""
    def sparse(rows, cols, zero_share):
        return [[rng.choice((0.0, -0.0)) if rng.random() < zero_share else rng.uniform(-2, 2) for _ in range(cols)]
                for _ in range(rows)]

    found = []
    for share in (0.3, 0.6, 0.9, 1.0):
        shapes = ((16, 16, 16), (16, 8, 16), (16, 16, 8), (16, 8, 1), (1, 16, 4), (5, 1, 7), (3, 2, 16))
        for rows, inner, cols in shapes:
            found += [("matmul", (sparse(rows, inner, share), right))
                      for right in (matrix(inner, cols, rng), TransposeOf((cols, inner)))]
    tiny, wide = [[1e-300, 1e-300, 1e-300]], [[-1e-300] * 16] * 3
    found += [("matmul", (tiny, wide)), ("matmul", (tiny, [[-1e-300]] * 3)),
              ("matmul", ([[0.0, -0.0]], [[-1.0] * 9] * 2))]
    not_finite = [[INF, 1.0], [2.0, NAN], [-INF, 3.0], [1.0, 1.0]]
    lefts = ([[0.0, 0.0, 0.0, 1.0]], [[0.0, 1.0, -0.0, 2.0]], [[1.0, 0.0, 0.0, 0.0]] * 2)
    found += [("matmul", (left, not_finite)) for left in lefts]
    huge = [[1e308] * 20, [1e308] * 20, [-1e308] * 20]  # finite, though their sum overflows
    found += [("matmul", ([[0.0, 1.0, 2.0]], huge)), ("matmul", ([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]], huge))]
    return found


def run(backend, kernel, args, options=None):
    rng = random.Random(3)

    def storage(value):
        if isinstance(value, TransposeOf):
            return backend.transpose(matrix(*value, rng))
        return value

    result = getattr(backend, kernel)(*map(storage, args), **(options or {}))
    return result if not isinstance(result, list) else [list(r) for r in result]


def adam_by_reference(param, grad, exp_avg, exp_avg_sq, largest, *, lr, beta1, beta2, eps, step):
    """Adam's readable update (plugins/optimizers.py), kernel by kernel on the reference."""
    R = REFERENCE
    exp_avg = R.add(exp_avg, R.mul(R.sub(grad, exp_avg), 1.0 - beta1))
    exp_avg_sq = R.add(R.mul(exp_avg_sq, beta2), R.mul(R.mul(grad, 1.0 - beta2), grad))
    if largest is not None:
        largest = R.maximum(largest, exp_avg_sq)
    second = exp_avg_sq if largest is None else largest
    denominator = R.add(R.div(R.unary(second, "sqrt"), (1.0 - beta2 ** step) ** 0.5), eps)
    param = R.sub(param, R.div(R.mul(exp_avg, lr / (1.0 - beta1 ** step)), denominator))
    return param, exp_avg, exp_avg_sq, largest


@pytest.mark.parametrize("case", cases(), ids=lambda case: case[0])
def test_each_fast_kernel_gives_the_reference_numbers_bit_for_bit(case):
    kernel, args, *options = case
    if kernel == "adam_step":
        assert FAST.adam_step(*args, **options[0]) == adam_by_reference(*args, **options[0])
        return
    # By repr: a float's repr tells it from every other float, -0.0 from 0.0, and nan from all but nan.
    assert repr(run(FAST, kernel, args, *options)) == repr(run(REFERENCE, kernel, args, *options))


def test_every_override_is_compared_here():
    assert set(OVERRIDDEN) <= {case[0] for case in cases()}


def test_the_default_backend_is_the_fast_one_and_a_training_run_is_identical_on_the_reference():
    assert isinstance(lamina.get_backend(), PythonBackend)

    def train(backend):
        lamina.set_backend(backend)
        lamina.manual_seed(5)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
        opt = optim.Adam(model.parameters(), lr=0.05)
        x, y = lamina.randn(16, 2), lamina.rand(16, 1)
        loss_fn = nn.BCELoss()
        for _ in range(20):
            loss_fn(model(x), y)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
        return [p.tolist() for p in model.parameters()]

    try:
        assert train(FAST) == train(REFERENCE)
    finally:
        lamina.set_backend("python")


EDGES = [
    ("exp", [[1000.0, -1000.0, 0.0]], [[INF, 0.0, 1.0]]),
    ("log", [[0.0, -1.0, 1.0]], [[-INF, NAN, 0.0]]),
    ("log1p", [[-1.0, -2.0, 0.0]], [[-INF, NAN, 0.0]]),
    ("sqrt", [[-1.0, 4.0, 0.0]], [[NAN, 2.0, 0.0]]),
]


@pytest.mark.parametrize("backend", [REFERENCE, FAST], ids=["reference", "default"])
@pytest.mark.parametrize("name, values, expected", EDGES, ids=[e[0] for e in EDGES])
def test_functions_give_ieee_values_where_python_would_raise(backend, name, values, expected):
    assert repr(backend.unary(values, name)) == repr(expected)


@pytest.mark.parametrize("backend", [REFERENCE, FAST], ids=["reference", "default"])
def test_division_and_powers_give_ieee_values(backend):
    numerators = [[1.0, -1.0, 0.0, 2.0]]
    assert repr(backend.div(numerators, [[0.0, 0.0, 0.0, -0.0]])) == repr([[INF, -INF, NAN, -INF]])
    assert repr(backend.div(numerators, 0.0)) == repr([[INF, -INF, NAN, INF]])
    assert repr(backend.div(1.0, [[0.0, -0.0, 2.0]])) == repr([[INF, -INF, 0.5]])
    assert repr(backend.pow([[-8.0, 0.0, 1e200]], 0.5)) == repr([[NAN, 0.0, 1e100]])
    assert repr(backend.pow([[0.0, 1e300, -1e300]], -1.0)) == repr([[INF, 1e-300, -1e-300]])
    assert repr(backend.pow([[1e300, -1e300]], 3.0)) == repr([[INF, -INF]])


def test_the_tensor_api_gives_what_numpy_gives_on_edge_values():
    np = pytest.importorskip("numpy")
    values = [[1000.0, 0.0, -1.0, 4.0]]
    x = lamina.tensor(values)
    with np.errstate(all="ignore"):
        a = np.array(values)
        pairs = [(x.exp(), np.exp(a)), (x.log(), np.log(a)), (x.sqrt(), np.sqrt(a)),
                 (1.0 / x, 1.0 / a), (x / 0.0, a / 0.0), (x ** -1.0, a ** -1.0)]
    for ours, theirs in pairs:
        assert repr(ours.tolist()) == repr(theirs.tolist())


def test_adam_with_eps_zero_behaves_as_pytorch_does_and_raises_nothing():
    p = nn.Linear(1, 1)
    opt = optim.Adam(p.parameters(), lr=0.1, eps=0.0)
    for param in p.parameters():
        param.grad = lamina.zeros(*param.shape)
    opt.step()  # 0/0 in the update: nan, as in PyTorch, never a ZeroDivisionError
    assert all(math.isnan(v) for param in p.parameters() for v in param.flatten().tolist())
