"""The numpy backend's sigmoid: 1/(1+e^-x) in four passes over one array, accurate to a few ulps
everywhere and silent at the extremes (e^-x overflowing to inf gives the limit, 0)."""

import math
import warnings

import pytest

import lamina
from conftest import NO_NUMPY
from lamina import nn
from lamina.pure_python import PurePythonBackend

np = pytest.importorskip("numpy", reason=NO_NUMPY)


def test_sigmoid_agrees_with_the_reference_to_a_few_ulps_and_saturates_silently():
    values = [[-800.0, -745.0, -40.0, -1e-3, -0.0, 0.0, 1e-3, 0.5, 40.0, 800.0], [-3.0, 3.0] + [1.0] * 8]
    numpy_backend = lamina.registry().create("backends", "numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from e^800
        mine = numpy_backend.unary(numpy_backend.from_rows(values), "sigmoid").tolist()
    reference = PurePythonBackend().unary(values, "sigmoid")
    for got, expected in zip(sum(mine, []), sum(reference, [])):
        assert got == expected or abs(got - expected) <= 4 * math.ulp(expected) or abs(got - expected) < 1e-307


def test_an_evaluating_sigmoid_gives_the_training_output_and_backward_still_works(numpy_backend):
    x = lamina.randn(5, 3)
    layer = nn.Sigmoid()
    trained = layer(x).tolist()
    assert layer.eval()(x).tolist() == trained
    grad = layer.backward(lamina.ones(5, 3))  # backward after an evaluating forward, as PyTorch allows
    assert grad.shape == (5, 3)
