"""Initialisers: the exact std or bound each one draws with (against PyTorch's gain and fan
formulas), sample statistics over a large tensor, orthogonality, and how Linear picks one."""

import math

import pytest

import lamina
from conftest import assert_close, to_torch
from lamina import nn
from lamina.nn import init

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

FAN_OUT, FAN_IN = 30, 70


def drawn_with(initializer, shape=(FAN_OUT, FAN_IN), **options):
    """What the initializer wrote, from a fixed seed."""
    lamina.manual_seed(7)
    return initializer(lamina.zeros(*shape), **options)


def normal_sample(std, shape=(FAN_OUT, FAN_IN), mean=0.0):
    lamina.manual_seed(7)
    return lamina.randn(*shape, mean=mean, std=std)


def uniform_sample(bound, shape=(FAN_OUT, FAN_IN)):
    lamina.manual_seed(7)
    return lamina.rand(*shape, low=-bound, high=bound)


NONLINEARITIES = [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("conv1d", None)]


@pytest.mark.parametrize("nonlinearity, param", NONLINEARITIES)
def test_calculate_gain_matches_pytorch(torch, nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_fans_match_pytorch(torch):
    weight = lamina.zeros(FAN_OUT, FAN_IN)
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(FAN_OUT, FAN_IN))
    assert init.calculate_fan_in_and_fan_out(weight) == expected == (FAN_IN, FAN_OUT)
    for mode in ("fan_in", "fan_out"):
        assert init.calculate_correct_fan(weight, mode) == torch.nn.init._calculate_correct_fan(
            torch.zeros(FAN_OUT, FAN_IN), mode
        )


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_xavier_draws_with_glorots_std_and_bound(torch, gain):
    std = gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT))
    assert_close(drawn_with(init.xavier_normal_, gain=gain), normal_sample(std), tol=0)
    assert_close(drawn_with(init.xavier_uniform_, gain=gain), uniform_sample(math.sqrt(3.0) * std), tol=0)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("leaky_relu", 0.0), ("leaky_relu", math.sqrt(5)), ("relu", 0.0), ("tanh", 0.0)])
def test_kaiming_draws_with_hes_std_and_bound(torch, mode, nonlinearity, a):
    fan = torch.nn.init._calculate_correct_fan(torch.zeros(FAN_OUT, FAN_IN), mode)
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    options = {"a": a, "mode": mode, "nonlinearity": nonlinearity}
    assert_close(drawn_with(init.kaiming_normal_, **options), normal_sample(std), tol=0)
    assert_close(drawn_with(init.kaiming_uniform_, **options), uniform_sample(math.sqrt(3.0) * std), tol=0)


def test_lecun_draws_with_one_over_fan_in():
    std = math.sqrt(1.0 / FAN_IN)
    assert_close(drawn_with(init.lecun_normal_), normal_sample(std), tol=0)
    assert_close(drawn_with(init.lecun_uniform_), uniform_sample(math.sqrt(3.0 / FAN_IN)), tol=0)


def test_plain_fills():
    assert drawn_with(init.zeros_, (2, 3)).tolist() == [[0.0] * 3] * 2
    assert drawn_with(init.ones_, (2, 3)).tolist() == [[1.0] * 3] * 2
    assert drawn_with(init.constant_, (2, 3), val=0.25).tolist() == [[0.25] * 3] * 2
    assert_close(drawn_with(init.normal_, mean=1.5, std=0.3), normal_sample(0.3, mean=1.5), tol=0)
    drawn = drawn_with(init.uniform_, a=-0.5, b=2.0)
    lamina.manual_seed(7)
    assert_close(drawn, lamina.rand(FAN_OUT, FAN_IN, -0.5, 2.0), tol=0)


def statistics(tensor):
    values = [v for row in tensor.tolist() for v in row]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return mean, std, min(values), max(values)


BIG = (200, 500)  # 100,000 samples: the sample std is within about 0.3% of the true one


@pytest.mark.parametrize(
    "name, options, std, bound",
    [
        ("normal", {"mean": 0.0, "std": 0.02}, 0.02, None),
        ("uniform", {"a": -0.3, "b": 0.3}, 0.3 / math.sqrt(3), 0.3),
        ("xavier_normal", {}, math.sqrt(2 / 700), None),
        ("xavier_uniform", {}, math.sqrt(2 / 700), math.sqrt(6 / 700)),
        ("kaiming_normal", {"nonlinearity": "relu"}, math.sqrt(2 / 500), None),
        ("kaiming_uniform", {"nonlinearity": "relu"}, math.sqrt(2 / 500), math.sqrt(6 / 500)),
        ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "tanh"}, 5 / 3 / math.sqrt(200), None),
        ("lecun_normal", {}, math.sqrt(1 / 500), None),
        ("lecun_uniform", {}, math.sqrt(1 / 500), math.sqrt(3 / 500)),
    ],
)
def test_sample_statistics_over_a_large_tensor(name, options, std, bound):
    weight = getattr(init, name + "_")(lamina.zeros(*BIG), **options)
    mean, sample_std, low, high = statistics(weight)
    count = BIG[0] * BIG[1]
    assert abs(mean) < 4 * std / math.sqrt(count)
    assert sample_std == pytest.approx(std, rel=0.015)
    if bound is not None:
        assert -bound <= low < -0.999 * bound and 0.999 * bound < high <= bound


