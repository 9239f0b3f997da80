"""float32 on the numpy backend: lamina.set_default_dtype, per-tensor .dtype/.float()/.double(),
parameters, optimizer state and saved files keeping their dtype, a float32 run agreeing with
PyTorch float32 to a float32 tolerance; the pure-Python backends stay float64 and say so."""

import pytest

import lamina
from lamina import nn, optim
from lamina.errors import FileFormatError
from lamina.plugins.python_backend import PythonBackend
from lamina.pure_python import PurePythonBackend

from conftest import assert_close


@pytest.fixture(autouse=True)
def float64_afterwards():
    """Every other test (the parity tests above all) runs in float64."""
    yield
    lamina.set_default_dtype("float64")


def small_model():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_float64_is_the_default_and_set_default_dtype_chooses_float32(numpy_backend):
    import numpy as np

    assert lamina.get_default_dtype() == "float64"
    assert lamina.randn(2, 3).dtype == "float64"
    lamina.set_default_dtype("float32")
    assert lamina.get_default_dtype() == "float32"
    made = [lamina.randn(2, 3), lamina.zeros(3), lamina.tensor([[1.0, 2.0]]), lamina.full((2,), 1.5),
            lamina.tensor(np.arange(6).reshape(2, 3)), lamina.one_hot([0, 2], 3)]
    assert {t.dtype for t in made} == {"float32"}
    assert {p.dtype for p in small_model().parameters()} == {"float32"}


def test_a_float_array_keeps_its_dtype_without_a_copy(numpy_backend):
    import numpy as np

    for dtype in ("float32", "float64"):
        array = np.ones((3, 2), dtype=dtype)
        taken = lamina.tensor(array)
        assert taken.dtype == dtype and np.shares_memory(taken.data, array)


def test_float_and_double_convert_a_tensor_and_results_keep_its_dtype(numpy_backend):
    x = lamina.randn(3, 4)
    single = x.float()
    assert single.dtype == "float32" and single.shape == x.shape and x.dtype == "float64"
    assert single.float() is single and x.double() is x
    assert single.double().dtype == "float64"
    assert_close(single.double(), x, tol=1e-7)
    results = [single * 2.0, single + single, single > 0.0, single.sigmoid(), single.exp(), single.sum(0),
               single @ single.T, single.clamp(min=0.0), lamina.where(single > 0.0, single, 0.0)]
    assert {t.dtype for t in results} == {"float32"}


@pytest.mark.parametrize("backend", [PythonBackend, PurePythonBackend], ids=["python", "reference"])
def test_the_pure_python_backends_are_float64_and_refuse_float32_in_one_line(backend):
    lamina.set_backend(backend())
    x = lamina.randn(2, 2)
    assert x.dtype == "float64" and x.double() is x
    for ask in (x.float, lambda: lamina.set_default_dtype("float32")):
        with pytest.raises(TypeError, match=r"^the pure-Python backend is float64 only, not float32: use "
                                            r"lamina.set_backend\('numpy'\)$"):
            ask()
    assert lamina.get_default_dtype() == "float64"


@pytest.mark.parametrize("asked", ["float16", "double", None])
def test_an_unknown_dtype_is_one_line_naming_the_two(asked):
    with pytest.raises(ValueError, match=r"the dtype must be 'float32' or 'float64'$"):
        lamina.set_default_dtype(asked)


def train(model, x, y, steps, **adam):
    loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01, **adam)
    for _ in range(steps):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return opt


def test_a_float32_run_keeps_float32_everywhere_and_fused_adam_is_bit_identical(numpy_backend):
    lamina.set_default_dtype("float32")
    x, y = lamina.randn(16, 4), lamina.tensor([float(i % 3) for i in range(16)])
    runs = []
    for fused in (True, False):
        lamina.manual_seed(1)
        model = small_model()
        opt = train(model, x, y, steps=5, fused=fused, amsgrad=True)
        states = [t for state in opt.state.values() for t in state.values() if isinstance(t, lamina.Tensor)]
        assert {t.dtype for t in [*model.parameters(), *states]} == {"float32"}
        runs.append([p.tolist() for p in model.parameters()])
    assert runs[0] == runs[1]


