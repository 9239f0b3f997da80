"""The numpy backend against the pure-Python one: every kernel, every module's and loss's
gradients, a whole training run, saving and loading across backends, mixing backends, and the
message when numpy is missing."""

import builtins
import importlib
import math
import random
import sys

import pytest

import lamina
from conftest import NO_NUMPY, assert_close
from lamina import nn, optim
from lamina.backend import KERNELS, Backend
from lamina.cli.run_config import build_run, default_config, read_config
from lamina.plugins.python_backend import PythonBackend
from lamina.pure_python import PurePythonBackend

np = pytest.importorskip("numpy", reason=NO_NUMPY)
from lamina.plugins.numpy_backend import NumpyBackend  # noqa: E402  (only where numpy is)

PY, FAST, NP = PurePythonBackend(), PythonBackend(), NumpyBackend()


def matrix(rows, cols, rng, low=-2.0, high=2.0):
    return [[rng.uniform(low, high) for _ in range(cols)] for _ in range(rows)]


class M(list):
    """A matrix argument: handed to each backend as its own storage."""


class Transposed(M):
    """A matrix argument handed to each backend as the transpose of its own storage (so that
    a product meets a transpose as `x @ W.T` makes it)."""


def kernel_cases():
    """(kernel, arguments, tolerance) for every kernel; 0.0 means bit-identical. Binary kernels
    meet full matrices, (1, n) rows, (n, 1) columns and numbers on either side."""
    rng = random.Random(7)
    a, b = M(matrix(4, 3, rng)), M(matrix(4, 3, rng))
    row, col = M(matrix(1, 3, rng)), M(matrix(4, 1, rng))
    positive = M(matrix(4, 3, rng, 0.1, 3.0))
    exact = 0.0
    cases = []
    for kernel in ("add", "sub", "mul", "div", "maximum", "minimum"):
        for left, right in ((a, b), (a, row), (row, a), (a, col), (col, a), (a, 1.5), (col, row)):
            if kernel == "div":
                right = positive if right is b else right
            cases.append((kernel, (left, right), exact))
    cases += [("sub", (2.5, a), exact), ("div", (2.5, positive), exact)]
    for op in (">", ">=", "<", "<=", "==", "!="):
        cases += [("compare", (a, b, op), exact), ("compare", (a, 0.0, op), exact),
                  ("compare", (a, row, op), exact), ("compare", (a, M([list(r) for r in a]), op), exact)]
    mask = M([[float(v > 0) for v in r] for r in a])
    cases += [("where", (mask, a, b), exact), ("where", (mask, a, 0.5), exact),
              ("where", (mask, -1.0, b), exact), ("where", (mask, 1.0, 0.0), exact),
              ("where", (mask, row, col), exact)]
    cases += [("pow", (a, 2), exact), ("pow", (positive, 0.5), 1e-12), ("pow", (positive, -1.5), 1e-12),
              ("pow", (a, 3), 1e-12)]
    for fn in ("neg", "abs", "sign", "sqrt"):
        cases.append(("unary", (positive if fn == "sqrt" else M(a + [[0.0, -0.0, 1.0]]), fn), exact))
    for fn in ("exp", "log", "log1p", "tanh", "erf", "sigmoid"):
        source = positive if fn in ("log", "log1p") else M(a + [[40.0, -40.0, 0.0]])
        cases.append(("unary", (source, fn), 1e-12))
    cases += [("clamp", (a, -0.5, 0.5), exact), ("clamp", (a, -0.5, None), exact),
              ("clamp", (a, None, 0.5), exact)]
    cases += [("transpose", (a,), exact), ("copy", (a,), exact), ("dtype", (a,), exact), ("from_rows", (a,), exact),
              ("to_rows", (a,), exact), ("shape", (a,), exact), ("full", (2, 3, -1.25), exact)]
    for reduce in ("sum", "max", "min"):
        tolerance = 1e-12 if reduce == "sum" else exact
        cases += [(reduce, (a, None), tolerance), (reduce, (a, 0), tolerance), (reduce, (a, 1), tolerance)]
    cases += [("log_softmax", (a,), 1e-12), ("log_softmax", (M([[1000.0, 0.0, -1000.0], [-745.0, 709.0, 3.0]]),), 1e-12)]
    ties = M([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    cases += [("argmax", (a, 0), exact), ("argmax", (a, 1), exact), ("argmax", (ties, 1), exact),
              ("argmax", (ties, 0), exact)]
    cases += [("reshape", (a, 2, 6), exact), ("reshape", (a, 12, 1), exact), ("reshape", (a, 1, 12), exact),
              ("take_rows", (a, [2, 0, 2]), exact), ("take_rows", (a, range(1, 3)), exact),
              ("take_rows", (a, range(3, 0, -2)), exact), ("concat_rows", ([a, row, b],), exact)]
    # Patches (im2col) and their adjoint: -1 reads a padding zero, and positions repeat across patches.
    patch_index = [0, 1, -1, 2, 1, 2, 0, -1, 2, 0, 0, 1]
    cases += [("unfold", (a, patch_index, 3), exact), ("unfold", (a, patch_index, 12), exact),
              ("fold", (M(matrix(16, 3, rng)), patch_index, 6), exact), ("fold", (a, [2, 2, -1], 3), exact)]
    # Products of every kind a Linear layer makes: by a transpose on either side, and with one or
    # two long rows on the right (which the pure-Python kernel sums row by row).
    w, grad = M(matrix(5, 3, rng)), M(matrix(4, 5, rng))
    cases += [("matmul", (a, M(matrix(3, 5, rng))), 1e-12), ("matmul", (a, Transposed(w)), 1e-12),
              ("matmul", (Transposed(grad), a), 1e-12), ("matmul", (grad, w), 1e-12),
              ("matmul", (col, M(matrix(1, 9, rng))), 1e-12),
              ("matmul", (M(matrix(4, 2, rng)), Transposed(matrix(16, 2, rng))), 1e-12)]
    return cases


def adam_cases():
    rng = random.Random(11)
    p, g, m = (M(matrix(3, 4, rng)) for _ in range(3))
    v, largest = (M(matrix(3, 4, rng, 0.0, 1.0)) for _ in range(2))
    options = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 3}
    return [("adam_step", (p, g, m, v, None), options), ("adam_step", (p, g, m, v, largest), options)]


def run_kernel(backend, kernel, args, kwargs=None):
    def storage(value):
        if isinstance(value, Transposed):
            return backend.transpose(backend.from_rows([list(r) for r in value]))
        if isinstance(value, M):
            return backend.from_rows([list(r) for r in value])
        if isinstance(value, list) and value and isinstance(value[0], M):
            return [storage(v) for v in value]
        return value

    return as_python(getattr(backend, kernel)(*map(storage, args), **(kwargs or {})))


def as_python(result):
    """Results of either backend as Python values, to compare."""
    if isinstance(result, tuple):
        return tuple(None if r is None else as_python(r) for r in result)
    if isinstance(result, np.ndarray):
        return result.tolist()
    if isinstance(result, list):
        return [list(r) for r in result]
    return result


@pytest.mark.parametrize("kernel, args, tolerance", kernel_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_kernel_gives_the_pure_python_result(kernel, args, tolerance):
    expected = run_kernel(PY, kernel, args)
    actual = run_kernel(NP, kernel, args)
    if tolerance == 0.0:
        assert actual == expected
        assert type(actual) is type(expected)
    else:
        assert_close(actual, expected, tol=tolerance)


@pytest.mark.parametrize("args, options", [case[1:] for case in adam_cases()], ids=["adam", "amsgrad"])
def test_fused_adam_kernel_is_bit_identical(args, options):
    assert run_kernel(NP, "adam_step", args, options) == run_kernel(FAST, "adam_step", args, options)


def test_numpy_log_softmax_gives_exactly_the_numbers_of_the_kernels_it_fuses():
    """The override reuses its temporaries in place; Backend.log_softmax composes the same kernels."""
    for rows in (matrix(4, 3, random.Random(2)), matrix(70, 5, random.Random(3)), [[1000.0, 0.0, -1000.0]]):
        a = NP.from_rows(rows)
        assert NP.log_softmax(a).tolist() == Backend.log_softmax(NP, a).tolist()


def test_every_kernel_of_the_interface_is_implemented_and_tested():
    kernels = set(KERNELS)
    # astype is tested on its own below: the pure-Python backend has no second dtype to compare.
    assert kernels == {case[0] for case in kernel_cases()} | {"astype"}
    assert all(callable(getattr(NumpyBackend, k)) for k in kernels)
    assert callable(NumpyBackend.adam_step)  # the optional fused kernel, tested above


def test_astype_converts_between_float64_and_float32_and_back():
    a = NP.from_rows(matrix(3, 2, random.Random(5)))
    single = NP.astype(a, "float32")
    assert (NP.dtype(a), NP.dtype(single)) == ("float64", "float32")
    assert NP.astype(single, "float64").tolist() == a.astype(np.float32).astype(np.float64).tolist()
    with pytest.raises(TypeError, match="float64 only"):
        PY.astype(PY.from_rows([[1.0]]), "float32")


@pytest.mark.parametrize("in_features, out_features, bias",
                         [(2, 16, True), (5, 3, True), (12, 1, True), (4, 6, False)])
def test_linear_gives_the_same_output_and_gradients_on_both_backends(in_features, out_features, bias):
    """One Linear layer's forward and backward, from the same weights, input and incoming
    gradient: the backends' matrix products may round differently, by no more than 1e-12."""
    def run(backend):
        lamina.set_backend(backend)
        lamina.manual_seed(4)
        layer = nn.Linear(in_features, out_features, bias=bias)
        x, grad = lamina.randn(7, in_features), lamina.randn(7, out_features)
        out = layer(x)
        assert nn.functional.linear(x, layer.weight, layer.bias).tolist() == out.tolist()
        grad_x = layer.backward(grad)
        return [out, grad_x] + [p.grad for p in layer.parameters()]

    on_numpy, on_python = run("numpy"), run("python")
    assert {t.backend.name for t in on_numpy} == {"numpy"}
    assert len(on_numpy) == len(on_python) == 3 + bias
    for ours, reference in zip(on_numpy, on_python):
        assert_close(ours, reference, tol=1e-12)


def test_kernels_return_2d_float64_arrays():
    x = NP.from_rows([[1.0, -2.0], [3.0, 4.0]])
    for result in (NP.compare(x, 0.0, ">"), NP.argmax(x, 1), NP.where(x > 0, x, 0.0), NP.sum(x, 0),
                   NP.unfold(x, [1, -1], 2), NP.unary(x, "erf")):
        assert result.dtype == np.float64 and result.ndim == 2
    assert type(NP.sum(x, None)) is float and type(NP.max(x, None)) is float


# --- the conformance kit (gradient checks, state dicts, determinism) under numpy ----------------


@pytest.mark.lamina_conformance(distribution="lamina", kinds=["modules", "losses", "optimizers"])
def test_builtin_component_under_numpy(lamina_check, numpy_backend):
    lamina_check()


# --- the tensor API on numpy ----------------------------------------------------------------


def test_factories_build_on_the_selected_backend(numpy_backend):
    lamina.manual_seed(5)
    drawn = lamina.randn(3, 2)
    made = [lamina.tensor([[1.0, 2.0]]), lamina.zeros(2, 2), lamina.ones(1, 3), lamina.full(2, 1, 7.0),
            lamina.rand(2, 2), lamina.one_hot([0, 2], 3), drawn, lamina.cat([drawn, drawn]),
            lamina.where(drawn > 0.0, drawn, 0.0), lamina.zeros_like(drawn), lamina.rand_like(drawn)]
    assert all(isinstance(t.data, np.ndarray) and t.backend.name == "numpy" for t in made)
    lamina.set_backend("python")
    lamina.manual_seed(5)
    assert lamina.randn(3, 2).tolist() == drawn.tolist()  # the same draws on either backend


def test_initial_weights_are_identical_across_backends(numpy_backend):
    def model():
        lamina.manual_seed(9)
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2, init="orthogonal"))

    on_numpy = model().state_dict()
    lamina.set_backend("python")
    on_python = model().state_dict()
    assert {k: v.tolist() for k, v in on_numpy.items()} == {k: v.tolist() for k, v in on_python.items()}
    assert {v.backend.name for v in on_numpy.values()} == {"numpy"}