@pytest.mark.parametrize("shape", [(8, 20), (20, 8), (12, 12)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_orthogonal(shape, gain):
    w = init.orthogonal_(lamina.zeros(*shape), gain=gain)
    rows, cols = shape
    product = w @ w.T if rows <= cols else w.T @ w
    size = min(rows, cols)
    identity = [[gain * gain if i == j else 0.0 for j in range(size)] for i in range(size)]
    assert_close(product, identity, tol=1e-9)


@pytest.mark.parametrize("shape", [(5, 9), (9, 5)])
def test_orthogonal_is_pytorchs_sign_corrected_qr_of_the_same_sample(torch, shape):
    rows, cols = shape
    lamina.manual_seed(3)
    sample = to_torch(torch, lamina.randn(rows, cols))
    lamina.manual_seed(3)
    w = init.orthogonal_(lamina.zeros(rows, cols))
    tall = sample.T if rows < cols else sample
    q, r = torch.linalg.qr(tall)
    q = q * torch.sign(torch.diagonal(r))
    assert_close(w, q.T if rows < cols else q, tol=1e-12)


def test_initializers_fill_in_place_and_resolve_through_the_registry():
    weight = lamina.zeros(3, 4)
    assert init.constant_(weight, 2.0) is weight
    assert weight.tolist() == [[2.0] * 4] * 3
    assert init.xavier_uniform_ is lamina.registry().get("initializers", "xavier_uniform")


def test_linear_default_is_kaiming_normal_with_zero_bias():
    lamina.manual_seed(11)
    layer = nn.Linear(4, 3)
    lamina.manual_seed(11)
    assert_close(layer.weight, lamina.randn(3, 4, std=math.sqrt(2.0 / 4)), tol=0)
    assert layer.bias.tolist() == [0.0, 0.0, 0.0]


def test_linear_picks_an_initializer_by_name():
    lamina.manual_seed(11)
    layer = nn.Linear(4, 3, init="xavier_uniform")
    lamina.manual_seed(11)
    assert_close(layer.weight, init.xavier_uniform_(lamina.zeros(3, 4)), tol=0)
    assert layer.bias.tolist() == [0.0, 0.0, 0.0]


def test_linear_pytorch_init_draws_weight_and_bias_within_one_over_sqrt_fan_in(torch):
    lamina.manual_seed(11)
    layer = nn.Linear(16, 5, init="pytorch")
    # torch's own weight bound for this layer: kaiming_uniform_ with a = sqrt(5)
    gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    bound = math.sqrt(3.0) * gain / math.sqrt(16)
    assert bound == pytest.approx(1 / 4, abs=1e-15)
    lamina.manual_seed(11)
    assert_close(layer.weight, lamina.rand(5, 16, -bound, bound), tol=0)
    assert_close(layer.bias, lamina.rand(1, 5, -0.25, 0.25), tol=0)
    assert nn.Linear(16, 5, bias=False, init="pytorch").bias is None


def test_an_unknown_initializer_is_named():
    with pytest.raises(ValueError, match=r"Linear\(init='xavier'\): init must be 'pytorch' or a registered initializer \(.*xavier_uniform"):
        nn.Linear(2, 3, init="xavier")
    with pytest.raises(lamina.UnknownComponentError, match="Did you mean xavier_normal"):
        init.xavier_normall_
    with pytest.raises(AttributeError, match="initialisers end in '_'"):
        init.xavier_normal


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda w: init.kaiming_normal_(w, mode="fan_avg"), ValueError, "mode must be 'fan_in' or 'fan_out'"),
        (lambda w: init.kaiming_uniform_(w, nonlinearity="softplus"), ValueError, "unsupported nonlinearity 'softplus'"),
        (lambda w: init.normal_(w, std=-1.0), ValueError, "std must be >= 0"),
        (lambda w: init.uniform_(w, a=1.0, b=0.0), ValueError, "a must be <= b"),
        (lambda w: init.constant_(w, "one"), TypeError, "val must be a number"),
        (lambda w: init.xavier_normal_(w, gain=None), TypeError, "gain must be a number"),
    ],
)
def test_bad_arguments_are_explained(call, error, message):
    with pytest.raises(error, match=message):
        call(lamina.zeros(2, 3))
