"""Numerical gradient checks: central differences in float64 against each backward.

A module is checked through the scalar L = sum(output * R) for a fixed random R, so dL/d(output)
is R: `backward(R)` must return dL/dx and leave dL/d(param) in each `.grad`. Randomness (Dropout's
mask) is fixed by re-seeding lamina's generator before every forward.
"""

from __future__ import annotations

from lamina.factories import randn
from lamina.rng import manual_seed
from lamina.tensors import Tensor


def numerical_gradient(objective, target: Tensor, eps: float = 1e-6) -> list:
    """d objective() / d target, element by element, as nested lists."""
    rows = target.backend.to_rows(target.data)  # the storage table, whatever shape reads it
    backend = target.backend
    gradient = []
    for r, row in enumerate(rows):
        gradient_row = []
        for c, value in enumerate(row):
            row[c] = value + eps
            target.data = backend.from_rows([list(x) for x in rows])
            plus = objective()
            row[c] = value - eps
            target.data = backend.from_rows([list(x) for x in rows])
            minus = objective()
            row[c] = value
            gradient_row.append((plus - minus) / (2 * eps))
        gradient.append(gradient_row)
    target.data = backend.from_rows(rows)
    return gradient


def _compare(name, analytic, numeric, atol, rtol):
    analytic = analytic.backend.to_rows(analytic.data) if isinstance(analytic, Tensor) else analytic
    worst = 0.0
    for a_row, n_row in zip(analytic, numeric, strict=True):
        for a, n in zip(a_row, n_row, strict=True):
            excess = abs(a - n) - (atol + rtol * abs(n))
            worst = max(worst, excess)
    if worst > 0:
        raise AssertionError(
            f"gradient check failed for {name}: analytic {analytic} vs numerical {numeric}"
        )


def check_module_gradients(module, x: Tensor, *, seed: int = 0, eps: float = 1e-6,
                           atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Raise AssertionError unless module.backward matches central differences for the input
    and for every parameter."""
    manual_seed(seed)
    projection = randn(*module(x).shape)

    def objective():
        manual_seed(seed)
        return (module(x) * projection).sum()

    for p in module.parameters():
        p.grad = None
    objective()
    grad_x = module.backward(projection)
    _compare(f"{type(module).__name__} input", grad_x, numerical_gradient(objective, x, eps), atol, rtol)
    for name, p in module.named_parameters():
        analytic = p.grad
        _compare(f"{type(module).__name__}.{name}", analytic, numerical_gradient(objective, p, eps), atol, rtol)


def check_loss_gradients(loss, prediction: Tensor, target, *, eps: float = 1e-6,
                         atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Raise AssertionError unless loss.backward() matches central differences of the loss
    (of its sum, for reduction='none')."""

    def objective():
        value = loss(prediction, target)
        return value if isinstance(value, float) else value.sum()

    objective()
    analytic = loss.backward()
    _compare(type(loss).__name__, analytic, numerical_gradient(objective, prediction, eps), atol, rtol)
