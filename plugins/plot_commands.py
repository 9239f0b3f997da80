"""`lamina plot curves|boundary|weights`: training curves, decision regions and weight histograms
as PNG files (matplotlib, the `lamina[plot]` extra; no display needed).

A built-in command added through the commands hook, as a third party's would be; the drawing is
lamina.cli.plots.
"""

from __future__ import annotations

import csv
import os

import lamina
from lamina.cli import plots
from lamina.errors import ConfigError


def configure(parser):
    kinds = parser.add_subparsers(dest="plot", required=True, metavar="{curves,boundary,weights}")
    curves = kinds.add_parser("curves", help="training and validation curves of a CSV log or a sweep folder")
    curves.add_argument("source", help="a sweep's folder (its histories.csv), or a CSV log with an epoch column")
    curves.add_argument("--metric", nargs="+", help="the values to draw (default: all but lr)")
    boundary = kinds.add_parser("boundary", help="a model's decision regions on a 2-D dataset")
    boundary.add_argument("model", help="a model file written by lamina train --out or lamina.save")
    boundary.add_argument("--data", required=True, help="a registered 2-D dataset, e.g. circle")
    weights = kinds.add_parser("weights", help="a histogram of each of a model's parameters")
    weights.add_argument("model", help="a model file")
    for kind in (curves, boundary, weights):
        kind.add_argument("-o", "--out", required=True, help="the PNG file to write")
    return run


def run(args):
    plots.require_matplotlib()  # before any work, so a missing extra is the first thing said
    if args.plot == "curves":
        path = os.path.join(args.source, "histories.csv") if os.path.isdir(args.source) else args.source
        with open(path, newline="") as stream:
            rows = list(csv.DictReader(stream))
        plots.curves(rows, args.metric, args.out, source=path)
    elif args.plot == "boundary":
        inputs, targets = lamina.registry().create("datasets", args.data)
        plots.boundary(load_model(args.model), inputs, targets, args.out, title=f"{args.model} on {args.data}")
    else:
        plots.weights(load_model(args.model), args.out)
    print(f"Saved the plot to {args.out}")


def load_model(path):
    loaded = lamina.load(path)
    if isinstance(loaded, dict):  # a checkpoint
        loaded = loaded.get("model")
    if not isinstance(loaded, lamina.nn.Module):
        raise ConfigError(f'{path}: holds no model (a checkpoint without a "model" entry?)')
    return loaded


@lamina.hookimpl
def lamina_register_commands():
    return [lamina.Record("plot", configure, "draw training curves, decision regions or weight histograms (PNG)")]
