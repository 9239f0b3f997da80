"""MaxPool1d, MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: PyTorch parity (float64, to 1e-9) over
every argument on both backends, gradient checks, the kit's checks and errors."""

import pytest

import lamina
from conftest import check_against_torch
from lamina import nn
from lamina.testing import conformance
from lamina.testing.gradcheck import check_module_gradients

# (layer, case name, constructor arguments, input shape); the same arguments build torch's module.
CASES = [
    ("MaxPool2d", "kernel", dict(kernel_size=2), (2, 3, 4, 6)),
    ("MaxPool2d", "odd_size", dict(kernel_size=2), (2, 1, 5, 5)),
    ("MaxPool2d", "stride", dict(kernel_size=3, stride=1), (2, 2, 4, 5)),
    ("MaxPool2d", "pairs", dict(kernel_size=(2, 3), stride=(1, 2)), (2, 2, 4, 7)),
    ("MaxPool2d", "padding", dict(kernel_size=3, stride=2, padding=1), (2, 2, 5, 6)),
    ("MaxPool2d", "padding_pair", dict(kernel_size=(2, 4), padding=(1, 2)), (1, 2, 5, 6)),
    ("MaxPool2d", "dilation", dict(kernel_size=2, dilation=2), (2, 2, 5, 6)),
    ("MaxPool2d", "dilation_padding", dict(kernel_size=2, stride=1, padding=1, dilation=(2, 1)), (2, 1, 5, 4)),
    ("MaxPool2d", "ceil_mode", dict(kernel_size=2, ceil_mode=True), (2, 2, 5, 7)),
    ("MaxPool2d", "ceil_mode_padding", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 6, 5)),
    ("MaxPool2d", "everything", dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(1, 2),
                                     ceil_mode=True), (2, 2, 7, 8)),
    ("MaxPool1d", "kernel", dict(kernel_size=2), (2, 3, 7)),
    ("MaxPool1d", "stride_padding", dict(kernel_size=3, stride=2, padding=1), (2, 2, 8)),
    ("MaxPool1d", "dilation_ceil", dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True), (2, 2, 8)),
    ("AvgPool2d", "kernel", dict(kernel_size=2), (2, 3, 4, 6)),
    ("AvgPool2d", "stride_pairs", dict(kernel_size=(2, 3), stride=(1, 2)), (2, 2, 4, 7)),
    ("AvgPool2d", "padding", dict(kernel_size=3, stride=2, padding=1), (2, 2, 5, 6)),
    ("AvgPool2d", "padding_excluded", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), (2, 2, 5, 6)),
    ("AvgPool2d", "ceil_mode", dict(kernel_size=2, ceil_mode=True), (2, 2, 5, 7)),
    ("AvgPool2d", "ceil_mode_padding", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 6, 5)),
    ("AvgPool2d", "ceil_mode_padding_excluded", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                     count_include_pad=False), (2, 2, 6, 5)),
    ("AvgPool2d", "divisor_override", dict(kernel_size=2, padding=1, divisor_override=3), (2, 2, 4, 5)),
    ("AvgPool2d", "everything", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True,
                                     count_include_pad=False, divisor_override=5), (2, 2, 6, 5)),
    ("AdaptiveAvgPool2d", "divides", dict(output_size=2), (2, 3, 4, 6)),
    ("AdaptiveAvgPool2d", "overlapping", dict(output_size=(3, 4)), (2, 2, 5, 7)),
    ("AdaptiveAvgPool2d", "global", dict(output_size=1), (2, 3, 4, 5)),
    ("AdaptiveAvgPool2d", "keep_height", dict(output_size=(None, 2)), (2, 2, 3, 5)),
    ("AdaptiveAvgPool2d", "larger_than_input", dict(output_size=(4, 3)), (2, 1, 3, 2)),
]
IDS = [f"{layer}-{name}" for layer, name, _, _ in CASES]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, name, kwargs, shape", CASES, ids=IDS)
def test_matches_pytorch(torch, layer, name, kwargs, shape):
    module, twin = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    check_against_torch(torch, module, twin, lamina.randn(*shape))
    check_against_torch(torch, module, twin, lamina.randn(*shape) - 10.0)  # padding must never win a max


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, kwargs, shape", [
    ("MaxPool2d", dict(kernel_size=2, padding=1), (2, 3, 4)), ("MaxPool1d", dict(kernel_size=2), (2, 5)),
    ("AvgPool2d", dict(kernel_size=2), (1, 4, 4)), ("AdaptiveAvgPool2d", dict(output_size=3), (2, 4, 5))])
