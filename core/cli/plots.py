"""Pictures of training, drawn with matplotlib's Agg backend so no display is ever needed.

`curves` draws training and validation curves from rows of epoch values (a sweep's
histories.csv, or any CSV log with an `epoch` column): one line per combination, the mean over
its seeds with a band from the lowest to the highest seed.
"""

from __future__ import annotations

import math
import os

from lamina.errors import ConfigError, LaminaError

PLOT_HINT = "pip install 'lamina[plot]'"
SKIPPED = {"run", "combination", "seed", "epoch", "lr"}


def require_matplotlib():
    """matplotlib's pyplot on the Agg backend, or one line naming the extra that brings it."""
    try:
        import matplotlib
    except ImportError:
        raise LaminaError(f"plotting needs matplotlib, which is not installed: {PLOT_HINT}") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as pyplot

    return pyplot


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def curves(rows: list, metrics, out: str, source: str = "the log"):
    """Save a figure of `metrics` per epoch (default: every logged value but lr), one panel each."""
    pyplot = require_matplotlib()
    if not rows or "epoch" not in rows[0]:
        raise ConfigError(f"{source}: expected rows with an 'epoch' column, such as a sweep's histories.csv")
    available = [key for key in rows[0] if key not in SKIPPED]
    for row in rows[1:]:
        available += [key for key in row if key not in SKIPPED and key not in available]
    if metrics:
        for metric in metrics:
            if metric not in available:
                raise ConfigError(f"{source}: no metric {metric!r}; it logs {', '.join(available)}")
    else:
        metrics = available
    # A train value and its val_ twin share a panel, so the gap between them is what one sees.
    panels = list(dict.fromkeys(m[4:] if m.startswith("val_") and m[4:] in metrics else m for m in metrics))
    figure, axes = pyplot.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    groups = {}
    for row in rows:
        groups.setdefault(row.get("combination") or "run", []).append(row)
    colours = pyplot.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, panel in zip(axes[0], panels):
        for index, (name, group) in enumerate(groups.items()):
            for metric, style in ((panel, "-"), (f"val_{panel}", "--")):
                if metric not in metrics:
                    continue
                by_epoch = {}
                for row in group:
                    value = _float(row.get(metric))
                    if not math.isnan(value):
                        by_epoch.setdefault(int(_float(row["epoch"])), []).append(value)
                if not by_epoch:
                    continue
                epochs = sorted(by_epoch)
                mean = [sum(by_epoch[e]) / len(by_epoch[e]) for e in epochs]
                colour = colours[index % len(colours)]
                label = name if len(groups) > 1 else ""
                label = f"{label} {metric}".strip() if metric != panel or len(groups) == 1 else label
                axis.plot(epochs, mean, style, color=colour, label=label)
                if any(len(by_epoch[e]) > 1 for e in epochs):
                    axis.fill_between(epochs, [min(by_epoch[e]) for e in epochs],
                                      [max(by_epoch[e]) for e in epochs], color=colour, alpha=0.2)
        axis.set_title(panel)
        axis.set_xlabel("epoch")
        axis.legend(fontsize="small")
    figure.tight_layout()
    save(figure, out, pyplot)


def save(figure, out, pyplot):
    folder = os.path.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(out, dpi=100)
    pyplot.close(figure)
