"""Which backend tensors live on: the one new tensors use (lamina.set_backend), finding a backend by
name, and checking that the tensors of one operation share a backend (as PyTorch checks devices)."""

from __future__ import annotations

from .component import registry
from .errors import BackendError, PluginError, UnknownComponentError
from .pure_python import PurePythonBackend

_REFERENCE = PurePythonBackend()
_backend = None  # set_backend's choice; until then, found on first use by get_backend


def get_backend():
    """The backend new tensors use: set_backend's choice, else the registered "python" backend
    (the reference kernels' fast twin, plugins/python_backend.py), else the reference itself."""
    global _backend
    if _backend is None:
        try:
            _backend = registry().create("backends", "python")
        except UnknownComponentError:  # its plugin is blocked: the reference serves from now on
            _backend = _REFERENCE
        except PluginError:  # asked for while plugins are still loading: the reference, this once
            return _REFERENCE
    return _backend


def set_backend(backend):
    """Make `backend` (a Backend, or a registered backend's name) the one tensors created from
    now on use. Existing tensors keep theirs: convert one with `.to(name)`, a model with
    `model.to(name)`."""
    global _backend
    _backend = resolve_backend(backend)
    return _backend


def resolve_backend(backend):
    """A Backend from itself or from a registered backend's name (the current one if it has it)."""
    if not isinstance(backend, str):
        return backend
    if backend == get_backend().name:
        return get_backend()
    return registry().create("backends", backend)


def mixed_backends(op, left, right):
    return BackendError(
        f"cannot {op} a {left.name} tensor and a {right.name} tensor: convert one with "
        f".to({left.name!r}) or .to({right.name!r}) (lamina.set_backend only applies to tensors "
        "created after it)"
    )


def same_backend(a, b) -> bool:
    """Two backend objects of one kind (a name compares them: each create() makes a new one)."""
    return a is b or a.name == b.name


def common_backend(tensors, op):
    """The backend every tensor shares, or an error naming the two that differ."""
    backend = tensors[0].backend
    for other in tensors[1:]:
        if not same_backend(other.backend, backend):
            raise mixed_backends(op, backend, other.backend)
    return backend
