"""Conv1d and Conv2d: PyTorch parity (float64, to 1e-9) over every argument, gradient checks, the
kit's checks, errors, and a CNN's state dict carried to torch.nn and back."""

import pytest

import lamina
from conftest import check_against_torch, to_torch
from lamina import nn
from lamina.testing import conformance
from lamina.testing.gradcheck import check_module_gradients

# name -> (constructor arguments, input shape); the same arguments build torch's module.
CONV2D = {
    "plain": (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 5, 6)),
    "rectangular_kernel": (dict(in_channels=1, out_channels=2, kernel_size=(2, 3)), (2, 1, 4, 5)),
    "stride": (dict(in_channels=2, out_channels=2, kernel_size=2, stride=2), (2, 2, 5, 5)),
    "stride_pair": (dict(in_channels=2, out_channels=2, kernel_size=3, stride=(2, 1)), (1, 2, 6, 5)),
    "padding": (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1), (2, 2, 4, 4)),
    "padding_pair": (dict(in_channels=1, out_channels=2, kernel_size=3, padding=(2, 0)), (2, 1, 4, 5)),
    "same_odd": (dict(in_channels=2, out_channels=2, kernel_size=3, padding="same"), (2, 2, 4, 5)),
    "same_even": (dict(in_channels=2, out_channels=2, kernel_size=(2, 4), padding="same"), (2, 2, 4, 5)),
    "same_dilated": (dict(in_channels=1, out_channels=2, kernel_size=2, padding="same", dilation=(2, 3)),
                     (2, 1, 5, 6)),
    "valid": (dict(in_channels=2, out_channels=2, kernel_size=2, padding="valid"), (2, 2, 3, 4)),
    "dilation": (dict(in_channels=2, out_channels=2, kernel_size=2, dilation=2), (2, 2, 5, 5)),
    "groups": (dict(in_channels=4, out_channels=6, kernel_size=2, groups=2), (2, 4, 3, 4)),
    "depthwise": (dict(in_channels=3, out_channels=3, kernel_size=3, groups=3, padding=1), (2, 3, 4, 4)),
    "no_bias": (dict(in_channels=2, out_channels=3, kernel_size=2, bias=False), (2, 2, 3, 3)),
    "everything": (dict(in_channels=4, out_channels=2, kernel_size=(3, 2), stride=(2, 3), padding=(1, 2),
                        dilation=(1, 2), groups=2, bias=False), (3, 4, 6, 7)),
    "one_by_one": (dict(in_channels=3, out_channels=2, kernel_size=1), (2, 3, 2, 2)),
}

CONV1D = {
    "plain": (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 7)),
    "stride_padding": (dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=2), (2, 2, 7)),
    "same_even": (dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"), (2, 2, 6)),
    "valid_dilated": (dict(in_channels=1, out_channels=2, kernel_size=2, dilation=3, padding="valid"), (2, 1, 7)),
    "groups_no_bias": (dict(in_channels=4, out_channels=2, kernel_size=(2,), groups=2, bias=False), (3, 4, 5)),
}

CASES = [("Conv2d", name, *case) for name, case in CONV2D.items()] + \
        [("Conv1d", name, *case) for name, case in CONV1D.items()]


def randomised(module):
    for p in module.parameters():
        p.copy_(lamina.randn(*p.shape))
    return module


def torch_twin(torch, module):
    twin = getattr(torch.nn, type(module).__name__)(**lamina.config_of(module))
    twin.load_state_dict({k: to_torch(torch, v) for k, v in module.state_dict().items()})
    return twin


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, name, kwargs, shape", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_matches_pytorch(torch, layer, name, kwargs, shape):
    module = randomised(getattr(nn, layer)(**kwargs))
    check_against_torch(torch, module, torch_twin(torch, module), lamina.randn(*shape))


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, shape", [("Conv2d", (2, 3, 4)), ("Conv1d", (2, 5))])
def test_unbatched_input_matches_pytorch(torch, layer, shape):
    module = randomised(getattr(nn, layer)(2, 3, kernel_size=2, padding=1))
    check_against_torch(torch, module, torch_twin(torch, module), lamina.randn(*shape))


@pytest.mark.parametrize("layer, name, kwargs, shape",
                         [c for c in CASES if c[1] in ("everything", "same_even", "groups_no_bias")])
def test_gradients(layer, name, kwargs, shape):
    module = randomised(getattr(nn, layer)(**kwargs))
    check_module_gradients(module, lamina.randn(*shape))


def test_gradients_numpy(numpy_backend):
    module = randomised(nn.Conv2d(**CONV2D["everything"][0]))
    check_module_gradients(module, lamina.randn(*CONV2D["everything"][1]))


@pytest.mark.parametrize("case", [c for factory in (nn.Conv1d, nn.Conv2d) for c in conformance.cases(factory)],
                         ids=lambda c: c.id)
def test_conformance_kit(case):
    case()


def test_pytorch_initialisation_bounds():
    """kaiming_uniform_(a=sqrt(5)): weight and bias in +-1/sqrt(C/groups * kH * kW)."""
    conv = nn.Conv2d(4, 8, kernel_size=(3, 2), groups=2)
    bound = 1 / (2 * 3 * 2) ** 0.5
    values = conv.weight.reshape(-1).tolist() + conv.bias.tolist()
    assert all(-bound <= v <= bound for v in values) and max(map(abs, values)) > 0.8 * bound
    assert conv.weight.shape == (8, 2, 3, 2) and conv.bias.shape == (8,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(padding_mode="reflect"), r"Conv2d\(padding_mode='reflect'\): lamina pads with zeros only"),
    (dict(padding="same", stride=2), r"padding='same' needs stride 1"),
    (dict(padding="full"), r"padding must be an int >= 0 or a tuple of 2 of them or 'same' or 'valid'"),
    (dict(kernel_size=(2, 2, 2)), r"kernel_size must be an int >= 1 or a tuple of 2"),
    (dict(stride=0), r"Conv2d\(stride=0\): stride must be an int >= 1"),
    (dict(groups=4), r"Conv2d\(in_channels=2, groups=4\): in_channels must be divisible by groups"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**{"in_channels": 2, "out_channels": 4, "kernel_size": 2, **kwargs})


@pytest.mark.parametrize("shape, message", [
    ((2, 3, 5, 5), r"Conv2d\(in_channels=2\) got input with 3 channels \(shape \(2, 3, 5, 5\)\)"),
    ((2, 10), r"Conv2d takes \(N, C, H, W\) input \(or unbatched, without N\), got shape \(2, 10\)"),
    ((2, 2, 2, 5), r"output of spatial size \(0, 3\): the \(padded\) input is smaller than the kernel"),
])
def test_bad_inputs_raise_shape_errors(shape, message):
    with pytest.raises(lamina.ShapeError, match=message):
        nn.Conv2d(2, 4, kernel_size=3)(lamina.randn(*shape))


def test_fan_in_and_fan_out_of_a_convolution_weight_count_every_kernel_position_as_pytorch(torch):
    for shape in [(8, 3, 3, 3), (4, 2, 5), (6, 1, 2, 3)]:
        weight = lamina.zeros(*shape)
        expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        assert lamina.nn.init.calculate_fan_in_and_fan_out(weight) == expected
    with pytest.raises(ValueError, match=r"fan in and fan out need a weight of at least 2 dimensions"):
        lamina.nn.init.calculate_fan_in_and_fan_out(lamina.zeros(3))
