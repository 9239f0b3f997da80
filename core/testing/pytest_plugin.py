"""lamina's pytest plugin (entry point `pytest11`): the conformance kit as tests.

Mark a test that takes `lamina_check`, and each check of each selected component becomes a test
of its own, named `kind:Name:check`:

    @pytest.mark.lamina_conformance(distribution="lamina-prelu")
    def test_conformance(lamina_check):
        lamina_check()

The marker selects registered components by `distribution=`, `kinds=[...]` and `names=[...]`, or
takes classes directly with `components=[MyLayer, ...]` (registered or not).
"""

from __future__ import annotations

MARKER = "lamina_conformance"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{MARKER}(distribution=None, kinds=None, names=None, components=None): run lamina's "
        "conformance checks on the selected components, one test per check (the test takes "
        "`lamina_check` and calls it)",
    )


def pytest_generate_tests(metafunc):
    if "lamina_check" not in metafunc.fixturenames:
        return
    from lamina.testing import conformance

    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        cases = [_Misuse(TypeError(
            f"{metafunc.function.__name__} takes lamina_check but has no @pytest.mark.{MARKER}(...)"))]
    else:
        options = dict(marker.kwargs)
        components = options.pop("components", None)
        if components is not None:
            cases = [case for factory in components for case in conformance.cases(factory)]
        else:
            cases = conformance.registered_cases(**options)
        if not cases:
            cases = [_Misuse(ValueError(f"@pytest.mark.{MARKER}({marker.kwargs}) selects no component to check"))]
    metafunc.parametrize("lamina_check", cases, ids=[case.id for case in cases])


class _Misuse:
    """Stands in for the checks of a test that selects none: it fails that test (and only that
    one) with the reason, rather than stopping the whole collection."""

    id = "no-component-selected"

    def __init__(self, error):
        self.error = error

    def __call__(self):
        raise self.error
