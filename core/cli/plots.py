"""Pictures of training, drawn with matplotlib's Agg backend so no display is ever needed.

`curves` draws training and validation curves from rows of epoch values (a sweep's
histories.csv, or any CSV log with an `epoch` column): one line per combination, the mean over
its seeds with a band from the lowest to the highest seed. `boundary` draws a model's decision
regions over a 2-D dataset, and `weights` a histogram of each parameter.
"""

from __future__ import annotations

import math
import os
import textwrap

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
                # a long run name wraps rather than squeezing the axes out of the figure
                axis.plot(epochs, mean, style, color=colour, label=textwrap.fill(label, 36))
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


# The regions are pale versions of the points' colours, so a point on the wrong side stands out.
POINT_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
REGION_COLOURS = ["#aec7e8", "#ff9896", "#98df8a", "#c5b0d5", "#ffbb78", "#c49c94"]
GRID = 150  # cells a side: a smooth edge, and a forward pass over 22,500 rows


def classes_of(outputs) -> list:
    """Each row's class: above 0.5 for one output column (a probability), else the largest column."""
    rows = outputs.tolist()
    if len(rows[0]) == 1:
        return [int(row[0] > 0.5) for row in rows]
    return [max(range(len(row)), key=row.__getitem__) for row in rows]


def boundary(model, inputs, targets, out: str, title: str = ""):
    """The model's class over a grid spanning the 2-D inputs, with the points drawn over it."""
    import lamina

    pyplot = require_matplotlib()
    from matplotlib.colors import ListedColormap

    points = inputs.tolist()
    if not points or len(points[0]) != 2:
        raise ConfigError(f"a decision boundary needs 2-D inputs; this dataset's rows have {len(points[0])} values")
    labels = classes_of(targets) if targets.shape[1] > 1 else [int(round(row[0])) for row in targets.tolist()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    (x0, x1), (y0, y1) = _padded(xs), _padded(ys)
    grid_x = [x0 + (x1 - x0) * (i + 0.5) / GRID for i in range(GRID)]
    grid_y = [y0 + (y1 - y0) * (j + 0.5) / GRID for j in range(GRID)]
    model.eval()
    predicted = classes_of(model(lamina.tensor([[x, y] for y in grid_y for x in grid_x])))
    count = max(max(predicted), max(labels)) + 1
    if count > len(POINT_COLOURS):
        raise ConfigError(f"a decision boundary draws at most {len(POINT_COLOURS)} classes, this model has {count}")
    figure = pyplot.figure(figsize=(6, 6))
    axis = figure.add_axes([0.1, 0.1, 0.85, 0.85])
    axis.imshow([predicted[j * GRID:(j + 1) * GRID] for j in range(GRID)], origin="lower",
                extent=(x0, x1, y0, y1), cmap=ListedColormap(REGION_COLOURS[:count]),
                vmin=-0.5, vmax=count - 0.5, interpolation="nearest", aspect="auto")
    axis.scatter(xs, ys, c=[POINT_COLOURS[label] for label in labels], s=10, edgecolors="white", linewidths=0.3)
    axis.set_xlim(x0, x1)
    axis.set_ylim(y0, y1)
    axis.set_title(title)
    save(figure, out, pyplot)
    return (x0, x1), (y0, y1)


def _padded(values, margin=0.1):
    low, high = min(values), max(values)
    pad = (high - low) * margin or 1.0
    return low - pad, high + pad


def weights(model, out: str):
    """A histogram of each parameter's values (weights and biases), one panel per parameter."""
    pyplot = require_matplotlib()
    parameters = list(model.state_dict().items())
    if not parameters:
        raise ConfigError("the model has no parameters to draw")
    columns = min(4, len(parameters))
    count_rows = math.ceil(len(parameters) / columns)
    figure, axes = pyplot.subplots(count_rows, columns, figsize=(3.6 * columns, 2.8 * count_rows), squeeze=False)
    for axis, (name, tensor) in zip(axes.flat, parameters):
        values = [v for row in tensor.tolist() for v in (row if isinstance(row, list) else [row])]
        axis.hist(values, bins=30, color=POINT_COLOURS[0])
        axis.set_title(f"{name} ({len(values)})", fontsize="small")
    for axis in list(axes.flat)[len(parameters):]:
        axis.set_visible(False)
    figure.tight_layout()
    save(figure, out, pyplot)
