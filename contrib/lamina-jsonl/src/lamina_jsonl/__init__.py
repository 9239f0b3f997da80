"""JSONLinesLogger: each epoch's logs as one JSON object per line; `lamina jsonl` prints them."""

import json
import os

import lamina
from lamina.component import at_least, boolean, component, field, integer
from lamina_jsonl import command

__version__ = "0.4.0"


@component
class JSONLinesLogger(lamina.Callback):
    """Write {"epoch": e, **logs} as a line of `path` every `every` epochs (and the last)."""

    path: str = field(default="metrics.jsonl", converter=os.fspath)
    every: int = field(default=1, validator=[integer, at_least(1)])
    append: bool = field(default=False, validator=boolean)

    def __attrs_post_init__(self):
        self.epochs_written = 0
        self.file = None

    def on_fit_start(self, trainer):
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.file = open(self.path, "a" if self.append else "w", encoding="utf-8")

    def on_epoch_end(self, trainer, epoch, logs):
        last = epoch == trainer.max_epochs - 1 or trainer.should_stop
        if epoch % self.every == 0 or last:
            self.file.write(json.dumps({"epoch": epoch, **logs}) + "\n")
            self.file.flush()  # a line per finished epoch survives a crash
            self.epochs_written += 1

    def on_fit_end(self, trainer):
        self._close()

    def on_exception(self, trainer, error):
        self._close()

    def _close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def state_dict(self):
        return {"epochs_written": self.epochs_written}

    def load_state_dict(self, state):
        self.epochs_written = state["epochs_written"]


@lamina.hookimpl
def lamina_register_callbacks():
    return [JSONLinesLogger]


@lamina.hookimpl
def lamina_register_commands():
    return [lamina.Record("jsonl", command.configure, "print a JSON-lines training log as a table")]
