"""The default dtype: whether new tensors hold float64 (the default) or float32 values.

float32 halves the memory and roughly halves the time of the arithmetic on the numpy backend, at
the price of about 7 significant digits instead of 16. As `torch.set_default_dtype`, the choice
applies to tensors created from then on (`lamina.tensor` of numbers or lists, `zeros`, `randn`,
a layer's parameters); a tensor keeps its dtype (`.dtype`), and `.float()` / `.double()` convert
one. A numpy array of floats keeps its own dtype, as `torch.from_numpy` does.

The pure-Python backends hold Python floats, which are float64, and only that: asking for float32
while one of them is the current backend is an error that says so.
"""

from __future__ import annotations

import contextlib

from lamina.backend import get_backend

DTYPES = ("float32", "float64")
_default = "float64"


def set_default_dtype(dtype) -> None:
    """Create tensors of `dtype` ("float32" or "float64") from now on."""
    global _default
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"lamina.set_default_dtype({dtype!r}): the dtype must be 'float32' or 'float64'")
    if dtype != "float64":
        backend = get_backend()  # refuses, in its own words, a dtype it cannot hold
        backend.astype(backend.full(1, 1, 0.0), dtype)
    _default = dtype


def get_default_dtype() -> str:
    """The dtype new tensors get: "float64" unless set_default_dtype chose "float32"."""
    return _default


@contextlib.contextmanager
def creating(dtype):
    """Within the block, new tensors are `dtype` wherever the backend holds it (loading a file
    rebuilds its tensors in the dtype they were saved in); the pure-Python backends stay float64."""
    global _default
    kept, _default = _default, dtype
    try:
        yield
    finally:
        _default = kept
