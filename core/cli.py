"""The `lamina` command line. Every user error ends in one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys

import lamina

from . import cli_plugins
from .errors import LaminaError


class EpochPrinter(lamina.Callback):
    """One line every `every` epochs (and the last), like the lesson's loop."""

    def __init__(self, every=10, stream=None):
        self.every = every
        self.stream = stream or sys.stdout

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0 or epoch == trainer.max_epochs - 1 or trainer.should_stop:
            values = " | ".join(
                f"{k} {v * 100:.1f}%" if "accuracy" in k else f"{k} {v:.6f}" for k, v in logs.items() if k != "lr"
            )
            print(f"Epoch {epoch:3d} | {values}", file=self.stream, flush=True)


def train_circle(epochs=100, seed=42):
    """The lesson's run: 2-16-16-8-1 ReLU MLP, Sigmoid, BCE, Adam lr 0.01, batch 16."""
    from lamina import nn, optim
    from lamina.data import DataLoader, TensorDataset

    lamina.manual_seed(seed)
    x, y = lamina.registry().create("datasets", "circle", n=500, seed=42)
    train = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=16, shuffle=True)
    test = DataLoader(TensorDataset(x[400:], y[400:]), batch_size=100)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(),
        nn.Linear(16, 16), nn.ReLU(),
        nn.Linear(16, 8), nn.ReLU(),
        nn.Linear(8, 1), nn.Sigmoid(),
    )
    trainer = lamina.Trainer(
        model, nn.BCELoss(), optim.Adam(model.parameters(), lr=0.01),
        max_epochs=epochs, metrics=["accuracy"], callbacks=[EpochPrinter()],
    )
    trainer.fit(train)
    return trainer, trainer.evaluate(test)


def command_train(args):
    _, results = train_circle(epochs=args.epochs, seed=args.seed)
    print(f"Test accuracy: {results['accuracy'] * 100:.1f}%")


def build_parser():
    parser = argparse.ArgumentParser(prog="lamina", description="Train and inspect lamina models.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the lesson's circle classifier")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--seed", type=int, default=42)
    train.set_defaults(run=command_train)
    cli_plugins.add_parser(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (LaminaError, ValueError, TypeError, KeyError, OSError) as error:
        print(f"lamina {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lamina {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
