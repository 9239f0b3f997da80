"""The digits dataset: scikit-learn's bundled 8x8 images in PyTorch's shape, split exactly as the
PyTorch baseline (../shared/baselines/torch_digits.py) splits them; the MLP example learns them;
and without scikit-learn the error is one line naming the extra."""

import sys
from pathlib import Path

import pytest

import lamina
from lamina.cli.app import main
from lamina.cli.run_config import build_loaders, build_run, read_config
from lamina.errors import LaminaError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def sklearn_digits():
    """(pixels, labels) in the baseline's order, computed here straight from scikit-learn."""
    numpy = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    bunch = datasets.load_digits()
    order = numpy.random.default_rng(0).permutation(len(bunch.target))
    return bunch.data[order] / 16.0, bunch.target[order]


def digits(**arguments):
    return lamina.registry().create("datasets", "digits", **arguments)


def test_digits_are_images_in_pytorchs_shape_with_class_index_targets(sklearn_digits):
    numpy = pytest.importorskip("numpy")
    pixels, labels = sklearn_digits
    inputs, targets = digits()
    assert inputs.shape == (1797, 1, 8, 8) and targets.shape == (1797,)
    assert numpy.array_equal(numpy.asarray(inputs.tolist()), pixels.reshape(1797, 1, 8, 8))
    assert targets.tolist() == [float(label) for label in labels]
    assert sorted(set(targets.tolist())) == [float(c) for c in range(10)]
    flat, flat_targets = digits(flatten=True)
    assert flat.shape == (1797, 64) and flat.tolist() == pixels.tolist()
    assert flat_targets.tolist() == targets.tolist()


def test_test_size_360_holds_out_exactly_the_baselines_test_digits(sklearn_digits):
    pixels, labels = sklearn_digits
    train, validation, test = build_loaders({"dataset": {"name": "digits", "flatten": True}, "test_size": 360},
                                            "digits")
    assert validation is None
    test_inputs, test_targets = test.dataset.tensors
    train_inputs, train_targets = train.dataset.tensors
    # torch_digits.py: Xte = X[1437:], yte = y[1437:] after the same permutation
    assert test_inputs.tolist() == pixels[1437:].tolist()
    assert test_targets.tolist() == [float(label) for label in labels[1437:]]
    assert train_inputs.tolist() == pixels[:1437].tolist() and len(train_targets) == 1437


def test_another_seed_gives_another_order_of_the_same_digits(sklearn_digits):
    _, labels = sklearn_digits
    _, shuffled = digits(seed=1)
    assert shuffled.tolist() != [float(label) for label in labels]
    assert sorted(shuffled.tolist()) == sorted(float(label) for label in labels)


@pytest.mark.parametrize("arguments, message", [
    ({"flatten": "yes"}, "digits(flatten='yes'): flatten must be true or false"),
    ({"seed": -1}, "digits(seed=-1): seed must be an integer >= 0"),
])
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError) as raised:
        digits(**arguments)
    assert str(raised.value) == message


def test_the_mlp_example_learns_the_digits(sklearn_digits):
    """The baseline's network (64-128-64-10 ReLU, Adam 1e-3, batch 32, 40 epochs) on the baseline's
    split; PyTorch reaches 98.6% from its initial weights, lamina 99.2% from its own."""
    pytest.importorskip("numpy")
    run = build_run(read_config(EXAMPLES / "digits_mlp.toml"), backend="numpy", source="digits_mlp.toml")
    assert len(run.test_loader.dataset) == 360
    run.fit()
    assert run.test()["accuracy"] >= 0.97


def test_without_scikit_learn_the_error_is_one_line_naming_the_extra(monkeypatch, capsys):
    # Importing a module that sys.modules maps to None raises ImportError: scikit-learn looks uninstalled.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(LaminaError) as raised:
        digits()
    assert str(raised.value) == ('the digits dataset needs scikit-learn, which is not installed: '
                                 'pip install "lamina[datasets]"')
    assert main(["train", str(EXAMPLES / "digits_mlp.toml"), "--epochs", "1"]) == 1
    out, err = capsys.readouterr()
    assert err == ('lamina train: error: the digits dataset needs scikit-learn, which is not installed: '
                   'pip install "lamina[datasets]"\n')
