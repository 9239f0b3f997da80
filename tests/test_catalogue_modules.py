"""The catalogue's activations and LayerNorm: gradient checks, PyTorch parity, errors."""

import math

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn
from lamina.testing.gradcheck import check_module_gradients

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

# name -> (lamina module, torch module), built from a torch namespace.
MODULES = {
    "identity": (lambda: nn.Identity(), lambda t: t.nn.Identity()),
    "leaky_relu": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU()),
    "leaky_relu_0.2": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    "elu": (lambda: nn.ELU(), lambda t: t.nn.ELU()),
    "elu_alpha": (lambda: nn.ELU(alpha=0.7), lambda t: t.nn.ELU(alpha=0.7)),
    "gelu": (lambda: nn.GELU(), lambda t: t.nn.GELU()),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), lambda t: t.nn.GELU(approximate="tanh")),
    "silu": (lambda: nn.SiLU(), lambda t: t.nn.SiLU()),
    "softmax": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1)),
    "softmax_dim0": (lambda: nn.Softmax(dim=0), lambda t: t.nn.Softmax(dim=0)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1)),
    "log_softmax_dim0": (lambda: nn.LogSoftmax(dim=0), lambda t: t.nn.LogSoftmax(dim=0)),
    # inplace=True changes nothing in lamina; torch's in-place form cannot take a leaf that
    # needs a gradient, so the reference is its out-of-place form (the same function).
    "relu_inplace": (lambda: nn.ReLU(inplace=True), lambda t: t.nn.ReLU()),
    "leaky_relu_inplace": (lambda: nn.LeakyReLU(0.2, True), lambda t: t.nn.LeakyReLU(0.2)),
    "elu_inplace": (lambda: nn.ELU(alpha=0.7, inplace=True), lambda t: t.nn.ELU(alpha=0.7)),
    "silu_inplace": (lambda: nn.SiLU(inplace=True), lambda t: t.nn.SiLU()),
    "layer_norm": (lambda: nn.LayerNorm(4), lambda t: t.nn.LayerNorm(4)),
    "layer_norm_no_bias": (lambda: nn.LayerNorm((4,), bias=False), lambda t: t.nn.LayerNorm((4,), bias=False)),
    "layer_norm_no_affine": (
        lambda: nn.LayerNorm(4, eps=1e-3, elementwise_affine=False),
        lambda t: t.nn.LayerNorm(4, eps=1e-3, elementwise_affine=False),
    ),
}


def randomise_parameters(module):
    """Move parameters away from their ones/zeros start, so the checks see them at work."""
    for p in module.parameters():
        p.copy_(lamina.randn(*p.shape) * 0.5 + 1.0)


@pytest.mark.parametrize("name", MODULES)
def test_gradients(name):
    module = MODULES[name][0]()
    randomise_parameters(module)
    check_module_gradients(module, lamina.randn(5, 4) * 2.0)


@pytest.mark.parametrize("name", MODULES)
def test_matches_pytorch_forward_and_backward(torch, name):
    make, make_torch = MODULES[name]
    module, reference = make(), make_torch(torch)
    randomise_parameters(module)
    reference.load_state_dict({k: to_torch(torch, v).reshape(-1) for k, v in module.state_dict().items()})

    x = lamina.randn(6, 4) * 3.0
    grad = lamina.randn(6, 4)
    x_torch = to_torch(torch, x).requires_grad_()
    out = module(x)
    out_torch = reference(x_torch)
    out_torch.backward(to_torch(torch, grad))

    assert_close(out, out_torch.detach())
    assert_close(module.backward(grad), x_torch.grad)
    torch_params = dict(reference.named_parameters())
    assert sorted(torch_params) == sorted(name for name, _ in module.named_parameters())
    for key, p in module.named_parameters():
        assert_close(p.grad, torch_params[key].grad.reshape(1, -1))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_known_values(approximate):
    # GELU(1) = Phi(1) = 0.841344746...; the tanh form is 0.841191990...
    expected = {"none": 0.8413447460685429, "tanh": 0.8411919906082768}[approximate]
    assert nn.GELU(approximate)(lamina.tensor([[1.0]])).item() == pytest.approx(expected, abs=1e-15)


