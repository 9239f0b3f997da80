"""The default backend, registered by name so `lamina.set_backend("python")` and
`lamina train --backend python` switch back to it."""

from __future__ import annotations

import lamina
from lamina.pure_python import PurePythonBackend


@lamina.hookimpl
def lamina_register_backends():
    return [("python", PurePythonBackend, "lists of rows of Python floats (the default)")]
