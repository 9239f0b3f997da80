"""The test kit: the conformance checks any registered component can run, gradient checks, and the
pytest plugin that offers both to lamina's tests and to a plugin author's."""
