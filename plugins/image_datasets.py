"""Real images: scikit-learn's bundled 8x8 digits, and MNIST and Fashion-MNIST from their IDX files.

Each is a function returning (inputs, targets) tensors, as the synthetic datasets are: inputs in
PyTorch's image shape (N, 1, H, W), pixels scaled to [0, 1]; targets an (N,) tensor of class
indices as floats (0.0 ... 9.0), what CrossEntropyLoss and the accuracy metric read. The held-out
rows come last, so a run config's `[data] test_size` takes the standard test set.

They need numpy and, for digits, scikit-learn: `pip install "lamina[datasets]"`.

An IDX file is a header and then the values, big-endian:

    bytes 0-1   zero
    byte  2     the type of the values (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
                0x0C int32, 0x0D float32, 0x0E float64)
    byte  3     the number of dimensions, d
    4 * d       each dimension's size, a 32-bit unsigned integer
    the rest    the values, row-major: exactly the product of the sizes of them

The header is read strictly, so a truncated, corrupted or foreign file is one line naming the file
and what was expected, never a numpy error from deep inside. Files may be gzipped (`name.gz`), as
they are published.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import lamina
from lamina.errors import FileFormatError, LaminaError, ShapeError

# The four files of MNIST and of Fashion-MNIST, in the order a dataset's rows come in: the
# official training set, then the official test set.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# The IDX type byte: (numpy's name for the big-endian type, what it is called).
TYPES = {
    0x08: (">u1", "unsigned byte"),
    0x09: (">i1", "signed byte"),
    0x0B: (">i2", "16-bit integer"),
    0x0C: (">i4", "32-bit integer"),
    0x0D: (">f4", "32-bit float"),
    0x0E: (">f8", "64-bit float"),
}

EXTRA_HINT = 'pip install "lamina[datasets]"'


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


# --- IDX files and the folder they are in --------------------------------------------------------


def require_numpy(needed_by):
    """numpy, or one line naming the extra that brings it."""
    try:
        import numpy
    except ImportError:
        raise LaminaError(f"{needed_by} needs numpy, which is not installed: {EXTRA_HINT}") from None
    return numpy


def data_folder(name, root=None) -> Path:
    """Where a dataset's files are: `root` if given, else $LAMINA_DATA/<name>, else
    ~/.cache/lamina/<name> (one place, so that every run and `lamina data download` agree)."""
    if root is not None:
        return Path(root).expanduser()
    base = os.environ.get("LAMINA_DATA") or Path.home() / ".cache" / "lamina"
    return Path(base).expanduser() / name


def find_idx(folder, name, dataset, root_given) -> Path:
    """The file `name` in `folder`, gzipped or not; a missing one says how to get it."""
    for candidate in (Path(folder) / name, Path(folder) / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    where = f" --dir {folder}" if root_given else ""
    raise LaminaError(
        f"{dataset}: no {name} (or {name}.gz) in {folder}; download the files with "
        f"`lamina data download {dataset}{where}`"
    )


def read_bytes(path) -> bytes:
    """The file's contents, unzipped if its name ends in .gz."""
    path = Path(path)
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError, zlib.error) as error:  # not gzip, truncated, or corrupted inside
        raise FileFormatError(f"{path}: not a readable gzip file ({error})") from None


def read_idx(path):
    """The array an IDX file holds, with the shape and type its header declares."""
    numpy = require_numpy("reading IDX files")
    data = read_bytes(path)
    if len(data) < 4:
        raise FileFormatError(f"{path}: {len(data)} bytes, too short for an IDX header (expected at least 4)")
    zeros, type_byte, ndim = data[0:2], data[2], data[3]
    if zeros != b"\0\0" or type_byte not in TYPES:
        raise FileFormatError(
            f"{path}: not an IDX file: it starts with {data[:4].hex()}, expected 0000 then a type byte "
            f"({', '.join(f'{t:02x}' for t in TYPES)}) and the number of dimensions"
        )
    if ndim == 0:
        raise FileFormatError(f"{path}: the IDX header declares 0 dimensions, expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FileFormatError(f"{path}: truncated: {len(data)} bytes, but its header alone needs {header}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype, type_name = TYPES[type_byte]
    expected = header + math.prod(shape) * numpy.dtype(dtype).itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise FileFormatError(
            f"{path}: {problem}: {len(data)} bytes, expected {expected} for {' x '.join(map(str, shape))} "
            f"{type_name}s"
        )
    # Native byte order, so the arrays built from it are the fast kind.
    return numpy.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype[1:])


@lamina.hookimpl
def lamina_register_datasets():
    return [digits, mnist, fashion_mnist]
