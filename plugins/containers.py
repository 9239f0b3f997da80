"""Containers: Sequential, registered so that saved models and configs can name it."""

import lamina
from lamina.nn import Sequential


@lamina.hookimpl
def lamina_register_modules():
    return [lamina.Record("Sequential", Sequential, "Layers applied one after another.")]
