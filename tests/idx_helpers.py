"""Small MNIST-like IDX files for the data tests, written the way the real ones are."""

import gzip
import struct

import numpy

TYPE_BYTES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array):
    """The IDX encoding of an array: magic (0, 0, type, ndim), big-endian sizes, big-endian values."""
    array = numpy.asarray(array)
    kind = array.dtype.str[1:]
    header = bytes([0, 0, TYPE_BYTES[kind], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">" + kind).tobytes()


def small_dataset(train=6, test=4, size=28, seed=0):
    """{file name: array} for a tiny MNIST: random pixels, labels 0..9."""
    rng = numpy.random.default_rng(seed)
    return {
        FILES[0]: rng.integers(0, 256, (train, size, size), dtype=numpy.uint8),
        FILES[1]: rng.integers(0, 10, train, dtype=numpy.uint8),
        FILES[2]: rng.integers(0, 256, (test, size, size), dtype=numpy.uint8),
        FILES[3]: rng.integers(0, 10, test, dtype=numpy.uint8),
    }


def write_dataset(folder, arrays, gzipped=(True, True, True, True)):
    """Write each array as an IDX file in `folder`, gzipped (name.gz) where `gzipped` says so."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (name, array), zipped in zip(arrays.items(), gzipped):
        path = folder / (name + ".gz" if zipped else name)
        data = idx_bytes(array)
        path.write_bytes(gzip.compress(data, mtime=0) if zipped else data)
        paths.append(path)
    return paths