def test_mixing_backends_is_a_one_line_error_naming_both():
    on_python = lamina.tensor([[1.0, 2.0]])
    lamina.set_backend("numpy")
    on_numpy = lamina.tensor([[3.0, 4.0]])
    operations = [lambda: on_numpy + on_python, lambda: on_python * on_numpy, lambda: on_numpy @ on_python.T,
                  lambda: lamina.cat([on_numpy, on_python]), lambda: on_numpy.maximum(on_python),
                  lambda: lamina.where(on_numpy > 0.0, on_python, 0.0),
                  lambda: nn.Linear(2, 1)(on_python)]
    for operation in operations:
        with pytest.raises(lamina.BackendError) as error:
            operation()
        message = str(error.value)
        assert "\n" not in message and "numpy" in message and "python" in message and ".to(" in message


def test_to_converts_between_backends_and_is_a_no_op_on_the_same_one():
    x = lamina.tensor([[1.0, -2.5], [0.1, 3.0]])
    lamina.set_backend("numpy")
    moved = x.to("numpy")
    assert isinstance(moved.data, np.ndarray) and moved.tolist() == x.tolist()
    assert moved.to("numpy") is moved and x.to(lamina.get_backend()).backend.name == "numpy"
    assert (moved + lamina.tensor([[1.0, 1.0]])).tolist() == [[2.0, -1.5], [1.1, 4.0]]
    back = moved.to("python")
    assert isinstance(back.data, list) and back.tolist() == x.tolist()