def test_elu_and_silu_do_not_overflow_for_large_inputs():
    x = lamina.tensor([[1000.0, -1000.0]])
    assert nn.ELU()(x).tolist() == [[1000.0, -1.0]]
    assert nn.SiLU()(x).tolist() == [[1000.0, -0.0]]


def test_softmaxes_are_stable_for_huge_logits():
    x = lamina.tensor([[1000.0, 1001.0, 999.0]])
    probabilities = nn.Softmax()(x).tolist()[0]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-15)
    assert probabilities[1] > probabilities[0] > probabilities[2] > 0
    log_probabilities = nn.LogSoftmax()(x).tolist()[0]
    assert log_probabilities[1] == pytest.approx(-math.log(1 + math.exp(-1) + math.exp(-2)), abs=1e-12)


def test_layer_norm_rows_have_zero_mean_and_unit_variance():
    out = nn.LayerNorm(5, eps=1e-12)(lamina.randn(3, 5) * 7.0 + 2.0)
    for row in out.tolist():
        assert sum(row) / 5 == pytest.approx(0.0, abs=1e-12)
        assert sum(v * v for v in row) / 5 == pytest.approx(1.0, abs=1e-10)


def test_layer_norm_state_dict_keys():
    assert list(nn.LayerNorm(3).state_dict()) == ["weight", "bias"]
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.LayerNorm((2, 0)), "normalized_shape must be >= 1"),
        (lambda: nn.LayerNorm(0), "normalized_shape must be >= 1"),
        (lambda: nn.LayerNorm(3, eps=0), "eps must be in"),
        (lambda: nn.GELU(approximate="fast"), "approximate must be one of 'none', 'tanh'"),
        (lambda: nn.Softmax(dim=1.5), "dim must be an integer"),
        (lambda: nn.LeakyReLU(negative_slope="x"), "negative_slope must be a number"),
    ],
)
def test_invalid_hyper_parameters_are_named(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_layer_norm_names_a_wrong_feature_count():
    with pytest.raises(lamina.ShapeError, match=r"LayerNorm\(normalized_shape=3\) got input with 4 features \(batch of 2\)"):
        nn.LayerNorm(3)(lamina.randn(2, 4))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_tensor_softmax_methods_match_pytorch(torch, dim):
    x = lamina.randn(4, 5) * 10.0
    reference = to_torch(torch, x)
    assert_close(x.softmax(dim), torch.softmax(reference, dim))
    assert_close(x.log_softmax(dim), torch.log_softmax(reference, dim))
    assert_close(x.logsumexp(dim), torch.logsumexp(reference, dim))
    assert_close(x.logsumexp(dim, keepdim=True), torch.logsumexp(reference, dim, keepdim=True))


@pytest.mark.parametrize("method", ["softmax", "log_softmax", "logsumexp"])
def test_tensor_softmax_methods_name_a_bad_dim(method):
    with pytest.raises(IndexError, match="dim None is out of range for a tensor with 2 dimensions"):
        getattr(lamina.randn(2, 3), method)(None)


INPLACE = {
    "ReLU": lambda t: t.nn.ReLU(inplace=True),
    "LeakyReLU": lambda t: t.nn.LeakyReLU(inplace=True),
    "ELU": lambda t: t.nn.ELU(inplace=True),
    "SiLU": lambda t: t.nn.SiLU(inplace=True),
    "Dropout": lambda t: t.nn.Dropout(inplace=True).eval(),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_is_accepted_and_leaves_the_input_alone(torch, name):
    module = getattr(nn, name)(inplace=True)
    if name == "Dropout":
        module.eval()
    x = lamina.randn(4, 3) * 3.0
    before = x.tolist()
    out = module(x)
    assert x.tolist() == before
    assert_close(out, INPLACE[name](torch)(to_torch(torch, x)))
    assert lamina.config_of(module)["inplace"] is True
    assert "lamina never modifies its input in place" in type(module).__doc__


def test_dropout_inplace_in_training_leaves_the_input_alone():
    x = lamina.randn(50, 4)
    before = x.tolist()
    module = nn.Dropout(0.5, inplace=True)
    out = module(x)
    assert x.tolist() == before and out.tolist() != before
    check_module_gradients(module, x)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_survives_save_and_load(tmp_path, name):
    model = nn.Sequential(nn.Linear(3, 3), getattr(nn, name)(inplace=True))
    lamina.save(model, tmp_path / "m.json")
    assert lamina.load(tmp_path / "m.json")[1].inplace is True


BATCH_NORMS = {
    "cumulative": {"momentum": None},
    "cumulative_no_bias": {"momentum": None, "bias": False},
    "no_bias": {"bias": False},
    "cumulative_no_affine": {"momentum": None, "affine": False},
    "momentum_0.3_no_bias": {"momentum": 0.3, "bias": False},
}


@pytest.mark.parametrize("name", BATCH_NORMS)
def test_batch_norm_arguments_match_pytorch_over_several_batches(torch, name):
    kwargs = BATCH_NORMS[name]
    bn, twin = nn.BatchNorm1d(4, **kwargs), torch.nn.BatchNorm1d(4, **kwargs)
    randomise_parameters(bn)
    assert list(bn.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: to_torch(torch, v).reshape(twin.state_dict()[k].shape) for k, v in bn.state_dict().items()})
    for step in range(4):  # the cumulative average differs from momentum 0.1 from the second batch on
        x, upstream = lamina.randn(8, 4) * (step + 1.0) + step, lamina.randn(8, 4)
        tx = to_torch(torch, x).requires_grad_()
        t_out = twin(tx)
        t_out.backward(to_torch(torch, upstream))
        assert_close(bn(x), t_out.detach())
        assert_close(bn.backward(upstream), tx.grad)
        for key, p in twin.named_parameters():
            assert_close(getattr(bn, key).grad, p.grad.reshape(1, 4))
        bn.zero_grad()
        twin.zero_grad()
    for key, value in twin.state_dict().items():
        assert_close(bn.state_dict()[key], value.reshape(bn.state_dict()[key].shape).double())
    bn.eval()
    twin.eval()
    x = lamina.randn(5, 4)
    assert_close(bn(x), twin(to_torch(torch, x)).detach())


@pytest.mark.parametrize("name", BATCH_NORMS)
def test_batch_norm_arguments_pass_the_gradient_check(name):
    bn = nn.BatchNorm1d(3, **BATCH_NORMS[name])
    randomise_parameters(bn)
    check_module_gradients(bn, lamina.randn(6, 3) * 2.0)


def test_batch_norm_momentum_none_and_bias_survive_config_save_and_load(tmp_path):
    bn = nn.BatchNorm1d(3, momentum=None, bias=False)
    assert lamina.config_of(bn) == {"num_features": 3, "eps": 1e-5, "momentum": None, "affine": True,
                                    "track_running_stats": True, "bias": False}
    for _ in range(3):
        bn(lamina.randn(5, 3))
    lamina.save(nn.Sequential(bn), tmp_path / "m.json")
    loaded = lamina.load(tmp_path / "m.json")[0]
    assert (loaded.momentum, loaded.bias, loaded.has_bias) == (None, None, False)
    assert loaded.state_dict().keys() == bn.state_dict().keys()
    assert_close(loaded.running_mean, bn.running_mean, tol=0)


def test_batch_norm_bias_is_keyword_only_as_in_pytorch():
    with pytest.raises(TypeError):
        nn.BatchNorm1d(3, 1e-5, 0.1, True, True, False)
    with pytest.raises(TypeError, match="momentum must be a number"):
        nn.BatchNorm1d(3, momentum="fast")
