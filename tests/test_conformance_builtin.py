"""Every registered built-in component through the conformance kit: one test per check, chosen
from the registry, so a component added to lamina is checked without touching this file."""

import pytest


@pytest.mark.lamina_conformance(distribution="lamina")
def test_builtin_component(lamina_check):
    lamina_check()