def test_unbatched_input_matches_pytorch(torch, layer, kwargs, shape):
    module, twin = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    check_against_torch(torch, module, twin, lamina.randn(*shape))


@pytest.mark.usefixtures("backend")
def test_max_gradient_goes_to_the_first_of_equal_maxima(torch):
    """After a ReLU many windows hold several equal values; PyTorch gives the gradient to the first."""
    x = lamina.tensor([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]]]])
    for kwargs in (dict(kernel_size=2), dict(kernel_size=2, stride=1, padding=1)):
        check_against_torch(torch, nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x)


@pytest.mark.parametrize("layer, name, kwargs, shape", [c for c in CASES if c[1] == "everything"]
                         + [c for c in CASES if c[1] in ("dilation_ceil", "overlapping")])
def test_gradients(layer, name, kwargs, shape):
    check_module_gradients(getattr(nn, layer)(**kwargs), lamina.randn(*shape))


def test_gradients_numpy(numpy_backend):
    check_module_gradients(nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True), lamina.randn(2, 2, 6, 5))


FACTORIES = ("MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")


@pytest.mark.parametrize("case", [c for name in FACTORIES for c in conformance.cases(getattr(nn, name))],
                         ids=lambda c: c.id)
def test_conformance_kit(case):
    case()


@pytest.mark.parametrize("make, message", [
    (lambda: nn.MaxPool2d(2, return_indices=True), r"MaxPool2d\(return_indices=True\): lamina's pooling returns"),
    (lambda: nn.MaxPool2d(3, padding=2), r"padding must be at most half of the effective kernel size"),
    (lambda: nn.MaxPool1d(3, padding=2, dilation=2), r"MaxPool1d\(padding=2, kernel_size=3\): padding must be at "
                                                     r"most half of kernel_size"),
    (lambda: nn.AvgPool2d(2, padding=(0, 2)), r"AvgPool2d\(padding=\(0, 2\), kernel_size=2\)"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), r"divisor_override must be >= 1, got 0"),
    (lambda: nn.MaxPool2d(0), r"MaxPool2d\(kernel_size=0\): kernel_size must be an int >= 1 or a tuple of 2"),
    (lambda: nn.MaxPool2d(2, stride="same"), r"stride must be an int >= 1 or a tuple of 2 of them or None"),
    (lambda: nn.AdaptiveAvgPool2d((2, 0)), r"AdaptiveAvgPool2d\(output_size=\(2, 0\)\): output_size must be"),
])
def test_bad_arguments_are_refused_in_one_line(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_inputs_of_the_wrong_rank_or_too_small_raise_shape_errors():
    with pytest.raises(lamina.ShapeError, match=r"MaxPool2d takes \(N, C, H, W\) input .* got shape \(4, 5\)"):
        nn.MaxPool2d(2)(lamina.randn(4, 5))
    with pytest.raises(lamina.ShapeError, match=r"smaller than the kernel"):
        nn.AvgPool2d(3)(lamina.randn(1, 1, 2, 5))


def test_numpy_kernels_for_patches_give_pure_pythons_numbers():
    """The numpy backend reduces many short rows through their transpose and keeps fold's landing
    places per batch size: the same numbers as the reference kernels, bit for bit."""
    numpy = pytest.importorskip("numpy")
    reference, fast = lamina.pure_python.PurePythonBackend(), lamina.backend.resolve_backend("numpy")
    rows = lamina.randn(200, 5).tolist()
    for kernel in ("sum", "max", "min", "argmax"):
        assert getattr(fast, kernel)(numpy.array(rows), 1).tolist() == getattr(reference, kernel)(rows, 1)
    index = [3, -1, 0, 2, 2, -1]
    for batch in (4, 3, 4):  # a smaller last batch, then full ones again
        x = lamina.randn(batch, 4).tolist()
        patches = fast.unfold(numpy.array(x), index, 2)
        assert patches.tolist() == reference.unfold(x, index, 2)
        assert fast.fold(patches, index, 4).tolist() == reference.fold(reference.unfold(x, index, 2), index, 4)
