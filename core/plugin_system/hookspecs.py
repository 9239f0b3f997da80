"""The hooks a lamina plugin may implement: one per kind of component, made from lamina.plugin_system.kinds.KINDS.

    @lamina.hookimpl
    def lamina_register_modules():
        return [Swish, lamina.Record("swish2", make_swish, "Swish with beta=2")]

Each returns an iterable of components: a `lamina.Record(name, factory, description)`, or simply
the class or function itself (named by its `__name__`, described by its docstring's first line).
Hooks take no arguments today; arguments added later are keyword arguments, which pluggy passes
only to the implementations that ask for them, so old plugins keep working.
"""

import pluggy

from lamina.plugin_system.kinds import KINDS

hookspec = pluggy.HookspecMarker("lamina")
hookimpl = pluggy.HookimplMarker("lamina")


def hook_name(kind: str) -> str:
    return f"lamina_register_{kind}"


class Hooks:
    """The hook specifications, one method per kind (pluggy reads them off this class)."""


def _spec(kind, doc):
    def register():
        pass

    register.__name__ = register.__qualname__ = hook_name(kind)
    register.__doc__ = doc
    return staticmethod(hookspec(register))


for _kind, _declared in KINDS.items():
    setattr(Hooks, hook_name(_kind), _spec(_kind, _declared.hook_doc))