def test_module_to_moves_parameters_buffers_and_gradients(numpy_backend):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    x = lamina.randn(4, 2)
    model.backward(model(x))
    before = {k: v.tolist() for k, v in model.state_dict().items()}
    weight = model[0].weight
    assert model.to("python") is model and model[0].weight is weight
    assert {k: v.tolist() for k, v in model.state_dict().items()} == before
    assert all(isinstance(v.data, list) for v in model.state_dict().values())
    assert isinstance(weight.grad.data, list)
    assert model(x.to("python")).backend.name == "python"


def test_dataloader_batches_come_on_the_backend_selected_when_it_was_made():
    x, y = lamina.randn(10, 2), lamina.randn(10, 1)  # built on pure Python
    dataset = lamina.data.TensorDataset(x, y)
    on_python = lamina.data.DataLoader(dataset, batch_size=4)
    lamina.set_backend("numpy")
    batches = list(lamina.data.DataLoader(dataset, batch_size=4))
    assert all(isinstance(t.data, np.ndarray) for batch in batches for t in batch)
    assert lamina.cat([b[0] for b in batches]).tolist() == x.tolist()
    assert all(isinstance(t.data, list) for batch in on_python for t in batch)


def test_load_state_dict_copies_onto_each_parameters_backend(numpy_backend):
    model = nn.Linear(2, 2)
    state = {k: v.to("python") for k, v in nn.Linear(2, 2).state_dict().items()}
    model.load_state_dict(state)
    assert isinstance(model.weight.data, np.ndarray)
    assert model.weight.tolist() == state["weight"].tolist()


