"""IDX files, the format MNIST and Fashion-MNIST come in, and the folder lamina keeps them in.

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

from lamina.errors import FileFormatError, LaminaError

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
