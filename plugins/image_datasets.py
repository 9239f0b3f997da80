"""Real images: scikit-learn's bundled 8x8 digits, and MNIST and Fashion-MNIST from their IDX files.

Each is a function returning (inputs, targets) tensors, as the synthetic datasets are: inputs in
PyTorch's image shape (N, 1, H, W), pixels scaled to [0, 1]; targets an (N,) tensor of class
indices as floats (0.0 ... 9.0), what CrossEntropyLoss and the accuracy metric read. The held-out
rows come last, so a run config's `[data] test_size` takes the standard test set.

They need numpy and, for digits, scikit-learn: `pip install "lamina[datasets]"`.
"""

from __future__ import annotations

import lamina
from lamina.errors import LaminaError, ShapeError
from lamina.plugins.idx_files import EXTRA_HINT, IDX_FILES, data_folder, find_idx, read_idx, require_numpy


def digits(flatten=False, seed=0):
    """scikit-learn's 1,797 handwritten 8x8 digits (bundled with it: no download).

    Inputs (1797, 1, 8, 8) = pixels / 16, targets (1797,). The rows come in the order of
    numpy's `default_rng(seed).permutation(1797)`, so `test_size = 360` holds out the same 360
    digits as the PyTorch baseline (which splits 1,437 / 360 after that permutation).
    flatten=True gives (1797, 64) rows for a model without nn.Flatten."""
    if not isinstance(flatten, bool):
        raise ValueError(f"digits(flatten={flatten!r}): flatten must be true or false")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"digits(seed={seed!r}): seed must be an integer >= 0")
    try:
        import numpy
        from sklearn.datasets import load_digits
    except ImportError:
        raise LaminaError(f"the digits dataset needs scikit-learn, which is not installed: {EXTRA_HINT}") from None
    bunch = load_digits()
    order = numpy.random.default_rng(seed).permutation(len(bunch.target))
    pixels = bunch.data[order] / 16.0  # scikit-learn's pixels are 0..16
    inputs = pixels if flatten else pixels.reshape(-1, 1, 8, 8)
    return lamina.tensor(inputs), lamina.tensor(bunch.target[order].astype(numpy.float64))


def mnist(root=None):
    """MNIST: 70,000 handwritten 28x28 digits, the official test set last (lamina data download mnist).

    The 60,000 training images, then the 10,000 of the official test set (`test_size = 10000`
    holds those out). Inputs
    (70000, 1, 28, 28) = bytes / 255, targets (70000,). Read from `root`, default
    $LAMINA_DATA/mnist or ~/.cache/lamina/mnist, where `lamina data download mnist` puts the files.
    About 440 MB of float64: train it on the numpy backend."""
    return idx_dataset("mnist", root)


def fashion_mnist(root=None):
    """Fashion-MNIST: 70,000 28x28 images of clothing in 10 classes, laid out as MNIST.

    The same files, split and shapes as MNIST's. Read from `root`, default $LAMINA_DATA/fashion_mnist or
    ~/.cache/lamina/fashion_mnist, where `lamina data download fashion_mnist` puts the files."""
    return idx_dataset("fashion_mnist", root)


def idx_dataset(name, root=None):
    """(inputs, targets) from the four IDX files of an MNIST-like dataset in one folder: the
    training rows, then the test rows."""
    numpy = require_numpy(f"the {name} dataset")
    folder = data_folder(name, root)
    paths = [find_idx(folder, file, name, root_given=root is not None) for file in IDX_FILES]
    train_images, train_labels, test_images, test_labels = (read_idx(path) for path in paths)
    for images, labels, image_path, label_path in (
        (train_images, train_labels, paths[0], paths[1]),
        (test_images, test_labels, paths[2], paths[3]),
    ):
        check_images_and_labels(numpy, images, labels, image_path, label_path)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ShapeError(
            f"{paths[2]}: images of {test_images.shape[1:]} pixels, but {paths[0]} has "
            f"{train_images.shape[1:]}; expected the same size in both"
        )
    images = numpy.concatenate([train_images, test_images])
    rows, height, width = images.shape
    inputs = images.reshape(rows, 1, height, width) / 255.0
    targets = numpy.concatenate([train_labels, test_labels]).astype(numpy.float64)
    return lamina.tensor(inputs), lamina.tensor(targets)


def check_images_and_labels(numpy, images, labels, image_path, label_path):
    if images.ndim != 3 or images.dtype != numpy.uint8:
        raise ShapeError(
            f"{image_path}: holds {images.dtype} values of shape {images.shape}; expected unsigned bytes of "
            "shape (images, rows, columns)"
        )
    if labels.ndim != 1 or labels.dtype != numpy.uint8:
        raise ShapeError(
            f"{label_path}: holds {labels.dtype} values of shape {labels.shape}; expected one unsigned byte "
            "per image"
        )
    if len(images) != len(labels):
        raise ShapeError(f"{label_path}: {len(labels)} labels for the {len(images)} images of {image_path}")


@lamina.hookimpl
def lamina_register_datasets():
    return [digits, mnist, fashion_mnist]
