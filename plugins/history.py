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
        """A saved History: its epoch numbers and, for each logged name, at most one number per epoch
        (a value first logged after a resume, val_loss say, has fewer). Anything else is refused in
        one line, before it is used: list("0.5") would silently make three entries of one."""
        epochs = state.get("epochs") if isinstance(state, dict) else None
        if not isinstance(epochs, list) or not all(type(e) is int and e >= 0 for e in epochs):
            raise ValueError(f"History's saved state 'epochs': expected a list of epoch numbers, "
                             f"found {_shown(epochs)}")
        history = state.get("history")
        if not isinstance(history, dict):
            raise ValueError(f"History's saved state 'history': expected a table of lists, found {_shown(history)}")
        for key, values in history.items():
            numbers = isinstance(values, list) and all(type(v) in (int, float) for v in values)
            if not isinstance(key, str) or not numbers or len(values) > len(epochs):
                raise ValueError(f"History's saved state 'history'[{key!r}]: expected a list of numbers, at most "
                                 f"one for each of the {len(epochs)} saved epochs, found {_shown(values)}")
        self.epochs = list(epochs)
        self.history = {k: list(v) for k, v in history.items()}


def _shown(value):
    return repr(value)[:60] if value is not None else "nothing"


@lamina.hookimpl
def lamina_register_callbacks():
    return [History]
