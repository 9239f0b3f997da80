"""Exercise 3: save a trained model, load it back, and show the predictions are identical.

    python docs/exercises/save_load.py [--epochs 20] [--out runs/circle.json]

The file holds the architecture (registry names and configs) and the weights as exact floats, so
the loaded model computes bit for bit what the trained one does.
"""

from __future__ import annotations

import argparse

import lamina
from lamina.cli.run_config import build_run, default_config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="runs/circle.json")
    args = parser.parse_args(argv)
    run = build_run(default_config(), epochs=args.epochs)  # the lesson's circle run
    run.fit()
    lamina.save(run.model, args.out)
    loaded = lamina.load(args.out)
    points = lamina.tensor([[0.0, 0.0], [1.0, 0.5], [1.2, 0.0], [-1.5, 1.5], [2.0, -2.0]])
    run.model.eval()
    loaded.eval()
    trained, reloaded = run.model(points).tolist(), loaded(points).tolist()
    print("| x | y | trained model | loaded from file | identical |")
    print("|---|---|---|---|---|")
    for (x, y), (a,), (b,) in zip(points.tolist(), trained, reloaded):
        print(f"| {x} | {y} | {a!r} | {b!r} | {'yes' if a == b else 'NO'} |")
    if trained != reloaded:
        raise SystemExit("the loaded model predicts differently")


if __name__ == "__main__":
    main()
