"""`lamina sweep`: every combination of some run-config values, for several seeds, in parallel.

A built-in command added through the commands hook, as a third party's would be; the machinery
is lamina.cli.sweep.
"""

from __future__ import annotations

import os

import lamina
from lamina.cli.run_config import read_config
from lamina.cli.sweep import parse_assignment, sweep
from lamina.cli.sweep_runners import runner_for
from lamina.errors import ConfigError


def configure(parser):
    parser.add_argument("config", help="a TOML run config, e.g. examples/circle.toml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=V1,V2",
        help="values to try for one config key (TOML values; 'none' removes the key); repeat for more keys",
    )
    parser.add_argument("--seeds", type=int, default=1, help="seeds per combination, counting up from the config's (1)")
    parser.add_argument("--workers", type=int, help="local worker processes, or LocalCluster workers (default: the cores)")
    parser.add_argument("--dask", metavar="local|ADDRESS",
                        help="run on Dask: 'local' starts a LocalCluster, or a scheduler's address like tcp://host:8786")
    parser.add_argument("--out", required=True, help="the folder for results.csv, histories.csv and curves.png")
    return run


def run(args):
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    config = read_config(args.config)
    sets = [parse_assignment(text) for text in args.set]
    return sweep(config, args.config, sets, args.seeds, args.out, lambda: runner_for(args.dask, workers))


@lamina.hookimpl
def lamina_register_commands():
    return [lamina.Record("sweep", configure, "train every combination of config values over seeds, in parallel")]
