"""The `lamina` command line. Every user error ends in one line on stderr and a non-zero exit.

Each subcommand is one `add_<name>(commands)` function that declares its arguments and the
function that runs it; `SUBCOMMANDS` lists them. Plugins add theirs after these
(lamina.cli.plugin_commands).
"""

from __future__ import annotations

import argparse
import os
import sys

import lamina
from lamina.cli import plugin_list
from lamina.cli.csv_files import read_csv, write_csv
from lamina.cli.messages import USER_ERRORS, one_line
from lamina.cli.plugin_commands import PluginCommands
from lamina.cli.run_config import (
    build_loaders, build_model, build_run, check_integer, default_config, read_config, table,
)
from lamina.cli.summary import format_dot, format_summary, summarize
from lamina.errors import ConfigError
from lamina.saving.formats import check_writable


class EpochPrinter(lamina.Callback):
    """One line every `every` epochs (and the last), like the lesson's loop."""

    def __init__(self, every=10, stream=None):
        self.every = every
        self.stream = stream or sys.stdout

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0 or epoch == trainer.max_epochs - 1 or trainer.should_stop:
            values = " | ".join(
                f"{k} {v * 100:.1f}%" if "accuracy" in k else f"{k} {v:.6f}"
                for k, v in logs.items()
                if k != "lr"
            )
            print(f"Epoch {epoch:3d} | {values}", file=self.stream, flush=True)


def format_metric(name, value):
    return f"{value * 100:.1f}%" if "accuracy" in name else f"{value:.6f}"


def load_model(path):
    """The model in a model file, or the "model" of a checkpoint."""
    loaded = lamina.load(path)
    if isinstance(loaded, dict):
        loaded = loaded.get("model")
    if not isinstance(loaded, lamina.nn.Module):
        raise ConfigError(f'{path}: holds no model (a checkpoint without a "model" entry?)')
    return loaded


# --- lamina train ---------------------------------------------------------------------------


def add_train(commands):
    parser = commands.add_parser(
        "train", help="train from a config file (default: the lesson's circle classifier)"
    )
    parser.add_argument("config", nargs="?", help="a TOML run config, e.g. examples/circle.toml")
    parser.add_argument("--epochs", type=int, help="override the config's trainer max_epochs")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--backend", help="train on this registered backend, e.g. numpy (default: python)")
    parser.add_argument("--out", help="save the trained model here (e.g. model.json)")
    parser.add_argument("--checkpoint", help="keep the training state here after every epoch and on Ctrl-C")
    parser.add_argument("--resume", help="continue the run from this checkpoint")
    parser.add_argument("--threads", type=int, help="threads for the numpy backend's BLAS (default 1: the fastest "
                                                    "on these machines; see lamina.performance)")
    parser.set_defaults(run=command_train)


def command_train(args):
    if args.config is None:
        config, source = default_config(), "circle.toml (built in)"
    else:
        config, source = read_config(args.config), args.config
    for output in (args.out, args.checkpoint):  # find out now, not after training, that it cannot be saved
        if output:
            check_writable(output)
    run = build_run(config, epochs=args.epochs, seed=args.seed, backend=args.backend, source=source)
    if args.threads is not None or lamina.get_backend().name == "numpy":
        lamina.set_num_threads(1 if args.threads is None else args.threads)
    # A live bar where someone is watching; a line every few epochs where output goes to a log.
    on_terminal = sys.stderr.isatty()
    run.trainer.callbacks.append(lamina.callbacks.ProgressBar() if on_terminal else EpochPrinter())
    if args.checkpoint:
        run.trainer.callbacks.append(lamina.callbacks.ModelCheckpoint(args.checkpoint))
    run.trainer.fit(run.train_loader, run.validation_loader, resume_from=args.resume)
    if run.trainer.interrupted:
        kept = f"the state is saved in {args.checkpoint}; continue with --resume {args.checkpoint}"
        print(
            f"lamina train: {one_line(run.trainer.stop_reason)}; "
            + (kept if args.checkpoint else "nothing was saved (use --checkpoint PATH to keep the state)"),
            file=sys.stderr,
        )
        return 130
    for name, value in run.test().items():
        print(f"Test {name}: {format_metric(name, value)}")
    if args.out:
        lamina.save(run.model, args.out)
        print(f"Saved the model to {args.out}")


# --- lamina evaluate ------------------------------------------------------------------------


def add_evaluate(commands):
    parser = commands.add_parser(
        "evaluate", help="a saved model's metrics on a run's held-out rows, a CSV file or a registered dataset"
    )
    parser.add_argument("model", help="a model file written by lamina train --out or lamina.save")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--config", help="the run config it was trained with: scores its held-out test rows ([data] test_size)"
    )
    source.add_argument(
        "--data", help="a CSV file (inputs, then target columns), or a dataset name: every row of it, "
        "built with the dataset's default arguments, training rows included"
    )
    parser.add_argument("--seed", type=int, help="with --config: the seed the run used, if not the config's")
    parser.add_argument(
        "--targets", type=int, default=1, help="how many trailing CSV columns are targets (1)"
    )
    parser.add_argument(
        "--metrics", nargs="+", default=["accuracy"], help="registered metrics (accuracy)"
    )
    parser.add_argument("--loss", help="also report this registered loss, e.g. BCELoss")
    parser.set_defaults(run=command_evaluate)