def test_optimizer_state_follows_its_parameters_backend(numpy_backend):
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model.backward(model(lamina.randn(3, 2)))
    opt.step()
    saved = opt.state_dict()
    lamina.set_backend("python")
    twin = nn.Linear(2, 1).to("python")
    twin.load_state_dict(model.state_dict())
    again = optim.Adam(twin.parameters(), lr=0.1)
    again.load_state_dict(saved)  # numpy state, pure-Python parameters
    assert {type(s["exp_avg"].data) for s in again.state.values()} == {list}


# --- whole runs -----------------------------------------------------------------------------


def circle_run(backend, epochs=None):
    config = default_config()
    config["backend"] = backend
    run = build_run(config, epochs=epochs)
    run.fit()
    return run


def test_the_circle_run_trains_the_same_under_numpy():
    """The lesson's whole run (100 epochs): numpy ends within about 1e-12 of pure Python."""
    python_run = circle_run("python")
    numpy_run = circle_run("numpy")
    assert {p.backend.name for p in numpy_run.model.parameters()} == {"numpy"}
    for ours, reference in zip(numpy_run.model.parameters(), python_run.model.parameters()):
        assert_close(ours, reference, tol=1e-9)
    assert numpy_run.test()["accuracy"] == python_run.test()["accuracy"]
    assert python_run.test()["accuracy"] > 0.9


