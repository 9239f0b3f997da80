"""`lamina summary`: each layer's name, output width and parameter count, and the total."""

from __future__ import annotations

from lamina.component import config_of
from lamina.factories import zeros
from lamina.errors import LaminaError
from lamina.module import Sequential
from lamina.rng import generator

INPUT_WIDTH_ARGUMENTS = ("in_features", "num_features")


def input_width(model):
    """The width the first sized layer declares (Linear's in_features, BatchNorm1d's
    num_features), or None when no layer says."""
    for module in model.modules():
        config = config_of(module)
        for argument in INPUT_WIDTH_ARGUMENTS:
            if isinstance(config.get(argument), int):
                return config[argument]
    return None


# The widths come from a forward pass over two rows of this many zeros: bounded before allocating.
MAX_INPUT_WIDTH = 1 << 20


def summarize(model, width=None) -> list:
    """(index, layer name, output width or None, parameter count) per top-level layer; the widths
    come from one eval-mode forward pass over two rows of zeros."""
    layers = list(model) if isinstance(model, Sequential) else [model]
    width = width if width is not None else input_width(model)
    if width is not None and not 1 <= width <= MAX_INPUT_WIDTH:
        raise ValueError(f"an input width of {width} is outside 1..{MAX_INPUT_WIDTH}")
    widths = _output_widths(model, layers, width)
    return [
        (index, type(layer).__name__, widths[index], sum(p.numel() for p in layer.parameters()))
        for index, layer in enumerate(layers)
    ]


def _output_widths(model, layers, width):
    widths = [None] * len(layers)
    if width is None:
        return widths
    was_training, random_state = model.training, generator().getstate()
    model.eval()
    try:
        x = zeros(2, width)
        for index, layer in enumerate(layers):
            x = layer(x)
            widths[index] = x.shape[1]
    except LaminaError:
        pass  # the widths found so far are shown; the rest stay unknown
    finally:
        model.train(was_training)
        generator().setstate(random_state)
    return widths


def format_summary(rows) -> str:
    table = [("#", "layer", "output", "parameters")]
    table += [(str(i), name, "?" if w is None else str(w), f"{count:,}") for i, name, w, count in rows]
    widths = [max(len(row[c]) for row in table) for c in range(4)]
    lines = [
        "  ".join(
            [
                row[0].rjust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].rjust(widths[2]),
                row[3].rjust(widths[3]),
            ]
        )
        for row in table
    ]
    total = sum(count for *_, count in rows)
    return "\n".join(lines + [f"Total parameters: {total:,}"])


def format_dot(model, width=None, name="model") -> str:
    """The layers as a Graphviz DOT chain, input to output (`dot -Tpng` draws it)."""
    width = width if width is not None else input_width(model)
    if width is not None and not 1 <= width <= MAX_INPUT_WIDTH:
        raise ValueError(f"an input width of {width} is outside 1..{MAX_INPUT_WIDTH}")
    rows = summarize(model, width)
    lines = [f'digraph "{name}" {{', "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    lines.append(f'  input [shape=ellipse, label="input\\n{"?" if width is None else width} features"];')
    previous = "input"
    for index, layer, out, count in rows:
        label = f"{index}: {layer}\\n{'?' if out is None else out} out, {count:,} parameters"
        lines.append(f'  layer{index} [label="{label}"];')
        lines.append(f"  {previous} -> layer{index};")
        previous = f"layer{index}"
    lines.append("}")
    return "\n".join(lines)
