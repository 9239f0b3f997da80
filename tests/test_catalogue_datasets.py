"""The synthetic datasets: shapes, labels, geometry, determinism; and the spiral example's accuracy."""

import importlib.util
import math
from pathlib import Path

import pytest

import lamina

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def dataset(name):
    return lamina.registry().get("datasets", name)


def labels(targets):
    return [row[0] for row in targets.tolist()]


def test_spiral_shapes_and_classes():
    x, y = dataset("spiral")(n=50, shuffle=False)
    assert x.shape == (150, 2) and y.shape == (150, 1)
    assert labels(y) == [0.0] * 50 + [1.0] * 50 + [2.0] * 50
    shuffled_x, shuffled_y = dataset("spiral")(n=50)
    assert labels(shuffled_y) != labels(y) and sorted(labels(shuffled_y)) == labels(y)
    assert sorted(zip(shuffled_x.tolist(), labels(shuffled_y))) == sorted(zip(x.tolist(), labels(y)))
    assert {0.0, 1.0, 2.0} == set(labels(shuffled_y)[-30:])  # a held-out tail has every class
    x, y = dataset("spiral")(n=10, classes=5)
    assert sorted(set(labels(y))) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_spiral_without_noise_follows_the_arms():
    x, _ = dataset("spiral")(n=11, noise=0.0, shuffle=False)
    for index, (px, py) in enumerate(x.tolist()):
        arm, i = divmod(index, 11)
        radius, angle = i / 10, 4.0 * arm + 0.4 * i
        assert px == pytest.approx(radius * math.sin(angle), abs=1e-12)
        assert py == pytest.approx(radius * math.cos(angle), abs=1e-12)


def test_spiral_noise_moves_the_angle_not_the_radius():
    x, _ = dataset("spiral")(n=11, noise=0.2, shuffle=False)
    clean, _ = dataset("spiral")(n=11, noise=0.0, shuffle=False)
    radii = [math.hypot(*row) for row in x.tolist()]
    assert radii == pytest.approx([math.hypot(*row) for row in clean.tolist()], abs=1e-12)
    assert x.tolist() != clean.tolist()


def test_xor_labels_are_the_sign_exclusive_or():
    x, y = dataset("xor")(n=300)
    assert x.shape == (300, 2)
    for (px, py), label in zip(x.tolist(), labels(y)):
        assert label == (1.0 if px * py < 0 else 0.0)
    assert 100 < sum(labels(y)) < 200


def test_moons_without_noise_lie_on_the_two_arcs():
    x, y = dataset("moons")(n=101, noise=0.0)
    assert x.shape == (101, 2) and labels(y).count(0.0) == 50 and labels(y).count(1.0) == 51
    for (px, py), label in zip(x.tolist(), labels(y)):
        if label == 0.0:  # upper arc: the unit half circle
            assert math.hypot(px, py) == pytest.approx(1.0, abs=1e-12) and py >= -1e-12
        else:  # lower arc: centred on (1, 0.5)
            assert math.hypot(px - 1.0, py - 0.5) == pytest.approx(1.0, abs=1e-12) and py <= 0.5 + 1e-12
    assert labels(y) != sorted(labels(y))  # shuffled, as make_moons does by default


@pytest.mark.parametrize("name", ["spiral", "xor", "moons"])
def test_data_depends_only_on_its_own_seed(name):
    make = dataset(name)
    lamina.manual_seed(1)
    first = make(seed=5)
    lamina.manual_seed(2)
    again = make(seed=5)
    other = make(seed=6)
    assert first[0].tolist() == again[0].tolist() and first[1].tolist() == again[1].tolist()
    assert first[0].tolist() != other[0].tolist()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dataset("spiral")(n=0), r"spiral\(n=0\): n must be an integer >= 1"),
        (lambda: dataset("spiral")(classes=1), r"classes must be an integer >= 2"),
        (lambda: dataset("xor")(noise=-0.1), r"xor\(noise=-0.1\): noise must be a number >= 0"),
        (lambda: dataset("moons")(n=1), r"moons\(n=1\): n must be an integer >= 2"),
    ],
)
def test_bad_arguments_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def spiral_example():
    spec = importlib.util.spec_from_file_location("spiral_example", EXAMPLES / "spiral.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def test_spiral_example_reaches_95_percent_test_accuracy():
    _, accuracy, history = spiral_example().train()
    assert accuracy >= 0.95
    assert history["loss"][-1] < 0.2 * history["loss"][0]


def test_spiral_config_describes_the_same_run_as_the_example():
    config = pytest.importorskip("lamina.cli.run_config", reason="the TOML config loader is not installed")
    _, accuracy, history = spiral_example().train()
    run = config.build_run(config.read_config(EXAMPLES / "spiral.toml"), source="spiral.toml")
    run.fit()
    assert run.trainer.history["loss"] == history["loss"]
    assert run.test()["accuracy"] == accuracy >= 0.95


def test_circle_rejects_a_sample_count_below_one():
    with pytest.raises(ValueError, match=r"circle\(n=-5\): n must be an integer >= 1"):
        lamina.registry().create("datasets", "circle", n=-5)