def command_evaluate(args):
    model = load_model(args.model)
    # A model file records no run config, so which rows are scored is the user's choice, said in the output.
    if args.config is not None:
        inputs, targets, rows = held_out_rows(args.config, args.seed)
    else:
        inputs, targets = evaluation_data(args.data, args.targets)
        rows = (f"all {len(inputs)} rows of {args.data}" if is_csv(args.data) else
                f"all {len(inputs)} rows of the dataset {args.data!r} with its default arguments, training "
                "rows included (a run's held-out rows: --config RUN.toml)")
    components = lamina.registry()
    metrics = {name: components.get("metrics", name) for name in args.metrics}
    model.eval()
    prediction = model(inputs)
    print(f"Samples: {len(inputs)}")
    print(f"Rows: {one_line(rows)}")
    if args.loss:
        print(f"{args.loss}: {components.create('losses', args.loss)(prediction, targets):.6f}")
    for name, metric in metrics.items():
        print(f"{name}: {format_metric(name, metric(prediction, targets))}")


def held_out_rows(path, seed=None):
    """(inputs, targets, description) of the test rows `lamina train path` held out: the same dataset,
    built after the same seed, split as its [data] table says."""
    config = read_config(path)
    seed = config.get("seed", 0) if seed is None else seed
    check_integer(seed, f"{path}: seed")
    lamina.manual_seed(seed)  # as build_run does: a dataset drawn from the generator comes out the same
    _, _, test = build_loaders(table(config, "data", path), f"{path} [data]")
    if test is None:
        raise ConfigError(f"{path} [data]: no test_size, so the run held out no rows to score")
    inputs, targets = test.dataset.tensors
    return inputs, targets, f"the {len(inputs)} held-out test rows of {path} ([data] test_size, the last rows)"


def is_csv(data):
    return data.lower().endswith(".csv") or os.path.exists(data)


def evaluation_data(data, target_columns):
    """(inputs, targets) from a CSV file's columns, or every row of a registered dataset."""
    if is_csv(data):
        table = read_csv(data)
        width = table.shape[1]
        if not 1 <= target_columns < width:
            raise ConfigError(
                f"{data}: --targets {target_columns} leaves no input columns out of {width}"
            )
        rows = table.tolist()
        inputs = lamina.tensor([row[: width - target_columns] for row in rows])
        targets = lamina.tensor([row[width - target_columns :] for row in rows])
        return inputs, targets
    return lamina.registry().create("datasets", data)


# --- lamina predict -------------------------------------------------------------------------


def add_predict(commands):
    parser = commands.add_parser(
        "predict", help="a saved model's outputs for the rows of a CSV file, as CSV"
    )
    parser.add_argument("model", help="a model file")
    parser.add_argument("input", help="a CSV file of inputs, one row per sample")
    parser.add_argument(
        "--header", action=argparse.BooleanOptionalAction, default=None,
        help="the first line is column names (--header) or data (--no-header); by default it is "
        "skipped only if none of its cells is a number",
    )
    parser.add_argument("--out", help="write the CSV here instead of to standard output")
    parser.set_defaults(run=command_predict)


def command_predict(args):
    model = load_model(args.model)
    model.eval()
    outputs = model(read_csv(args.input, header=args.header))
    header = ["output"] if outputs.shape[1] == 1 else [f"output_{i}" for i in range(outputs.shape[1])]
    if args.out:
        with open(args.out, "w", newline="") as stream:
            write_csv(outputs, stream, header)
    else:
        write_csv(outputs, sys.stdout, header)


# --- lamina summary -------------------------------------------------------------------------


def add_summary(commands):
    parser = commands.add_parser("summary", help="each layer's output width and parameter count")
    parser.add_argument("source", help="a model file, or a TOML run config")
    parser.add_argument(
        "--input-width", type=int, help="the input's feature count, if no layer declares it"
    )
    parser.add_argument("--dot", action="store_true", help="print the model as Graphviz DOT text (render with dot)")
    parser.set_defaults(run=command_summary)


def command_summary(args):
    if args.source.lower().endswith(".toml"):
        config = read_config(args.source)
        if not isinstance(config.get("model"), dict):
            raise ConfigError(f"{args.source}: the [model] section is missing")
        model = build_model(config["model"], f"{args.source} [model]")
    else:
        model = load_model(args.source)
    print(format_dot(model, args.input_width) if args.dot else format_summary(summarize(model, args.input_width)))


SUBCOMMANDS = [add_train, add_evaluate, add_predict, add_summary, plugin_list.add_parser]


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """A usage mistake is a user error like any other: one line, exit status 2."""
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser():
    parser = Parser(prog="lamina", description="Train, inspect and use lamina models.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(commands)
    parser.plugin_commands = PluginCommands()
    parser.plugin_commands.add_to(commands)
    if parser.plugin_commands.load_error:
        parser.epilog = f"Plugin commands are unavailable: {one_line(parser.plugin_commands.load_error)}"
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    # `lamina` has no options of its own besides --help, so a first word that is not an option
    # names the command: one that cannot run says why before its (perhaps half-declared)
    # arguments are parsed.
    command = argv[0] if argv and not argv[0].startswith("-") else None
    reason = parser.plugin_commands.why_it_cannot_run(command) if command else ""
    if reason:
        print(f"lamina {command}: error: {one_line(reason)}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
    except BrokenPipeError:  # the reader stopped early (`| head`): what it wanted, it has
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except USER_ERRORS as error:
        print(f"lamina {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lamina {args.command}: interrupted", file=sys.stderr)
        return 130
    return status or 0

