"""Speed settings: how many threads the numerical libraries behind the numpy backend use (BLAS,
OpenMP), and the default dtype (lamina.performance.dtypes).

numpy's BLAS starts one thread per core. On a busy machine the extra threads spin while the other
cores are taken, costing CPU time for no wall-clock gain, so `lamina train` runs on one thread
unless told otherwise (`--threads N`), and a script chooses with `lamina.set_num_threads(n)`, as
`torch.set_num_threads` does for PyTorch. threadpoolctl does the work; it comes with lamina[numpy].
"""

from __future__ import annotations

from lamina.errors import BackendError
from lamina.performance.dtypes import get_default_dtype, set_default_dtype  # noqa: F401  (lamina's API)

_limits = None  # threadpoolctl's limiter: kept so that the limit stays in force


def _threadpoolctl():
    try:
        import numpy  # noqa: F401  (threadpoolctl sees only the libraries already loaded)
        import threadpoolctl
    except ImportError:
        raise BackendError("lamina.set_num_threads needs numpy and threadpoolctl: pip install 'lamina[numpy]'") from None
    return threadpoolctl


def set_num_threads(n) -> None:
    """Use at most `n` threads in BLAS and OpenMP from now on."""
    global _limits
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"lamina.set_num_threads({n!r}): the number of threads must be an integer >= 1")
    _limits = _threadpoolctl().threadpool_limits(limits=n)


def get_num_threads() -> int:
    """The most threads any loaded BLAS or OpenMP library will use (1 if none is loaded)."""
    pools = _threadpoolctl().threadpool_info()
    return max((pool["num_threads"] for pool in pools), default=1)
