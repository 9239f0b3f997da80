"""Shared fixtures: a seeded generator per test, PyTorch (float64) for the parity tests."""

import pytest

import lamina


@pytest.fixture(autouse=True)
def seeded():
    """A seeded generator per test; the backend a test selects does not outlive it."""
    lamina.manual_seed(0)
    backend = lamina.get_backend()
    yield
    lamina.set_backend(backend)


NO_NUMPY = "numpy is not installed (pip install lamina[numpy]); the numpy backend is optional"


@pytest.fixture
def numpy_backend():
    """The numpy backend, selected for this test; skips where numpy is not installed."""
    pytest.importorskip("numpy", reason=NO_NUMPY)
    return lamina.set_backend("numpy")


@pytest.fixture(params=["python", "numpy"])
def backend(request):
    """Runs the test once per backend, with that backend selected (numpy's run skips where numpy
    is not installed)."""
    if request.param == "numpy":
        pytest.importorskip("numpy", reason=NO_NUMPY)
    return lamina.set_backend(request.param)


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64, single-threaded; parity tests skip where it is not installed."""
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    return torch


def to_torch(torch, t):
    return torch.tensor(t.tolist(), dtype=torch.float64)


def assert_close(actual, expected, tol=1e-9):
    """Element-wise |a - e| <= tol * max(1, |e|) over nested lists, lamina Tensors or torch tensors."""
    actual = actual.tolist() if hasattr(actual, "tolist") else actual
    expected = expected.tolist() if hasattr(expected, "tolist") else expected
    flat_a, flat_e = _flatten(actual), _flatten(expected)
    assert len(flat_a) == len(flat_e), f"sizes differ: {len(flat_a)} vs {len(flat_e)}"
    worst = max((abs(a - e) / max(1.0, abs(e)) for a, e in zip(flat_a, flat_e)), default=0.0)
    assert worst <= tol, f"largest relative difference {worst:.3e} exceeds {tol:.0e}"


def _flatten(values):
    if isinstance(values, (int, float)):
        return [float(values)]
    return [x for v in values for x in _flatten(v)]


def check_against_torch(torch, module, twin, x, upstream=None):
    """Forward, input gradient and parameter gradients of `module` and its torch twin on `x`."""
    out = module(x)
    upstream = lamina.randn(*out.shape) if upstream is None else upstream
    grad_x = module.backward(upstream)
    x_torch = to_torch(torch, x).requires_grad_()
    out_torch = twin(x_torch)
    out_torch.backward(to_torch(torch, upstream))
    assert out.shape == tuple(out_torch.shape) and grad_x.shape == x.shape
    assert_close(out, out_torch.detach())
    assert_close(grad_x, x_torch.grad)
    torch_params = dict(twin.named_parameters())
    assert sorted(torch_params) == sorted(name for name, _ in module.named_parameters())
    for name, p in module.named_parameters():
        assert p.grad.shape == tuple(torch_params[name].grad.shape)
        assert_close(p.grad, torch_params[name].grad)
