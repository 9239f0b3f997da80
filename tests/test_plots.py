"""`lamina plot curves|boundary|weights` and `lamina summary --dot`: the images are checked
themselves (size, not blank, and the decision regions' colours where the circle's classes are)."""

import csv
import pathlib

import pytest

import lamina
from lamina.cli.app import main
from lamina.cli.run_config import build_run, default_config

matplotlib = pytest.importorskip("matplotlib", reason="plots are optional: pip install 'lamina[plot]'")
from matplotlib import colors, image  # noqa: E402

from lamina.cli import plots  # noqa: E402

CIRCLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "circle.toml"


@pytest.fixture(scope="module")
def circle_model(tmp_path_factory):
    run = build_run(default_config(), epochs=40)
    run.fit()
    path = tmp_path_factory.mktemp("model") / "circle.json"
    lamina.save(run.model, path)
    return str(path)


def pixels(path):
    picture = image.imread(path)[:, :, :3]
    return picture, {tuple(round(c, 2) for c in p) for p in __import__("numpy").unique(picture.reshape(-1, 3), axis=0).tolist()}


def not_blank(picture, least=0.02):
    """Enough of the image differs from white that something was drawn."""
    return (picture.sum(axis=2) < 2.9).mean() > least


def colour_around(picture, row, column, half=4):
    """The commonest colour in a small square: the region's, whatever points are drawn over it."""
    patch = picture[row - half:row + half + 1, column - half:column + half + 1].reshape(-1, 3).round(3)
    values, counts = __import__("numpy").unique(patch, axis=0, return_counts=True)
    return tuple(values[counts.argmax()])


def test_the_boundary_plot_colours_inside_the_circle_as_class_1_and_outside_as_class_0(circle_model, tmp_path, capsys):
    out = str(tmp_path / "boundary.png")
    assert main(["plot", "boundary", circle_model, "--data", "circle", "-o", out]) == 0
    picture = image.imread(out)[:, :, :3]
    height, width = picture.shape[:2]
    assert (height, width) == (600, 600) and not_blank(picture, 0.5)
    inputs, _ = lamina.registry().create("datasets", "circle")
    (x0, x1), (y0, y1) = plots._padded([p[0] for p in inputs.tolist()]), plots._padded([p[1] for p in inputs.tolist()])

    def pixel(x, y):  # the axes fill [0.1, 0.95] of the figure each way; rows count down
        return (round(height * (1 - (0.1 + 0.85 * (y - y0) / (y1 - y0)))),
                round(width * (0.1 + 0.85 * (x - x0) / (x1 - x0))))

    class_1, class_0 = (tuple(round(c, 3) for c in colors.to_rgb(plots.REGION_COLOURS[i])) for i in (1, 0))
    assert _close(colour_around(picture, *pixel(0.0, 0.0)), class_1)  # well inside x^2 + y^2 < 1.5
    assert _close(colour_around(picture, *pixel(1.9, -1.9)), class_0)  # a corner, far outside
    assert _close(colour_around(picture, *pixel(-1.9, 1.9)), class_0)


def _close(a, b):
    return all(abs(x - y) < 0.02 for x, y in zip(a, b))


def test_the_weights_plot_has_a_panel_per_parameter(circle_model, tmp_path):
    out = str(tmp_path / "weights.png")
    assert main(["plot", "weights", circle_model, "-o", out]) == 0
    picture, palette = pixels(out)
    assert picture.shape[:2] == (2 * 280, 4 * 360)  # 8 parameters: two rows of four panels
    assert not_blank(picture)
    bars = tuple(round(c, 2) for c in colors.to_rgb(plots.POINT_COLOURS[0]))
    assert bars in palette


def write_history(path):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["run", "combination", "seed", "epoch", "loss", "val_loss", "lr"])
        for combination, scale in (("a", 1.0), ("b", 2.0)):
            for seed in (1, 2):
                for epoch in range(10):
                    loss = scale / (epoch + 1) + seed * 0.01
                    writer.writerow([f"{combination} {seed}", combination, seed, epoch, loss, loss * 1.1, 0.01])


def test_curves_of_a_sweep_folder_or_a_csv_log(tmp_path, capsys):
    write_history(tmp_path / "histories.csv")
    out = str(tmp_path / "curves.png")
    assert main(["plot", "curves", str(tmp_path), "-o", out]) == 0
    picture, palette = pixels(out)
    assert picture.shape[:2] == (360, 450) and not_blank(picture)  # loss and val_loss share a panel
    for colour in ("#1f77b4", "#ff7f0e"):  # one line per combination, in matplotlib's first colours
        assert tuple(round(c, 2) for c in colors.to_rgb(colour)) in palette
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,accuracy\n0,0.7,0.5\n1,0.5,0.7\n2,0.3,0.9\n")
    assert main(["plot", "curves", str(log), "--metric", "loss", "accuracy", "-o", out]) == 0
    assert image.imread(out).shape[:2] == (360, 900)
    capsys.readouterr()
    assert main(["plot", "curves", str(log), "--metric", "los", "-o", out]) == 1
    assert capsys.readouterr().err.strip() == f"lamina plot: error: {log}: no metric 'los'; it logs loss, accuracy"


def test_summary_dot_is_a_graphviz_chain(circle_model, capsys):
    assert main(["summary", circle_model, "--dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith('digraph "model" {') and dot.rstrip().endswith("}")
    assert 'input [shape=ellipse, label="input\\n2 features"];' in dot
    assert 'layer0 [label="0: Linear\\n16 out, 48 parameters"];' in dot and "input -> layer0;" in dot
    assert "layer6 -> layer7;" in dot and dot.count("->") == 8