def test_a_float32_model_keeps_float32_state_under_a_float64_default(numpy_backend):
    model = small_model()
    for p in model.parameters():
        p.data = p.float().data
    opt = train(model, lamina.randn(8, 4).float(), lamina.tensor([0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 1.0, 0.0]), 2)
    states = [t for state in opt.state.values() for t in state.values() if isinstance(t, lamina.Tensor)]
    assert {t.dtype for t in [*model.parameters(), *states]} == {"float32"}


def test_a_float32_run_agrees_with_pytorch_float32(numpy_backend, torch):
    lamina.set_default_dtype("float32")
    model = small_model()
    x, y = lamina.randn(16, 4), [i % 3 for i in range(16)]
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).to(torch.float32)
    with torch.no_grad():
        for mine, their in zip(model.parameters(), theirs.parameters()):
            their.copy_(torch.tensor(mine.tolist(), dtype=torch.float32))
    train(model, x, lamina.tensor([float(v) for v in y]), steps=10)
    their_opt, inputs = torch.optim.Adam(theirs.parameters(), lr=0.01), torch.tensor(x.tolist(), dtype=torch.float32)
    for _ in range(10):
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(inputs), torch.tensor(y)).backward()
        their_opt.step()
    for mine, their in zip(model.parameters(), theirs.parameters()):
        assert their.dtype == torch.float32
        assert_close(mine, their.detach(), tol=1e-5)


def test_a_saved_float32_model_loads_as_float32_and_float64_files_name_no_dtype(numpy_backend, tmp_path):
    lamina.set_default_dtype("float32")
    model = small_model()
    lamina.save(model, tmp_path / "single.json")
    lamina.set_default_dtype("float64")
    loaded = lamina.load(tmp_path / "single.json")
    assert {p.dtype for p in loaded.parameters()} == {"float32"}
    assert [p.tolist() for p in loaded.parameters()] == [p.tolist() for p in model.parameters()]
    lamina.save(loaded.to("numpy"), tmp_path / "again.json")
    assert '"dtype":"float32"' in (tmp_path / "again.json").read_text()

    double = small_model()
    lamina.save(double, tmp_path / "double.json")
    assert '"dtype"' not in (tmp_path / "double.json").read_text()
    lamina.set_default_dtype("float32")  # a float64 file loads as float64 whatever the default
    assert {p.dtype for p in lamina.load(tmp_path / "double.json").parameters()} == {"float64"}


def test_a_float32_file_loads_as_float64_on_the_pure_python_backend(numpy_backend, tmp_path):
    lamina.set_default_dtype("float32")
    model = small_model()
    lamina.save(model, tmp_path / "single.json")
    lamina.set_default_dtype("float64")
    lamina.set_backend("python")
    loaded = lamina.load(tmp_path / "single.json")
    assert {p.dtype for p in loaded.parameters()} == {"float64"}
    assert [p.tolist() for p in loaded.parameters()] == [p.tolist() for p in model.parameters()]


def test_a_file_with_an_unknown_dtype_is_refused_in_one_line(tmp_path):
    lamina.save(small_model(), tmp_path / "model.json")
    text = (tmp_path / "model.json").read_text().replace('"data"', '"dtype": "int8", "data"', 1)
    (tmp_path / "model.json").write_text(text)
    with pytest.raises(FileFormatError, match=r"the dtype 'int8' is not 'float32' or 'float64'$"):
        lamina.load(tmp_path / "model.json")


def test_copying_and_loading_keep_the_receivers_dtype_as_pytorch(numpy_backend):
    lamina.set_default_dtype("float32")
    model = small_model()
    lamina.set_default_dtype("float64")
    float64_weights = {k: v.double() for k, v in model.state_dict().items()}
    model.load_state_dict(float64_weights)  # float64 values into a float32 model: it stays float32
    assert {p.dtype for p in model.parameters()} == {"float32"}
    weight = model.parameters()[0]
    weight.copy_(lamina.randn(*weight.shape))  # a float64 tensor, as torch's copy_ casts it
    weight.copy_(0.5)
    assert weight.dtype == "float32" and lamina.zeros_like(weight).dtype == "float32"
    assert lamina.zeros_like(lamina.randn(2, 2)).dtype == "float64"