@pytest.mark.parametrize("trained_on, loaded_on", [("numpy", "python"), ("python", "numpy")])
def test_a_model_saved_under_one_backend_loads_under_the_other(tmp_path, trained_on, loaded_on):
    run = circle_run(trained_on, epochs=3)
    x = lamina.randn(20, 2)
    expected = run.model.eval()(x).tolist()
    lamina.save(run.model, tmp_path / "model.json")
    lamina.set_backend(loaded_on)
    model = lamina.load(tmp_path / "model.json")
    assert {p.backend.name for p in model.parameters()} == {loaded_on}
    assert_close(model.eval()(x.to(loaded_on)), expected, tol=1e-12)


def test_the_config_and_the_cli_select_the_backend(tmp_path, capsys):
    from lamina.cli.app import main

    config = tmp_path / "run.toml"
    config.write_text(
        'backend = "numpy"\nseed = 1\n[data]\ndataset = { name = "circle", n = 40, seed = 1 }\n'
        'batch_size = 8\n[model]\nlayers = [{ name = "Linear", in_features = 2, out_features = 1 }]\n'
        '[loss]\nname = "MSELoss"\n[optimizer]\nname = "SGD"\nlr = 0.1\n[trainer]\nmax_epochs = 1\n'
    )
    run = build_run(read_config(config))
    assert isinstance(run.model[0].weight.data, np.ndarray)
    lamina.set_backend("python")
    assert main(["train", str(config), "--backend", "python", "--out", str(tmp_path / "m.json")]) in (0, None)
    assert lamina.get_backend().name == "python"
    assert main(["train", str(config), "--backend", "numpi"]) not in (0, None)
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("lamina train: error: backend: no backend named 'numpi'")
    assert "numpy" in error[-1] and str(config) not in error[-1]  # the flag was wrong, not the file


# --- numpy stays optional -------------------------------------------------------------------


def test_without_numpy_the_plugin_imports_and_asking_for_it_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_numpy(name, *args, **kwargs):
        if name == "numpy" or name.startswith("numpy."):
            raise ModuleNotFoundError("No module named 'numpy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    for name in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "lamina.plugins.numpy_backend")
    plugin = importlib.import_module("lamina.plugins.numpy_backend")  # imports without numpy
    expected = ("the numpy backend needs numpy, which is not installed: pip install numpy threadpoolctl "
                "(or, in a lamina checkout, pip install -e '.[numpy]')")
    with pytest.raises(lamina.LaminaError) as error:
        plugin.NumpyBackend()
    assert str(error.value) == expected
    with pytest.raises(ImportError) as error:  # through the registry, as set_backend("numpy") asks
        lamina.set_backend("numpy")
    assert str(error.value) == expected
    assert lamina.get_backend().name == "python"
    assert math.isfinite(lamina.tensor([[1.0]]).item())


def test_adam_on_numpy_updates_parameters_and_state_in_place(numpy_backend):
    lamina.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = optim.Adam(model.parameters(), lr=0.1, amsgrad=True)
    x, y = lamina.randn(5, 4), lamina.randn(5, 3)
    loss_fn = nn.MSELoss()

    def step():
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()

    step()  # the first step makes the state
    arrays = [p.data for p in model.parameters()]
    state = [s[k].data for s in opt.state.values() for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")]
    before = [a.copy() for a in arrays]
    step()
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))  # updated where they lie
    after = [s[k].data for s in opt.state.values() for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")]
    assert all(a is b for a, b in zip(after, state))
    assert any((a != b).any() for a, b in zip(arrays, before))
