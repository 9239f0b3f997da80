"""Exercise 4: the weights' size after training with weight decay 0 and 0.01, over three seeds.

    python docs/exercises/weight_norms.py [--config examples/circle.toml]

L2 weight decay adds wd * w to every gradient, pulling each weight towards zero; the norm of all
weights together, ||w||, shows how much smaller the trained network's weights end up.
"""

from __future__ import annotations

import argparse
import math
import statistics

from lamina.cli.run_config import build_run, read_config


def weight_norm(model) -> float:
    return math.sqrt(sum(v * v for p in model.parameters() for row in p.tolist() for v in (row if isinstance(row, list) else [row])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/circle.toml")
    args = parser.parse_args(argv)
    print("| weight_decay | ||w|| (mean ± std over seeds 42, 43, 44) |")
    print("|---|---|")
    for decay in (0.0, 0.01):
        config = read_config(args.config)
        config["optimizer"]["weight_decay"] = decay
        norms = []
        for seed in (42, 43, 44):  # the seeds `lamina sweep --seeds 3` gives this config
            run = build_run(config, seed=seed, source=args.config)
            run.fit()
            norms.append(weight_norm(run.model))
        print(f"| {decay:g} | {statistics.fmean(norms):.2f} ± {statistics.stdev(norms):.2f} |")


if __name__ == "__main__":
    main()
