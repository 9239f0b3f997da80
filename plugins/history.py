"""History: what happened in training, epoch by epoch; the callback every Trainer keeps."""

import lamina
from lamina.callbacks import Callback


class History(Callback):
    """What happened, epoch by epoch: `history["loss"]` is the list of epoch losses.

    Every Trainer keeps one (`trainer.history`, returned by `fit`); it records each epoch's logs
    before the other callbacks see them, so a checkpoint written at the end of an epoch includes it.
    """

    def __init__(self):
        self.epochs = []
        self.history = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        return f"History(epochs={len(self.epochs)}, keys={sorted(self.history)})"

    def state_dict(self):
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state):
        self.epochs = list(state["epochs"])
        self.history = {k: list(v) for k, v in state["history"].items()}


@lamina.hookimpl
def lamina_register_callbacks():
    return [History]
